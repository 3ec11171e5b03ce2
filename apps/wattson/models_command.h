// `wattson models ...`: index a model database (list), describe one model (show), convert any
// loadable model to the wattson format with an exact round-trip check (convert), and pick the best
// model for a request (select).
#pragma once

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli_util.h"
#include "models/power_model.h"

namespace wattson::cli {

struct ModelsListOptions {
  std::string dir;
  bool json = false;
  std::string source;
  std::string output_type;
  std::string feature_group;
};

struct ModelsShowOptions {
  std::string path;
  ModelLoadFlags load;
  bool json = false;
};

struct ModelsConvertOptions {
  std::string input_path;
  std::string output_path;
  ModelLoadFlags load;
  std::string id;
};

struct ModelsSelectOptions {
  std::string dir;
  std::string features;  // comma-separated
  std::string source;
  std::string output_type;
  int node_type = -1;
  std::string trainer;
  std::string filter;
  std::string feature_group;
  std::string error_key = "mae";
  bool weight_only = false;
  bool json = false;
};

struct ModelsOptions {
  ModelsListOptions list;
  ModelsShowOptions show;
  ModelsConvertOptions convert;
  ModelsSelectOptions select;
};

// The `models` command and its subcommands, for dispatch after parsing.
struct ModelsCommands {
  CLI::App* models = nullptr;
  CLI::App* list = nullptr;
  CLI::App* show = nullptr;
  CLI::App* convert = nullptr;
  CLI::App* select = nullptr;
};

ModelsCommands AddModelsCommand(CLI::App& app, ModelsOptions* opts);
// The catalogue-backed subcommands (catalogue_commands.cc), registered by AddModelsCommand.
void AddModelsListCommand(CLI::App& models, ModelsCommands* cmds, ModelsListOptions* opts);
void AddModelsSelectCommand(CLI::App& models, ModelsCommands* cmds, ModelsSelectOptions* opts);

int RunModelsList(const ModelsListOptions& opts, const CliContext& ctx);
int RunModelsShow(const ModelsShowOptions& opts, const CliContext& ctx);
int RunModelsConvert(const ModelsConvertOptions& opts, const CliContext& ctx);
int RunModelsSelect(const ModelsSelectOptions& opts, const CliContext& ctx);

// Compares the predictions of two models on deterministic generated rows over a's features (bit
// for bit, and agreement on which rows fail). OK when identical; otherwise names the first
// difference.
Status VerifySamePredictions(const PowerModel& a, const PowerModel& b, std::size_t rows = 64);

}  // namespace wattson::cli
