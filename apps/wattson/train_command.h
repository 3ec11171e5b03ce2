// `wattson train` and `wattson evaluate`: train every model family on measured data, evaluate it
// with Kepler's protocol and with protocols that do not leak, and write a model DB in
// kepler-model-db layout (train) plus an error report in Markdown, HTML and JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli_util.h"
#include "train/report.h"

namespace wattson::cli {

// Options of both commands (the DB options only apply to train).
struct TrainCliOptions {
  std::vector<std::string> data;
  std::string data_format = "auto";
  std::string name;
  std::string power_scale = "1";
  std::string instance;
  std::string sources;  // comma-separated; empty: every source in the data
  std::string output_types = "AbsPower,DynPower";
  std::string feature_groups;  // comma-separated; empty: every valid group
  std::string feature_version = "auto";
  std::string trainers = "kepler";
  std::string isolation = "min";
  std::string idle_path;
  std::string protocol = "blocked";
  int seeds = 20;
  std::uint64_t first_seed = 1;
  int folds = 10;
  double test_fraction = 0.1;
  std::vector<std::string> test_data;
  double holdout_fraction = 0.2;
  std::size_t holdout_from_row = 0;
  int threads = 2;
  std::string machine;
  std::string machine_spec_path;
  ComparisonPaths compare;
  std::string report_dir;
  bool no_progress = false;
  bool no_plots = false;
  // train only
  std::string out_dir;
  int node_type = 0;
  bool force = false;
  bool no_predictions = false;
  std::string created;
};

CLI::App* AddTrainCommand(CLI::App& app, TrainCliOptions* opts);
CLI::App* AddEvaluateCommand(CLI::App& app, TrainCliOptions* opts);

// command_line is shown in the report so that the run can be repeated.
int RunTrain(const TrainCliOptions& opts, const CliContext& ctx, const std::string& command_line);
int RunEvaluate(const TrainCliOptions& opts, const CliContext& ctx,
                const std::string& command_line);

// Expands a --trainers list: names, short names (gbr, knn, sgd, svr, xgb, linear, poly2, ...)
// and the groups kepler, wattson, all. Errors name the unknown item.
Result<std::vector<std::string>> ExpandTrainerList(std::string_view list);

// Quotes argv for display ("wattson train --data 'a b.csv'").
std::string ShellJoin(int argc, char** argv);

}  // namespace wattson::cli
