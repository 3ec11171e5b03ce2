// Test support for the estimator tests: Kepler v0.7.11 request bytes exactly as Go's
// encoding/json writes the sidecar client's PowerRequest struct, and small file helpers.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "estimator/config.h"

namespace wattson::estimator::testing {

// A float64 as Go's encoding/json writes it: shortest 'f' form for 1e-6 <= |v| < 1e21, else the
// shortest 'e' form with "e-07" cleaned to "e-7".
inline std::string GoFloat(double v) {
  char buf[64];
  const double a = std::fabs(v);
  const bool exp = a != 0 && (a < 1e-6 || a >= 1e21);
  auto [ptr, ec] = exp ? std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific)
                       : std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  std::string s(buf, ptr);
  if (exp) {
    const std::size_t n = s.size();
    if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
  }
  return s;
}

inline std::string GoStringList(const std::vector<std::string>& v) {
  if (v.empty()) return "null";  // a nil slice
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += '"' + v[i] + '"';
  }
  return out + "]";
}

// encoding/json of Kepler v0.7.11's PowerRequest (field order metrics, values, output_type,
// source, system_features, system_values, trainer_name, filter; no spaces).
inline std::string KeplerRequest(
    const std::vector<std::string>& metrics, const std::vector<std::vector<double>>& values,
    const std::string& output_type, const std::string& source,
    const std::vector<std::string>& system_features = {"cpu_architecture"},
    const std::vector<std::string>& system_values = {"Sky Lake"},
    const std::string& trainer = "SGDRegressorTrainer", const std::string& filter = "") {
  std::string out = "{\"metrics\":" + GoStringList(metrics) + ",\"values\":";
  if (values.empty()) {
    out += "null";
  } else {
    out += '[';
    for (std::size_t r = 0; r < values.size(); ++r) {
      if (r) out += ',';
      out += '[';
      for (std::size_t c = 0; c < values[r].size(); ++c) {
        if (c) out += ',';
        out += GoFloat(values[r][c]);
      }
      out += ']';
    }
    out += ']';
  }
  out += ",\"output_type\":\"" + output_type + "\",\"source\":\"" + source +
         "\",\"system_features\":" + GoStringList(system_features) +
         ",\"system_values\":" + GoStringList(system_values) + ",\"trainer_name\":\"" + trainer +
         "\",\"filter\":\"" + filter + "\"}";
  return out;
}

// Kepler v0.7.11's feature list with every counter enabled (§1.2 order of a typical map walk).
inline std::vector<std::string> KeplerMetrics() {
  return {"bpf_cpu_time_ms", "bpf_page_cache_hit", "bpf_net_tx_irq",   "bpf_net_rx_irq",
          "bpf_block_irq",   "cpu_cycles",         "cpu_instructions", "cache_miss"};
}

// A fresh directory under $TMPDIR, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wattson-est-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An environment lookup over a fixed map, for configuration tests.
inline EnvLookup MapEnv(KeyValues env) {
  return [env = std::move(env)](const std::string& key) -> std::optional<std::string> {
    auto it = env.find(key);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

inline std::string TestDataDir() {
  const char* env = std::getenv("WATTSON_TESTDATA_DIR");
  return env != nullptr ? env : WATTSON_TESTDATA_DIR;
}

}  // namespace wattson::estimator::testing
