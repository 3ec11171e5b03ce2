// Soak driver for `wattson estimator` (issue 4): for N minutes, 16 clients send Kepler and framed
// (JSON and binary) requests to a server child process, with malformed ones mixed in (garbage,
// truncated, NaN, ragged rows, unknown fields, wrong types, oversized, silent, vanishing mid-reply,
// flipped bytes). Every valid reply is checked against the same model evaluated here; the server's
// RSS is sampled. Exits 1 on a crash, a wrong answer or RSS growth beyond 10 %.
//
// Usage: wattson_estimator_soak [--minutes M (default 10)] [--clients N (16)]
//                               [--pause-ms P (pause between a client's requests, default 2)]
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "estimator/binary_codec.h"
#include "estimator_bench_common.h"
#include "nlohmann/json.hpp"

namespace wattson::bench {
namespace {

using Clock = std::chrono::steady_clock;
using estimator::IoStatus;

struct Counters {
  std::atomic<std::uint64_t> valid{0};
  std::atomic<std::uint64_t> valid_ok{0};
  std::atomic<std::uint64_t> wrong{0};             // a valid request answered wrongly
  std::atomic<std::uint64_t> transport_errors{0};  // a valid request with no reply
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> malformed_error_reply{0};
  std::atomic<std::uint64_t> malformed_closed{0};
  std::atomic<std::uint64_t> malformed_accepted{0};  // flipped bytes that still parse
  std::atomic<std::uint64_t> framed{0};
  std::atomic<std::uint64_t> binary{0};  // framed requests with binary payloads
};

// The same request as a framed-protocol binary payload.
std::string FormatBinary(const std::vector<std::vector<double>>& rows, int model) {
  estimator::BinaryRequest b;
  b.metrics = {"bpf_block_irq",  "bpf_cpu_time_ms",    "bpf_net_rx_irq",
               "bpf_net_tx_irq", "bpf_page_cache_hit", "cpu_instructions"};
  b.rows = rows.size();
  for (const auto& row : rows) b.values.insert(b.values.end(), row.begin(), row.end());
  b.source = "intel_rapl";
  b.system_features = {"cpu_architecture"};
  b.system_values = {"Sky Lake"};
  b.trainer_name = BenchTrainer(model);
  return *estimator::EncodeBinaryRequest(b);
}

std::string Format(const std::vector<std::vector<double>>& rows, int model) {
  std::string out =
      "{\"metrics\":[\"bpf_block_irq\",\"bpf_cpu_time_ms\",\"bpf_net_rx_irq\",\"bpf_net_tx_irq\","
      "\"bpf_page_cache_hit\",\"cpu_instructions\"],\"values\":[";
  char buf[40];
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (r) out += ',';
    out += '[';
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      if (c) out += ',';
      std::snprintf(buf, sizeof(buf), "%.17g", rows[r][c]);
      out += buf;
    }
    out += ']';
  }
  out +=
      "],\"output_type\":\"AbsPower\",\"source\":\"intel_rapl\",\"system_features\":"
      "[\"cpu_architecture\"],\"system_values\":[\"Sky Lake\"],\"trainer_name\":\"" +
      BenchTrainer(model) + "\",\"filter\":\"\"}";
  return out;
}

// Sends raw bytes on a fresh Kepler-mode connection; optionally half-closes; reads the reply.
// Returns kOk with the reply, or the failure.
IoStatus RawExchange(const std::string& socket, const std::string& bytes, bool half_close,
                     bool read_reply, std::string* reply) {
  auto fd = estimator::ConnectUnix(socket);
  if (!fd.ok()) return IoStatus::kError;
  estimator::UniqueFd sock(*fd);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  auto w = estimator::WriteAll(sock.get(), bytes, deadline);
  if (w.status != IoStatus::kOk && w.status != IoStatus::kClosed) return w.status;
  if (half_close) ::shutdown(sock.get(), SHUT_WR);
  if (!read_reply) return IoStatus::kOk;
  char buf[16384];
  for (;;) {
    auto r = estimator::ReadSome(sock.get(), buf, sizeof(buf), deadline);
    if (r.status == IoStatus::kOk) {
      reply->append(buf, r.bytes);
      continue;
    }
    if (r.status == IoStatus::kEof || r.status == IoStatus::kClosed) return IoStatus::kOk;
    return r.status;
  }
}

class Soak {
 public:
  Soak(std::string socket, std::vector<std::unique_ptr<PipelineModel>> models, int pause_ms)
      : socket_(std::move(socket)), models_(std::move(models)), pause_ms_(pause_ms) {}

  void Client(int id, Clock::time_point end) {
    std::mt19937 rng(static_cast<std::uint32_t>(1000 + id));
    std::optional<estimator::FramedClient> framed;
    while (Clock::now() < end) {
      const int action = static_cast<int>(rng() % 100);
      if (action < 80) {
        Valid(rng, &framed);
      } else {
        Malformed(rng, &framed);
      }
      if (pause_ms_ > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(rng() % (2 * pause_ms_ + 1)));
    }
  }

  Counters& counters() { return counters_; }

 private:
  std::vector<std::vector<double>> Rows(std::mt19937& rng, std::size_t n) {
    std::uniform_real_distribution<double> u(0.0, 150.0);
    std::vector<std::vector<double>> rows(n, std::vector<double>(6));
    for (auto& row : rows) {
      for (double& v : row) v = u(rng);
    }
    return rows;
  }

  // Every component's watts, bit for bit, as the model predicts them here.
  bool CheckBinary(const std::string& reply, int model,
                   const std::vector<std::vector<double>>& rows) {
    auto got = estimator::ParseBinaryReply(reply);
    if (!got.ok() || !got->msg.empty() || got->rows != rows.size()) return false;
    FeatureMatrix x(BenchFeatures(), rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      for (std::size_t c = 0; c < 5; ++c) x.at(r, c) = rows[r][c];
    }
    auto expect = models_[static_cast<std::size_t>(model)]->Predict(x);
    if (!expect.ok() || expect->components.size() != got->components.size()) return false;
    for (const auto& cp : expect->components) {
      const auto* found = [&]() -> const estimator::BinaryReply::Component* {
        for (const auto& c : got->components) {
          if (c.name == ComponentName(cp.component)) return &c;
        }
        return nullptr;
      }();
      if (found == nullptr) return false;
      for (std::size_t r = 0; r < rows.size(); ++r) {
        if (found->watts[r] != cp.watts[r].value()) return false;
      }
    }
    return true;
  }

  bool Check(const std::string& reply, int model, const std::vector<std::vector<double>>& rows) {
    auto j = nlohmann::json::parse(reply, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("msg", "?") != "") return false;
    FeatureMatrix x(BenchFeatures(), rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      for (std::size_t c = 0; c < 5; ++c) x.at(r, c) = rows[r][c];
    }
    auto expect = models_[static_cast<std::size_t>(model)]->Predict(x);
    if (!expect.ok()) return false;
    for (const auto& cp : expect->components) {
      const auto& got = j["powers"][std::string(ComponentName(cp.component))];
      if (!got.is_array() || got.size() != rows.size()) return false;
      for (std::size_t r = 0; r < rows.size(); ++r) {
        if (!got[r].is_number() || got[r].get<double>() != cp.watts[r].value()) return false;
      }
    }
    return true;
  }

  void Valid(std::mt19937& rng, std::optional<estimator::FramedClient>* framed) {
    const int model = static_cast<int>(rng() % 10);
    const auto rows = Rows(rng, 1 + rng() % 200);
    const std::string request = Format(rows, model);
    ++counters_.valid;
    Result<std::string> reply = Status::Internal("unset");
    const int how = static_cast<int>(rng() % 3);  // Kepler, framed JSON, framed binary
    const bool binary = how == 2;
    if (how != 0) {
      if (!*framed) {
        auto c = estimator::FramedClient::Connect(socket_, std::chrono::seconds(10));
        if (c.ok()) framed->emplace(std::move(c).value());
      }
      if (*framed) {
        ++counters_.framed;
        if (binary) ++counters_.binary;
        reply = (*framed)->Call(binary ? FormatBinary(rows, model) : request);
        if (!reply.ok()) framed->reset();
      }
    } else {
      reply = estimator::KeplerRoundTrip(socket_, request, std::chrono::seconds(10));
    }
    if (!reply.ok()) {
      ++counters_.transport_errors;
      Note("transport: " + reply.status().ToString());
      return;
    }
    if (binary ? CheckBinary(*reply, model, rows) : Check(*reply, model, rows)) {
      ++counters_.valid_ok;
    } else {
      ++counters_.wrong;
      Note("wrong answer: " + reply->substr(0, 300));
    }
  }

  void Malformed(std::mt19937& rng, std::optional<estimator::FramedClient>* framed) {
    ++counters_.malformed;
    const int kind = static_cast<int>(rng() % 11);
    const int model = static_cast<int>(rng() % 10);
    std::string good = Format(Rows(rng, 1 + rng() % 20), model);
    std::string bytes;
    bool half_close = true;
    bool read_reply = true;
    switch (kind) {
      case 0: {  // garbage
        bytes.resize(1 + rng() % 2000);
        for (char& c : bytes) c = static_cast<char>(rng());
        if (rng() % 2 == 0) bytes[0] = '{';
        break;
      }
      case 1:  // truncated
        bytes = good.substr(0, rng() % good.size());
        break;
      case 2: {  // NaN
        auto pos = good.find("[[");
        bytes = good.substr(0, pos + 2) + "NaN," + good.substr(pos + 2);
        break;
      }
      case 3: {  // ragged
        auto pos = good.rfind("]]");
        bytes = good.substr(0, pos) + ",1" + good.substr(pos);
        break;
      }
      case 4:  // unknown field
        bytes = good.substr(0, good.size() - 1) + ",\"extra\":1}";
        break;
      case 5: {  // oversized (the soak server's limit is 1 MiB)
        bytes = Format(Rows(rng, 12000), model);
        break;
      }
      case 6:  // silent: connect and close
        bytes.clear();
        read_reply = false;
        break;
      case 7:  // vanish mid-reply
        bytes = Format(Rows(rng, 3000), model);
        half_close = false;
        read_reply = false;
        break;
      case 8: {  // flipped bytes
        bytes = good;
        for (int i = 0, n = 1 + static_cast<int>(rng() % 3); i < n; ++i) {
          bytes[rng() % bytes.size()] = static_cast<char>(rng());
        }
        break;
      }
      case 9: {  // wrong types
        auto pos = good.find("[[");
        bytes = good.substr(0, pos + 2) + "\"1\"," + good.substr(pos + 2);
        break;
      }
      default: {  // a malformed frame on the framed connection
        if (!*framed) {
          auto c = estimator::FramedClient::Connect(socket_, std::chrono::seconds(10));
          if (!c.ok()) {
            ++counters_.malformed_closed;
            return;
          }
          framed->emplace(std::move(c).value());
        }
        // Half a JSON request, or a binary request with bytes flipped or cut.
        bool refused = false;
        Result<std::string> reply = Status::Internal("unset");
        if (rng() % 2 == 0) {
          reply = (*framed)->Call(good.substr(0, good.size() / 2));
          refused = reply.ok() && reply->find("\"msg\": \"\"") == std::string::npos;
        } else {
          std::string b = FormatBinary(Rows(rng, 1 + rng() % 20), model);
          if (rng() % 2 == 0) {
            b.resize(rng() % b.size());
            if (b.empty()) b.push_back('\x01');
          } else {
            for (int i = 0, n = 1 + static_cast<int>(rng() % 3); i < n; ++i) {
              b[1 + rng() % (b.size() - 1)] = static_cast<char>(rng());
            }
          }
          reply = (*framed)->Call(b);
          if (reply.ok()) {
            auto decoded = estimator::ParseBinaryReply(*reply);
            if (!decoded.ok()) {
              ++counters_.wrong;
              Note("undecodable binary reply");
            } else if (decoded->msg.empty()) {
              ++counters_.malformed_accepted;  // flipped bytes inside the values: still valid
              return;
            }
            refused = decoded.ok() && !decoded->msg.empty();
          }
        }
        if (refused) {
          ++counters_.malformed_error_reply;
        } else {
          ++counters_.malformed_closed;
          framed->reset();
        }
        return;
      }
    }
    std::string reply;
    const IoStatus s = RawExchange(socket_, bytes, half_close, read_reply, &reply);
    if (!read_reply) return;
    if (s != IoStatus::kOk || reply.empty()) {
      ++counters_.malformed_closed;
      return;
    }
    auto j = nlohmann::json::parse(reply, nullptr, false);
    if (j.is_discarded() || !j.contains("msg")) {
      ++counters_.wrong;
      Note("unparseable error reply: " + reply.substr(0, 200));
      return;
    }
    if (j["msg"] == "") {
      ++counters_.malformed_accepted;  // a flipped byte inside a number or name can stay valid
    } else {
      ++counters_.malformed_error_reply;
    }
  }

  void Note(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (notes_++ < 10) std::fprintf(stderr, "soak: %s\n", what.c_str());
  }

  const std::string socket_;
  const std::vector<std::unique_ptr<PipelineModel>> models_;
  const int pause_ms_;
  Counters counters_;
  std::mutex mu_;
  int notes_ = 0;
};

int Main(int argc, char** argv) {
  if (argc >= 6 && std::strcmp(argv[1], "--serve") == 0) {
    return ServeMain(argv[2], argv[3], std::stoul(argv[4]), std::stoi(argv[5]));
  }
  double minutes = 10;
  int clients = 16;
  int pause_ms = 2;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--minutes") == 0 && i + 1 < argc) {
      minutes = std::stod(argv[++i]);
    } else if (std::strcmp(argv[i], "--clients") == 0 && i + 1 < argc) {
      clients = std::stoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--pause-ms") == 0 && i + 1 < argc) {
      pause_ms = std::stoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--minutes M] [--clients N] [--pause-ms P]\n", argv[0]);
      return 2;
    }
  }
  const std::string dir = MakeTempDir("wattson-estimator-soak");
  if (dir.empty() || !WriteBenchModels(dir + "/models")) return 1;
  std::vector<std::unique_ptr<PipelineModel>> models;
  for (int i = 0; i < 10; ++i) models.push_back(BenchModel(i));
  const std::string socket = dir + "/estimator.sock";
  const pid_t server = StartServerChild(dir + "/models", socket, std::size_t{1} << 20, 2000);
  if (server < 0) {
    std::fprintf(stderr, "the server did not start\n");
    return 1;
  }
  Soak soak(socket, std::move(models), pause_ms);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(minutes * 60));
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) threads.emplace_back([&, t] { soak.Client(t, end); });

  // RSS: the baseline is taken after a warm-up (a tenth of the run, at most 60 s).
  const auto warm = std::min<Clock::duration>(std::chrono::seconds(60), (end - start) / 10);
  Rss baseline;
  Rss last;
  std::size_t max_rss = 0;
  bool crashed = false;
  int tick = 0;
  while (Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    int status = 0;
    if (::waitpid(server, &status, WNOHANG) == server) {
      crashed = true;
      std::fprintf(stderr, "soak: the server exited (status %d)\n", status);
      break;
    }
    last = ReadRss(server);
    max_rss = std::max(max_rss, last.current);
    if (baseline.current == 0 && Clock::now() - start >= warm) {
      baseline = last;
      std::fprintf(stderr, "soak: baseline RSS %.2f MiB\n",
                   static_cast<double>(baseline.current) / (1 << 20));
    }
    if (++tick % 60 == 0) {
      std::fprintf(stderr, "soak: %d s, RSS %.2f MiB, %llu valid, %llu malformed\n", tick,
                   static_cast<double>(last.current) / (1 << 20),
                   static_cast<unsigned long long>(soak.counters().valid.load()),
                   static_cast<unsigned long long>(soak.counters().malformed.load()));
    }
  }
  for (auto& t : threads) t.join();
  const int status = crashed ? -1 : StopServerChild(server);
  std::filesystem::remove_all(dir);
  auto& c = soak.counters();
  const double growth =
      baseline.current == 0
          ? 0
          : (static_cast<double>(last.current) / static_cast<double>(baseline.current) - 1) * 100;
  std::printf("soak: %.1f min, %d clients\n", minutes, clients);
  std::printf(
      "  valid requests: %llu (%llu framed, %llu of them binary), answered correctly: %llu, "
      "wrong: %llu, "
      "no reply: %llu\n",
      static_cast<unsigned long long>(c.valid.load()),
      static_cast<unsigned long long>(c.framed.load()),
      static_cast<unsigned long long>(c.binary.load()),
      static_cast<unsigned long long>(c.valid_ok.load()),
      static_cast<unsigned long long>(c.wrong.load()),
      static_cast<unsigned long long>(c.transport_errors.load()));
  std::printf(
      "  malformed requests: %llu (error reply: %llu, connection closed: %llu, flipped "
      "bytes still valid: %llu)\n",
      static_cast<unsigned long long>(c.malformed.load()),
      static_cast<unsigned long long>(c.malformed_error_reply.load()),
      static_cast<unsigned long long>(c.malformed_closed.load()),
      static_cast<unsigned long long>(c.malformed_accepted.load()));
  std::printf(
      "  server RSS: %.2f MiB after warm-up, %.2f MiB at the end (%+.1f %%), max %.2f MiB, "
      "peak (VmHWM) %.2f MiB\n",
      static_cast<double>(baseline.current) / (1 << 20),
      static_cast<double>(last.current) / (1 << 20), growth,
      static_cast<double>(max_rss) / (1 << 20), static_cast<double>(last.peak) / (1 << 20));
  std::printf("  server: %s, exit status %d\n", crashed ? "CRASHED" : "alive to the end", status);
  const bool ok = !crashed && status == 0 && c.wrong.load() == 0 &&
                  c.transport_errors.load() == 0 && growth <= 10.0;
  std::printf("  result: %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace wattson::bench

int main(int argc, char** argv) { return wattson::bench::Main(argc, argv); }
