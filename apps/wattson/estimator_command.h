// `wattson estimator`: the Kepler-compatible estimator sidecar. Serves any model family over a
// unix socket (Kepler v0.7.11's protocol and wattson's framed protocol), with models from model
// directories, <PREFIX>_INIT_URL documents and the model server, refreshed periodically.
// SIGTERM/SIGINT stop it cleanly (socket removed); SIGHUP refreshes the models now.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli_util.h"

namespace wattson::cli {

struct EstimatorCliOptions {
  std::string config_file;  // wattson KEY = VALUE file
  std::string kepler_config_dir = "/etc/kepler/kepler.config";
  std::vector<std::string> model_dirs;
  // Flags that map to a settings key (estimator/settings.h), with the option that sets each.
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> options;
  CLI::Option* model_dirs_option = nullptr;
};

// Registers the subcommand on app; options are written into opts when parsed.
CLI::App* AddEstimatorCommand(CLI::App& app, EstimatorCliOptions* opts);
int RunEstimator(const EstimatorCliOptions& opts, const CliContext& ctx);

}  // namespace wattson::cli
