// `wattson agent`: the node agent (Kepler exporter's role). Measures or estimates node power per
// zone, splits it over processes, containers, pods and VMs, and serves /metrics, /healthz,
// /api/v1/snapshot and the web page. Command-line contract: /work/briefs/agent-cli.md, documented
// in docs/agent.md. SIGTERM/SIGINT stop it cleanly; --ticks N stops it after N ticks.
#pragma once

#include <map>
#include <string>

#include "CLI/CLI.hpp"
#include "cli_util.h"

namespace wattson::cli {

struct AgentCliOptions {
  std::string config_file;
  // Values of the options that map to a config key (agent/config.h), by key, and the options.
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> options;
  bool process_metrics_flag = false;
  CLI::Option* process_metrics_option = nullptr;
};

// Registers the subcommand on app; options are written into opts when parsed.
CLI::App* AddAgentCommand(CLI::App& app, AgentCliOptions* opts);
int RunAgent(const AgentCliOptions& opts, const CliContext& ctx);

}  // namespace wattson::cli
