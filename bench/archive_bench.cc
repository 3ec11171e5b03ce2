// Kepler model archives next to the same models in the wattson format: load time (read the file,
// unzip, parse the pickles / JSON, build the pipeline) and prediction throughput (1 000 rows) for
// every sample archive in testdata/kepler-model-db/ec2-0.7.11_samples. Each archive is converted to
// wattson JSON in a temporary folder at start-up. Run through scripts/bench-archives.sh for a
// Markdown table.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/csv.h"
#include "common/file_util.h"
#include "models/archive/kepler_archive.h"
#include "models/model_loader.h"
#include "models/wattson_format.h"

namespace wattson {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kRows = 1000;

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "archive_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

struct Case {
  std::string name;          // <FG>_<model>
  std::string archive_path;  // the .zip
  std::string wattson_path;  // the converted wattson JSON
  std::shared_ptr<const PipelineModel> archive_model;
  std::shared_ptr<const PipelineModel> wattson_model;
  FeatureMatrix rows;  // the reference input rows, repeated to kRows
};

FeatureMatrix ReadRows(const std::string& csv_path) {
  auto text = ReadLocalFile(csv_path);
  if (!text.ok()) Die(csv_path, text.status());
  auto table = ParseCsv(*text, csv_path);
  if (!table.ok()) Die(csv_path, table.status());
  FeatureMatrix m(table->header, kRows);
  for (std::size_t r = 0; r < kRows; ++r) {
    const auto& src = table->rows[r % table->rows.size()];
    for (std::size_t c = 0; c < src.size(); ++c) {
      auto v = ParseFiniteDouble(src[c]);
      if (!v.ok()) Die(csv_path, v.status());
      m.at(r, c) = *v;
    }
  }
  return m;
}

std::vector<Case> LoadCases(const std::string& samples, const std::string& scratch) {
  std::vector<Case> cases;
  std::vector<fs::path> inputs;
  for (const auto& e : fs::directory_iterator(samples + "/expected")) {
    const std::string n = e.path().filename().string();
    if (n.size() > 10 && n.substr(n.size() - 10) == ".input.csv") inputs.push_back(e.path());
  }
  std::sort(inputs.begin(), inputs.end());
  for (const fs::path& input : inputs) {
    Case c;
    const std::string file = input.filename().string();
    c.name = file.substr(0, file.size() - 10);
    const std::string fg = c.name.substr(0, c.name.find('_'));
    const std::string model = c.name.substr(c.name.find('_') + 1);
    c.archive_path = samples + "/rapl-sysfs/AbsPower/" + fg + "/" + model + ".zip";
    auto a = archive::LoadKeplerArchive(c.archive_path);
    if (!a.ok()) Die(c.archive_path, a.status());
    c.wattson_path = scratch + "/" + c.name + ".json";
    Status saved = SaveWattsonModel(*a->model, c.wattson_path);
    if (!saved.ok()) Die(c.wattson_path, saved);
    c.archive_model = std::move(a->model);
    auto w = LoadModelFile(c.wattson_path);
    if (!w.ok()) Die(c.wattson_path, w.status());
    c.wattson_model = std::move(w).value();
    c.rows = ReadRows(input.string());
    cases.push_back(std::move(c));
  }
  return cases;
}

void Register(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    const double zip_kb = static_cast<double>(fs::file_size(c.archive_path)) / 1024.0;
    const double json_kb = static_cast<double>(fs::file_size(c.wattson_path)) / 1024.0;
    benchmark::RegisterBenchmark(("load/archive/" + c.name).c_str(), [&c, zip_kb](
                                                                         benchmark::State& state) {
      for (auto _ : state) {
        auto a = archive::LoadKeplerArchive(c.archive_path);
        if (!a.ok()) state.SkipWithError(a.status().message().c_str());
        benchmark::DoNotOptimize(a);
      }
      state.counters["file_kb"] = zip_kb;
    })->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("load/wattson/" + c.name).c_str(), [&c, json_kb](
                                                                         benchmark::State& state) {
      for (auto _ : state) {
        auto m = LoadModelFile(c.wattson_path);
        if (!m.ok()) state.SkipWithError(m.status().message().c_str());
        benchmark::DoNotOptimize(m);
      }
      state.counters["file_kb"] = json_kb;
    })->Unit(benchmark::kMillisecond);
    for (const auto& [kind, model] : {std::pair{std::string("archive"), c.archive_model},
                                      std::pair{std::string("wattson"), c.wattson_model}}) {
      benchmark::RegisterBenchmark(
          ("predict/" + kind + "/" + c.name).c_str(),
          [&c, m = model](benchmark::State& state) {
            for (auto _ : state) {
              auto p = m->Predict(c.rows);
              if (!p.ok()) state.SkipWithError(p.status().message().c_str());
              benchmark::DoNotOptimize(p);
            }
            state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
          })
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace
}  // namespace wattson

int main(int argc, char** argv) {
  const char* env = std::getenv("WATTSON_TESTDATA_DIR");
  const std::string samples = std::string(env != nullptr ? env : WATTSON_TESTDATA_DIR) +
                              "/kepler-model-db/ec2-0.7.11_samples";
  const std::string scratch = (std::filesystem::temp_directory_path() /
                               ("wattson-archive-bench-" + std::to_string(getpid())))
                                  .string();
  std::filesystem::create_directories(scratch);
  const std::vector<wattson::Case> cases = wattson::LoadCases(samples, scratch);
  wattson::Register(cases);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::filesystem::remove_all(scratch);
  return 0;
}
