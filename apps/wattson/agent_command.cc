#include "agent_command.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <thread>
#include <utility>

#include "agent/config.h"
#include "agent/setup.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/host_fs.h"
#include "common/net_text.h"
#include "estimator/config.h"
#include "export/http_server.h"
#include "export/state.h"
#include "fmt/format.h"

namespace wattson::cli {

CLI::App* AddAgentCommand(CLI::App& app, AgentCliOptions* opts) {
  CLI::App* cmd = app.add_subcommand(
      "agent",
      "Run the node agent: measured or estimated power for every process, container, pod and "
      "VM, served as Kepler-compatible Prometheus metrics, a JSON snapshot and a web page");
  auto keyed = [&](const std::string& flag, const std::string& key, const std::string& help,
                   const std::string& type) {
    opts->options[key] = cmd->add_option(flag, opts->values[key], help)->type_name(type);
  };
  cmd->add_option("--config", opts->config_file,
                  "YAML or JSON file with the same keys as the long options (snake_case)")
      ->type_name("FILE");
  keyed("--host-root", "host_root", "Root of the host tree read for /proc and /sys (default /)",
        "DIR");
  keyed("--period", "period",
        "Tick period in seconds, fractions allowed (default 3) "
        "[SAMPLE_PERIOD_SEC]",
        "SECONDS");
  keyed("--listen", "listen",
        "HTTP address (default 0.0.0.0:9102); port 0 picks a free port, printed on stdout "
        "[BIND_ADDRESS]",
        "HOST:PORT");
  keyed("--metrics-path", "metrics_path", "Prometheus path (default /metrics) [METRIC_PATH]",
        "PATH");
  keyed("--ticks", "ticks", "Exit cleanly after N ticks (default 0: run until SIGTERM/SIGINT)",
        "N");
  keyed("--port-file", "port_file", "Write the bound port number to FILE once listening", "FILE");
  keyed("--node-name", "node_name", "instance label (default: the host name) [NODE_NAME]", "NAME");
  keyed("--model", "model",
        "A model file or model DB folder for node power where there is no meter (default: the "
        "embedded default model)",
        "PATH");
  keyed("--estimator-socket", "estimator_socket",
        "Ask the estimator sidecar on this unix socket (framed protocol) instead of local models",
        "PATH");
  opts->process_metrics_option =
      cmd->add_flag("--process-metrics", opts->process_metrics_flag,
                    "Export per-process series (off by default, as Kepler) "
                    "[ENABLE_PROCESS_METRICS]");
  keyed("--meters", "meters",
        "Meters to probe, comma-separated (default rapl,hwmon,nvml); none = always estimate",
        "LIST");
  keyed("--passthrough-file", "passthrough_file", "A VM's power published by its host (file)",
        "FILE");
  keyed("--passthrough-url", "passthrough_url", "A VM's power published by its host (HTTP)", "URL");
  keyed("--kubelet-url", "kubelet_url", "The kubelet's pod list, e.g. https://127.0.0.1:10250/pods",
        "URL");
  keyed("--kubelet-token-file", "kubelet_token_file", "Bearer token for the kubelet", "FILE");
  keyed("--kubelet-ca-file", "kubelet_ca_file", "CA bundle of the kubelet's certificate", "FILE");
  keyed("--kubelet-insecure-skip-tls-verify", "kubelet_insecure_skip_tls_verify",
        "Do not verify the kubelet's certificate (default false)", "BOOL");
  keyed("--pod-list-file", "pod_list_file", "A PodList JSON file for pod names", "FILE");
  keyed("--kepler-config-dir", "kepler_config_dir",
        "Kepler's config folder, one file per key (default /etc/kepler/kepler.config)", "DIR");
  keyed("--container-metrics", "container_metrics",
        "Export container series (default true) [EXPOSE_CONTAINER_METRICS]", "BOOL");
  keyed("--vm-metrics", "vm_metrics", "Export VM series (default true) [EXPOSE_VM_METRICS]",
        "BOOL");
  keyed("--idle-metrics", "idle_metrics",
        "Export mode=\"idle\" series (default true) [EXPOSE_ESTIMATED_IDLE_POWER_METRICS]", "BOOL");
  keyed("--component-metrics", "component_metrics",
        "Export per-component series (default true) [EXPOSE_COMPONENT_POWER]", "BOOL");
  keyed("--hw-counters", "hw_counters",
        "Use node perf counters as model features where permitted (default true) "
        "[EXPOSE_HW_COUNTER_METRICS]",
        "BOOL");
  keyed("--enable-gpu", "enable_gpu", "Probe NVIDIA GPUs (default true) [ENABLE_GPU]", "BOOL");
  keyed("--cpu-arch", "cpu_arch", "cpu_architecture label [CPU_ARCH_OVERRIDE]", "NAME");
  keyed("--model-config", "model_config",
        "Kepler MODEL_CONFIG entries (NODE_TOTAL_INIT_URL, NODE_COMPONENTS_ESTIMATOR, ...) "
        "[MODEL_CONFIG]",
        "TEXT");
  keyed("--idle-apportioning", "idle_apportioning",
        "Idle power to workloads: none, cpu_time, even_active_containers (default cpu_time)",
        "RULE");
  keyed("--proc-open-files", "proc_open_files",
        "Most /proc/<pid>/stat files kept open between ticks (default 4096; 0 = none)", "N");
  keyed("--cpu-time-source", "cpu_time_source",
        "Per-process CPU time: auto (eBPF where it loads, else /proc), ebpf, procfs (default "
        "auto)",
        "SOURCE");
  keyed("--error-log-every", "error_log_every",
        "Log a failing source at most once per N ticks (default 100)", "N");
  keyed("--estimate-platform", "estimate_platform",
        "Estimate platform power by a model when no meter has it (default true)", "BOOL");
  cmd->footer(
      "Precedence: flag > environment (Kepler keys in brackets) > Kepler config folder "
      "<dir>/<KEY> > --config file > default. Signals: SIGTERM/SIGINT stop cleanly. HTTP: "
      "/metrics, /healthz, /api/v1/snapshot, / (web page). Details: docs/agent.md.\n" +
      std::string(kExitCodeFooter));
  return cmd;
}

int RunAgent(const AgentCliOptions& opts, const CliContext& ctx) {
  agent::ConfigSources sources;
  for (const auto& [key, option] : opts.options) {
    if (option != nullptr && option->count() > 0) sources.flags[key] = opts.values.at(key);
  }
  if (opts.process_metrics_option != nullptr && opts.process_metrics_option->count() > 0) {
    sources.flags["process_metrics"] = opts.process_metrics_flag ? "true" : "false";
  }
  sources.env = estimator::ProcessEnv();
  sources.config_file = opts.config_file;
  auto config = agent::LoadAgentConfig(sources);
  if (!config.ok()) {
    if (config.status().code() == StatusCode::kInvalidArgument) {
      return ReportUsageError(ctx, config.status().message());
    }
    return ReportRuntimeError(ctx, config.status());
  }
  for (const auto& w : config->warnings) ctx.logger->warn("{}", w);
  for (const auto& [key, origin] : config->origins) {
    if (origin != "default") ctx.logger->debug("setting {} from {}", key, origin);
  }

  // Signals are taken synchronously by this thread; blocked before any thread starts so that
  // every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &signals, &old_mask);
  ::signal(SIGPIPE, SIG_IGN);
  // On the way out, stop signals that arrived after the first (a second SIGTERM from a
  // supervisor) are taken here rather than delivered with their default action, which would
  // turn a clean exit into "killed by SIGTERM".
  struct RestoreMask {
    sigset_t taken;
    sigset_t mask;
    ~RestoreMask() {
      const timespec none{0, 0};
      while (sigtimedwait(&taken, nullptr, &none) > 0) {
      }
      pthread_sigmask(SIG_SETMASK, &mask, nullptr);
    }
  } restore{signals, old_mask};

  RealClock clock;
  RootedHostFs fs(config->host_root);
  exporter::ExportState state(clock);
  auto built = agent::BuildAgent(*config, fs, clock, ctx.logger, state,
                                 /*real_host=*/config->host_root == "/");
  if (!built.ok()) return ReportRuntimeError(ctx, built.status());

  exporter::AgentHttpServer server(state, agent::HttpOptionsFrom(*config), ctx.logger);
  Status started = server.Start();
  if (!started.ok()) return ReportRuntimeError(ctx, started);
  std::string host;
  int ignored_port = 0;
  (void)ParseHostPort(config->listen, "listen address", &host, &ignored_port);
  std::fprintf(ctx.out, "wattson agent: listening on http://%s:%d%s\n",
               host.find(':') != std::string::npos ? ("[" + host + "]").c_str() : host.c_str(),
               server.port(), config->metrics_path.c_str());
  std::fflush(ctx.out);
  if (!config->port_file.empty()) {
    Status s = WriteLocalFileAtomic(config->port_file, std::to_string(server.port()) + "\n");
    if (!s.ok()) {
      server.Stop();
      return ReportRuntimeError(ctx, s);
    }
  }

  agent::Agent* agent = built->agent.get();
  std::atomic<bool> finished{false};
  std::thread ticker([agent, &finished] {
    agent->Run();
    finished.store(true);
  });
  int exit_code = kExitOk;
  while (!finished.load()) {
    siginfo_t info;
    const timespec wait{0, 100'000'000};
    const int sig = sigtimedwait(&signals, &info, &wait);
    if (sig == SIGTERM || sig == SIGINT) {
      ctx.logger->info("signal {}: stopping", sig);
      break;
    }
    if (sig < 0 && errno != EAGAIN && errno != EINTR) {
      ctx.logger->error("sigtimedwait failed: {}", std::strerror(errno));
      exit_code = kExitRuntimeError;
      break;
    }
  }
  agent->Stop();
  ticker.join();
  server.Stop();
  ctx.logger->info("stopped after {} tick(s)", agent->ticks());
  return exit_code;
}

}  // namespace wattson::cli
