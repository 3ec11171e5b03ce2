// Test-only helpers for the training-run, model-DB and report tests: a small synthetic data set
// shaped like kepler-model-db's nx12 table (v0.6 feature names, rapl and acpi targets, a constant
// core component), and a temporary directory. Header-only; included by *_test.cc files only.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/csv.h"
#include "train/dataset.h"

namespace wattson::train_test {

// `rows` rows, one every 3 s: bpf_cpu_time_us and two kubelet features drive package, dram and
// platform power (with a deterministic wobble); core and uncore are 0 W, as on nx12.
inline Dataset SyntheticDataset(std::size_t rows = 90) {
  Dataset d;
  d.name = "synthetic";
  d.origin = "memory";
  d.sha256 = "0123456789abcdef";
  d.feature_names = {"bpf_cpu_time_us", "kubelet_cpu_usage", "kubelet_memory_bytes"};
  d.features.assign(3, {});
  for (std::size_t r = 0; r < rows; ++r) {
    const double t = static_cast<double>(r);
    const double load = 0.5 + 0.45 * std::sin(t / 7.0) * std::cos(t / 23.0);
    const double bpf = 200 + 29000 * load;
    const double kcpu = 190 * load + 5 * std::sin(t);
    const double kmem = 1e9 + 2e10 * load * load;
    d.timestamps.push_back(1695115663 + 3 * t);
    d.features[0].push_back(bpf);
    d.features[1].push_back(std::max(0.0, kcpu));
    d.features[2].push_back(kmem);
    const double wobble = 2 * std::sin(t * 1.7);
    d.targets[Component::kPackage].push_back(31 + 150 * std::log1p(3 * load) / std::log(4.0) +
                                             wobble);
    d.targets[Component::kCore].push_back(0);
    d.targets[Component::kUncore].push_back(0);
    d.targets[Component::kDram].push_back(38 + 30 * load + 0.5 * wobble);
    d.targets[Component::kPlatform].push_back(std::round(171 + 220 * load + wobble));
  }
  return d;
}

// The data set as a kepler-model-db style CSV (FormatDouble numbers, so it loads back exactly).
inline std::string DatasetCsv(const Dataset& d) {
  std::string out = "timestamp";
  for (const auto& f : d.feature_names) out += "," + f;
  for (const auto& [c, y] : d.targets) out += "," + std::string(ComponentName(c)) + "_power";
  out += "\n";
  for (std::size_t r = 0; r < d.rows(); ++r) {
    out += FormatDouble(d.timestamps[r]);
    for (const auto& col : d.features) out += "," + FormatDouble(col[r]);
    for (const auto& [c, y] : d.targets) out += "," + FormatDouble(y[r]);
    out += "\n";
  }
  return out;
}

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "wattson_train_test.XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string Sub(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace wattson::train_test
