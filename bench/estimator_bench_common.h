// Shared by the estimator load driver and soak driver: a model folder with ten models (linear and
// 100-tree gradient boosting), a server child process started by re-executing the driver (so its
// memory is its own, not the driver's), Kepler-shaped request bytes, and /proc RSS readings.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "estimator/binary_codec.h"
#include "estimator/client.h"
#include "estimator/estimator.h"
#include "estimator/model_store.h"
#include "estimator/server.h"
#include "estimator/telemetry.h"
#include "models/wattson_format.h"
#include "testing/random_models.h"

namespace wattson::bench {

// The features every bench model reads (Kepler's BPFIRQ group).
inline const std::vector<std::string>& BenchFeatures() {
  static const std::vector<std::string> kFeatures = {
      "bpf_block_irq", "bpf_cpu_time_ms", "bpf_net_rx_irq", "bpf_net_tx_irq", "bpf_page_cache_hit"};
  return kFeatures;
}

// Model i of ten: even i linear, odd i 100-tree gradient boosting; trainer "Bench<i>Trainer".
// Model 0 is the linear model and model 1 the gradient-boosting model the load runs use.
inline std::string BenchTrainer(int i) { return "Bench" + std::to_string(i) + "Trainer"; }

inline std::unique_ptr<PipelineModel> BenchModel(int i) {
  auto m = testing::RandomModel(i % 2 == 0 ? "linear" : "tree_ensemble_sklearn", BenchFeatures(),
                                static_cast<std::uint32_t>(100 + i));
  ModelInfo info = m->info();
  info.id = "bench/" + BenchTrainer(i);
  info.name = BenchTrainer(i) + "_0";
  info.trainer = BenchTrainer(i);
  info.output_type = OutputType::kAbsPower;
  info.energy_source = "rapl-sysfs";
  info.errors.mae = 1.0 + i;
  m->SetInfo(info);
  return m;
}

inline bool WriteBenchModels(const std::string& dir) {
  std::filesystem::create_directories(dir);
  for (int i = 0; i < 10; ++i) {
    if (!SaveWattsonModel(*BenchModel(i), dir + "/model" + std::to_string(i) + ".json").ok()) {
      return false;
    }
  }
  return true;
}

// The bench requests' metrics: BenchFeatures() plus the other three Kepler counters, in Kepler
// v0.7.11's order.
inline const std::vector<std::string>& BenchMetrics() {
  static const std::vector<std::string> kMetrics = {
      "bpf_cpu_time_ms", "bpf_page_cache_hit", "bpf_net_tx_irq",   "bpf_net_rx_irq",
      "bpf_block_irq",   "cpu_cycles",         "cpu_instructions", "cache_miss"};
  return kMetrics;
}

// Deterministic values for `rows` rows of BenchMetrics(), row-major.
inline std::vector<double> BenchValues(std::size_t rows, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 150.0);
  std::vector<double> v;
  v.reserve(rows * 8);
  for (std::size_t r = 0; r < rows; ++r) {
    for (int c = 0; c < 8; ++c) {
      v.push_back(c < 5 ? std::round(u(rng) * 1000) / 1000 : std::round(u(rng) * 1e6));
    }
  }
  return v;
}

// Kepler v0.7.11 request bytes for BenchValues(rows, seed), in Go's encoding/json form.
inline std::string BenchRequest(int model, std::size_t rows, std::uint32_t seed,
                                const std::string& output_type = "AbsPower") {
  const std::vector<double> values = BenchValues(rows, seed);
  std::string out = "{\"metrics\":[";
  for (std::size_t i = 0; i < BenchMetrics().size(); ++i) {
    out += (i == 0 ? "\"" : ",\"") + BenchMetrics()[i] + "\"";
  }
  out += "],\"values\":[";
  char buf[64];
  for (std::size_t r = 0; r < rows; ++r) {
    if (r) out += ',';
    out += '[';
    for (int c = 0; c < 8; ++c) {
      if (c) out += ',';
      // Go's encoding/json writes a float64 as the shortest decimal that reads back exactly, in
      // fixed notation for these magnitudes (strconv 'f', precision -1): "37.255", "98765432".
      const auto res =
          std::to_chars(buf, buf + sizeof(buf), values[r * 8 + static_cast<std::size_t>(c)],
                        std::chars_format::fixed);
      out.append(buf, res.ptr);
    }
    out += ']';
  }
  out += "],\"output_type\":\"" + output_type +
         "\",\"source\":\"intel_rapl\",\"system_features\":[\"cpu_architecture\"],"
         "\"system_values\":[\"Sky Lake\"],\"trainer_name\":\"" +
         BenchTrainer(model) + "\",\"filter\":\"\"}";
  return out;
}

// The same request as a framed-protocol binary payload (version 2).
inline std::string BenchBinaryRequest(int model, std::size_t rows, std::uint32_t seed) {
  estimator::BinaryRequest b;
  b.metrics = BenchMetrics();
  b.rows = rows;
  b.values = BenchValues(rows, seed);
  b.source = "intel_rapl";
  b.system_features = {"cpu_architecture"};
  b.system_values = {"Sky Lake"};
  b.trainer_name = BenchTrainer(model);
  return *estimator::EncodeBinaryRequest(b);
}

// Resident and peak resident memory of a process, bytes (/proc/<pid>/status).
struct Rss {
  std::size_t current = 0;
  std::size_t peak = 0;
};
inline Rss ReadRss(pid_t pid) {
  Rss r;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  std::size_t kb = 0;
  std::string unit;
  while (in >> key) {
    if (key == "VmRSS:" && in >> kb >> unit) r.current = kb * 1024;
    if (key == "VmHWM:" && in >> kb >> unit) r.peak = kb * 1024;
  }
  return r;
}

// The child side: serves dir's models on socket until SIGTERM. Returns the exit code.
inline int ServeMain(const std::string& model_dir, const std::string& socket,
                     std::size_t max_request_bytes, int read_timeout_ms) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  estimator::ConfigureMallocForServer();  // as `wattson estimator` does
  estimator::ModelSourceConfig sources;
  sources.model_dirs = {model_dir};
  sources.trainer_match = estimator::TrainerMatch::kStrict;
  auto store =
      estimator::ModelStore::Create(sources, MakeStderrLogger("server", spdlog::level::warn));
  if (!store.ok()) {
    std::fprintf(stderr, "server: %s\n", store.status().ToString().c_str());
    return 1;
  }
  estimator::Estimator est(store->get(), {});
  estimator::Telemetry telemetry;
  estimator::ServerOptions options;
  options.socket_path = socket;
  options.max_request_bytes = max_request_bytes;
  options.read_timeout = std::chrono::milliseconds(read_timeout_ms);
  options.write_timeout = std::chrono::milliseconds(read_timeout_ms);
  // The load driver's --busy-poll-us reaches the server child through the environment.
  if (const char* v = std::getenv("WATTSON_ESTIMATOR_BUSY_POLL_US"); v != nullptr && *v != '\0') {
    options.busy_poll = std::chrono::microseconds(std::strtol(v, nullptr, 10));
  }
  estimator::EstimatorServer server(options, &est, &telemetry,
                                    MakeStderrLogger("server", spdlog::level::warn));
  Status s = server.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "server: %s\n", s.ToString().c_str());
    return 1;
  }
  int sig = 0;
  sigwait(&set, &sig);
  server.Stop();
  return 0;
}

// Re-executes this program as "<self> --serve <dir> <socket> <max_bytes> <timeout_ms>" and waits
// until the socket answers. Returns the child's pid, or -1.
inline pid_t StartServerChild(const std::string& dir, const std::string& socket,
                              std::size_t max_request_bytes, int read_timeout_ms) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    const std::string max = std::to_string(max_request_bytes);
    const std::string timeout = std::to_string(read_timeout_ms);
    ::execl("/proc/self/exe", "estimator-bench-server", "--serve", dir.c_str(), socket.c_str(),
            max.c_str(), timeout.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  for (int i = 0; i < 3000; ++i) {
    auto fd = estimator::ConnectUnix(socket);
    if (fd.ok()) {
      ::close(*fd);
      return pid;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  return -1;
}

// SIGTERM, then the exit status (waitpid form).
inline int StopServerChild(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

inline std::string MakeTempDir(const char* name) {
  std::string tmpl = (std::filesystem::temp_directory_path() / name).string() + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

}  // namespace wattson::bench
