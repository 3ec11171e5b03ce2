// AgentConfig: every setting of `wattson agent`, and its loading from four layers with one
// documented precedence (docs/agent.md):
//   command-line flag > environment (Kepler keys) > Kepler config folder (<dir>/<KEY>, trimmed) >
//   --config file (JSON or YAML, snake_case keys) > default.
// Promises: every value is validated; an unknown key in the config file, or a value that does not
// parse, is an error naming the key and the layer it came from. Pure apart from reading the two
// configuration files; the environment is passed in.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attribution/types.h"
#include "common/status.h"
#include "common/units.h"
#include "estimator/config.h"

namespace wattson::agent {

// How node power is estimated for one target (Kepler's NODE_COMPONENTS = package/core/uncore/dram,
// NODE_TOTAL = platform) where no meter covers it.
struct TargetModelConfig {
  std::string model_path;      // a model file or model DB folder; "" = the --model setting
  bool use_estimator = false;  // <P>_ESTIMATOR=true: ask the sidecar instead of a local model
  std::string trainer;         // <P>_TRAINER: narrows selection from a model DB folder
};

struct AgentConfig {
  std::string host_root = "/";
  Seconds period{3.0};
  std::string listen = "0.0.0.0:9102";
  std::string metrics_path = "/metrics";
  long long ticks = 0;  // 0 = until a signal
  std::string port_file;
  std::string node_name;  // "" = the host name
  std::string model;      // "" = the embedded default model
  std::string estimator_socket;
  bool process_metrics = false;
  bool container_metrics = true;
  bool vm_metrics = true;
  bool idle_metrics = true;
  bool component_metrics = true;
  bool hw_counters = true;  // node perf counters as model features (EXPOSE_HW_COUNTER_METRICS)
  bool enable_gpu = true;   // probe NVML (when "nvml" is in meters)
  std::vector<std::string> meters = {"rapl", "hwmon", "nvml"};  // empty = always estimate
  std::string passthrough_file;
  std::string passthrough_url;
  std::string kubelet_url;
  std::string kubelet_token_file;
  std::string kubelet_ca_file;
  bool kubelet_insecure_skip_tls_verify = false;
  std::string pod_list_file;
  std::string kepler_config_dir = "/etc/kepler/kepler.config";
  std::string cpu_arch;  // CPU_ARCH_OVERRIDE
  std::string model_config;
  // Idle energy to workloads by CPU-time share (Kepler splits idle over processes too), so every
  // busy workload shows power even when the node's dynamic power is ~0.
  attribution::IdleApportioning idle_apportioning = attribution::IdleApportioning::kCpuTimeShare;
  long long error_log_every = 100;  // a failing source is logged at most once per this many ticks
  // Most /proc/<pid>/stat files kept open between ticks (bounded by RLIMIT_NOFILE, whose soft
  // limit the agent raises to the hard one); 0 = open, read and close every file every tick.
  long long proc_open_files = 4096;
  // Where per-process CPU time comes from: "auto" (eBPF where it loads and the agent reads the
  // host it runs on in the initial pid namespace, else /proc), "ebpf" (an error if it cannot
  // load), "procfs" (/proc/<pid>/stat of every process every tick). docs/agent.md, Performance.
  std::string cpu_time_source = "auto";
  bool estimate_platform = true;  // estimate platform power by a model when no meter has it
  // From MODEL_CONFIG.
  TargetModelConfig components;  // NODE_COMPONENTS_*
  TargetModelConfig platform;    // NODE_TOTAL_*

  // Where each setting came from ("flag --period", "environment SAMPLE_PERIOD_SEC",
  // "/etc/kepler/kepler.config/SAMPLE_PERIOD_SEC", "config file x.yaml", "default"), by key.
  std::map<std::string, std::string> origins;
  std::vector<std::string> warnings;  // ignored MODEL_CONFIG entries and the like
};

// One setting: its snake_case key (config file), its long option, and its Kepler environment key
// ("" when it has none).
struct ConfigKeyDef {
  std::string_view key;
  std::string_view flag;
  std::string_view env;
  std::string_view help;
};
const std::vector<ConfigKeyDef>& AgentConfigKeys();

// The inputs of LoadAgentConfig.
struct ConfigSources {
  std::map<std::string, std::string> flags;  // by snake_case key: values given on the command line
  estimator::EnvLookup env;                  // null = no environment
  std::string config_file;                   // "" = none
};

// Loads and validates the configuration (see the file comment).
Result<AgentConfig> LoadAgentConfig(const ConfigSources& sources);

// Parses a config file's text into key → value strings (lists joined with ','). format: "json",
// "yaml", or "" to decide from the file name (.json, .yaml/.yml; otherwise JSON when the text
// starts with '{', else YAML). Every key must be a known snake_case key.
Result<std::map<std::string, std::string>> ParseAgentConfigText(std::string_view text,
                                                                std::string_view what,
                                                                std::string_view format = "");

}  // namespace wattson::agent
