// `wattson predict`: apply any loadable model to rows of feature rates from a CSV file and print
// the watts per component (CSV by default, or an aligned table).
#pragma once

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli_util.h"
#include "common/csv.h"
#include "models/types.h"

namespace wattson::cli {

struct PredictOptions {
  std::string model_path;
  std::string input_path;           // "-" for standard input
  std::string output_path;          // empty or "-" for standard output
  std::vector<std::string> system;  // key=value
  ModelLoadFlags load;
  std::string format = "csv";  // "csv" or "table"
};

// Registers the subcommand on app; options are written into opts when parsed.
CLI::App* AddPredictCommand(CLI::App& app, PredictOptions* opts);
int RunPredict(const PredictOptions& opts, const CliContext& ctx);

// Picks the named feature columns from a CSV table (other columns are ignored). Errors name a
// missing column, or the data row (1-based) and column of a cell that is not a finite number.
Result<FeatureMatrix> FeatureMatrixFromCsv(const CsvTable& table,
                                           const std::vector<std::string>& features,
                                           std::string_view what);

// Parses ["k=v", ...] into system features; errors name the malformed item.
Result<SystemFeatures> ParseSystemFeatures(const std::vector<std::string>& items);

}  // namespace wattson::cli
