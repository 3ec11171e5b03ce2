// Building an Agent from an AgentConfig: probe the meters, choose the node models (MODEL_CONFIG
// path > --model > the embedded default; or the estimator sidecar), open node perf counters where
// permitted, set up pod name resolution, and translate the exposition switches. Logs (info) every
// probe outcome and every model choice. Used by `wattson agent`, the tests and the bench.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/config.h"
#include "common/clock.h"
#include "common/host_fs.h"
#include "common/logging.h"
#include "export/http_server.h"
#include "export/state.h"
#include "sources/power/meter_set.h"

namespace wattson::agent {

// The node models for the targets, per config (see the file comment). available: the features
// the agent can compute. A target whose model cannot be had is left out with a warning; an
// explicit model file or folder that cannot be read at all is an error.
Result<std::vector<std::unique_ptr<NodeModel>>> LoadNodeModels(
    const AgentConfig& config, const std::vector<std::string>& available, Logger& logger);

// Meter probing options from the config (passthrough added when a file or URL is given; nvml left
// out when enable_gpu is false).
MeterSetConfig MeterConfigFrom(const AgentConfig& config);

// Exposition switches and HTTP options from the config.
exporter::HttpOptions HttpOptionsFrom(const AgentConfig& config);

struct BuiltAgent {
  std::unique_ptr<Agent> agent;
  std::vector<ProbeOutcome> probes;
};

// Probes, loads and creates the agent. fs, clock and state must outlive it. real_host: fs reads the
// host this process runs on, so the node's hardware counters are tried, and so is the eBPF on-CPU
// time source (config.cpu_time_source: "auto" uses it when it loads and this process is in the
// initial pid namespace; "ebpf" fails without it, or without real_host). Unless
// config.proc_open_files is 0, raises the process's soft RLIMIT_NOFILE to its hard limit (the
// agent keeps /proc/<pid>/stat files open; docs/agent.md, Performance).
Result<BuiltAgent> BuildAgent(const AgentConfig& config, const HostFs& fs, const Clock& clock,
                              std::shared_ptr<Logger> logger, exporter::ExportState& state,
                              bool real_host);

}  // namespace wattson::agent
