// The measurement behind the wattson trainers: contiguous 10-fold blocked cross-validation of
// every trainer on kepler-model-db nx12 (scaler fitted on the training folds only), printed as a
// table of MAE (W). Slow (about two minutes), so disabled by default; run with
//   wattson_train_test --gtest_also_run_disabled_tests --gtest_filter='*BlockedCv*'
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/csv.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "models/power_model.h"
#include "train/trainer.h"

namespace wattson {
namespace {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<double>> cols;
  const std::vector<double>* Col(const std::string& name) const {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return &cols[i];
    }
    return nullptr;
  }
};

Result<Table> LoadNx12() {
  const std::string path =
      std::string(WATTSON_TESTDATA_DIR) + "/kepler-model-db/nx12_v0.6/nx12_merged_abs.csv";
  WATTSON_ASSIGN_OR_RETURN(std::string text, ReadLocalFile(path));
  WATTSON_ASSIGN_OR_RETURN(CsvTable csv, ParseCsv(text, path));
  Table t;
  t.header = csv.header;
  t.cols.assign(csv.header.size(), {});
  for (const auto& row : csv.rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      auto v = ParseFiniteDouble(row[c]);
      t.cols[c].push_back(v.ok() ? *v : 0.0);
    }
  }
  return t;
}

// v0.6 feature groups (sorted, as Kepler's trainers used them).
std::vector<std::string> Group(const std::string& g) {
  if (g == "CounterOnly") return {"cache_miss", "cpu_cycles", "cpu_instructions"};
  if (g == "BPFOnly") return {"bpf_cpu_time_us"};
  return {"bpf_cpu_time_us",
          "cache_miss",
          "cgroupfs_cpu_usage_us",
          "cgroupfs_memory_usage_bytes",
          "cgroupfs_system_cpu_usage_us",
          "cgroupfs_user_cpu_usage_us",
          "cpu_cycles",
          "cpu_instructions",
          "kubelet_cpu_usage",
          "kubelet_memory_bytes"};
}

// Pooled out-of-fold MAE, or NaN with `error` set.
double BlockedMae(const Table& t, const Trainer& trainer, const std::string& group,
                  const std::string& target, int folds, std::string* error) {
  const std::vector<std::string> features = Group(group);
  std::vector<const std::vector<double>*> cols;
  for (const auto& f : features) cols.push_back(t.Col(f));
  const std::vector<double>& y = *t.Col(target);
  const std::size_t n = y.size();
  const std::size_t d = features.size();
  double abs_sum = 0;
  for (int k = 0; k < folds; ++k) {
    const std::size_t a = n * static_cast<std::size_t>(k) / static_cast<std::size_t>(folds);
    const std::size_t b = n * static_cast<std::size_t>(k + 1) / static_cast<std::size_t>(folds);
    FitInput in;
    in.component = target == "platform_power" ? Component::kPlatform : Component::kPackage;
    in.feature_group = group;
    in.features = features;
    in.seed = 1;
    in.scale.assign(d, 0.0);
    for (std::size_t r = 0; r < n; ++r) {
      if (r >= a && r < b) continue;
      for (std::size_t c = 0; c < d; ++c) {
        in.x.push_back((*cols[c])[r]);
        in.scale[c] = std::max(in.scale[c], std::fabs((*cols[c])[r]));
      }
      in.y.push_back(y[r]);
      ++in.rows;
    }
    auto p = trainer.Fit(in);
    if (!p.ok()) {
      *error = p.status().ToString();
      return NAN;
    }
    auto model = PipelineModel::Create(ModelInfo{}, {*p});
    if (!model.ok()) {
      *error = model.status().ToString();
      return NAN;
    }
    FeatureMatrix test(features, b - a);
    for (std::size_t r = a; r < b; ++r) {
      for (std::size_t c = 0; c < d; ++c) test.at(r - a, c) = (*cols[c])[r];
    }
    auto pred = (*model)->Predict(test);
    if (!pred.ok()) {
      *error = pred.status().ToString();
      return NAN;
    }
    for (std::size_t r = a; r < b; ++r) {
      abs_sum += std::fabs(pred->components[0].watts[r - a].value() - y[r]);
    }
  }
  return abs_sum / static_cast<double>(n);
}

TEST(TrainerBlockedCvTest, DISABLED_Nx12Table) {
  auto table = LoadNx12();
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  std::vector<std::string> names = KeplerTrainerNames();
  for (auto& n : WattsonTrainerNames()) names.push_back(n);
  std::printf(
      "| trainer | Basic pkg | CounterOnly pkg | BPFOnly pkg | Basic platform | "
      "CounterOnly platform | BPFOnly platform | fit s |\n|---|---|---|---|---|---|---|---|\n");
  for (const auto& name : names) {
    auto trainer = MakeTrainer(name);
    ASSERT_TRUE(trainer.ok());
    std::string line = "| " + name + " |";
    const auto t0 = std::chrono::steady_clock::now();
    for (const char* target : {"package_power", "platform_power"}) {
      for (const char* group : {"Basic", "CounterOnly", "BPFOnly"}) {
        std::string error;
        const double mae = BlockedMae(*table, **trainer, group, target, 10, &error);
        char cell[64];
        std::snprintf(cell, sizeof(cell), " %.2f |", mae);
        line += error.empty() ? cell : " failed |";
        if (!error.empty())
          std::fprintf(stderr, "%s %s %s: %s\n", name.c_str(), group, target, error.c_str());
      }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s %.1f |\n", line.c_str(), secs);
    std::fflush(stdout);
  }
}

}  // namespace
}  // namespace wattson
