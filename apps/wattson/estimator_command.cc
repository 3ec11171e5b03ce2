#include "estimator_command.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <utility>

#include "common/file_util.h"
#include "estimator/config.h"
#include "estimator/estimator.h"
#include "estimator/metrics_http.h"
#include "estimator/model_store.h"
#include "estimator/server.h"
#include "estimator/settings.h"
#include "estimator/telemetry.h"
#include "fmt/format.h"

namespace wattson::cli {

namespace est = wattson::estimator;

CLI::App* AddEstimatorCommand(CLI::App& app, EstimatorCliOptions* opts) {
  CLI::App* cmd = app.add_subcommand(
      "estimator",
      "Run the estimator sidecar: serve power models to Kepler v0.7.11 agents (and wattson's) "
      "over a unix socket");
  auto keyed = [&](const std::string& flag, std::string_view key, const std::string& help,
                   const std::string& type = "INT") {
    const std::string k(key);
    opts->options[k] =
        cmd->add_option(flag, opts->values[k], help + " [" + k + "]")->type_name(type);
  };
  keyed("--socket", est::kKeySocket, "Unix socket path (default /tmp/estimator.sock, as Kepler)",
        "PATH");
  opts->model_dirs_option =
      cmd->add_option("--model-dir", opts->model_dirs,
                      "A wattson or Kepler model DB folder (repeatable; tried in order) "
                      "[WATTSON_MODEL_DIRS, comma-separated]")
          ->type_name("DIR");
  keyed("--max-request-bytes", est::kKeyMaxRequestBytes,
        "Largest request accepted (default 16777216)");
  keyed("--max-connections", est::kKeyMaxConnections,
        "Connections served at once, at least 64 (default 256)");
  keyed("--read-timeout-ms", est::kKeyReadTimeoutMs,
        "Time for a whole request to arrive (default 10000)");
  keyed("--write-timeout-ms", est::kKeyWriteTimeoutMs,
        "Time for a client to take a whole reply (default 10000)");
  keyed("--idle-timeout-ms", est::kKeyIdleTimeoutMs,
        "Framed protocol: time allowed between requests (default 300000)");
  keyed("--refresh-seconds", est::kKeyRefreshSeconds,
        "Reload models this often; changed ones are swapped in, broken ones rejected; 0 never "
        "(default 300)");
  keyed("--metrics-address", est::kKeyMetricsAddress,
        "Serve self-telemetry at http://HOST:PORT/metrics (default: off)", "HOST:PORT");
  keyed("--dyn-power-rule", est::kKeyDynPowerRule,
        "DynPower rows: 'node' splits f(sum)-f(0) (rows sum to the node's dynamic power), 'row' "
        "gives each row f(x)-f(0) (default node)",
        "node|row");
  keyed("--trainer-match", est::kKeyTrainerMatch,
        "A request's trainer_name: 'prefer' that trainer, else any; 'strict' only that trainer "
        "(default prefer)",
        "prefer|strict");
  keyed("--fetch-timeout-ms", est::kKeyFetchTimeoutMs,
        "HTTP timeout for INIT_URL and model server fetches (default 10000)");
  cmd->add_option("--config", opts->config_file,
                  "A file of KEY = VALUE lines with any key above or Kepler's (MODEL_CONFIG, "
                  "MODEL_SERVER_ENABLE, ...)")
      ->type_name("FILE");
  cmd->add_option("--kepler-config-dir", opts->kepler_config_dir,
                  "Kepler's configuration folder: one file per key")
      ->type_name("DIR")
      ->capture_default_str();
  cmd->footer(
      "Precedence: flag > environment > --config file > Kepler config folder > MODEL_CONFIG entry "
      "> default. Kepler keys: MODEL_CONFIG (<PREFIX>_INIT_URL, <PREFIX>_TRAINER), "
      "MODEL_SERVER_ENABLE/_URL/_PORT/_MODEL_REQ_PATH, KEPLER_NAMESPACE, ERROR_KEY. Signals: "
      "SIGTERM/SIGINT stop, SIGHUP refreshes models. Protocols: docs/estimator-protocol.md.\n" +
      std::string(kExitCodeFooter));
  return cmd;
}

int RunEstimator(const EstimatorCliOptions& opts, const CliContext& ctx) {
  est::KeyValues flags;
  for (const auto& [key, option] : opts.options) {
    if (option != nullptr && option->count() > 0) flags[key] = opts.values.at(key);
  }
  if (opts.model_dirs_option != nullptr && opts.model_dirs_option->count() > 0) {
    flags[std::string(est::kKeyModelDirs)] = Join(opts.model_dirs, ",");
  }
  est::KeyValues file;
  if (!opts.config_file.empty()) {
    auto text = ReadLocalFile(opts.config_file, 1u << 20);
    if (!text.ok()) return ReportRuntimeError(ctx, text.status());
    auto parsed = est::ParseKeyValueFile(*text, opts.config_file);
    if (!parsed.ok()) return ReportUsageError(ctx, parsed.status().message());
    file = std::move(parsed).value();
  }
  const est::ConfigLookup config(est::ProcessEnv(), std::move(file), opts.kepler_config_dir);
  for (const auto& w : config.warnings()) ctx.logger->warn("{}", w);
  auto settings = est::ResolveEstimatorSettings(flags, config);
  if (!settings.ok()) return ReportUsageError(ctx, settings.status().message());
  for (const auto& n : settings->notes) ctx.logger->info("setting {}", n);

  // Signals are taken synchronously by this thread (sigtimedwait): no handler, no global state.
  // Blocked before any thread starts, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &signals, &old_mask);
  ::signal(SIGPIPE, SIG_IGN);  // belt and braces: every send already uses MSG_NOSIGNAL
  est::ConfigureMallocForServer();
  struct RestoreMask {
    sigset_t mask;
    ~RestoreMask() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
  } restore{old_mask};

  auto store = est::ModelStore::Create(settings->sources, ctx.logger);
  if (!store.ok()) return ReportRuntimeError(ctx, store.status());
  est::Estimator estimator(store->get(), settings->estimator);
  est::Telemetry telemetry;
  est::EstimatorServer server(settings->server, &estimator, &telemetry, ctx.logger);
  Status started = server.Start();
  if (!started.ok()) return ReportRuntimeError(ctx, started);

  std::unique_ptr<est::MetricsHttpServer> metrics;
  if (!settings->metrics_address.empty()) {
    est::ModelStore* raw_store = store->get();
    metrics = std::make_unique<est::MetricsHttpServer>(
        [&telemetry, raw_store] { return telemetry.RenderPrometheus(raw_store->Snapshot()); },
        ctx.logger);
    Status s = metrics->Start(settings->metrics_address);
    if (!s.ok()) {
      server.Stop();
      return ReportRuntimeError(ctx, s);
    }
  }
  (*store)->StartRefresher(settings->refresh_interval);

  for (;;) {
    siginfo_t info;
    const timespec tick{1, 0};
    const int sig = sigtimedwait(&signals, &info, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      ctx.logger->info("signal {}: shutting down", sig);
      break;
    }
    if (sig == SIGHUP) {
      auto report = (*store)->Refresh();
      ctx.logger->info("SIGHUP: models refreshed ({} swapped, {} kept after errors)",
                       report.swapped, report.kept_on_error);
      continue;
    }
    if (sig < 0 && errno != EAGAIN && errno != EINTR) {
      ctx.logger->error("sigtimedwait failed: {}", std::strerror(errno));
      break;
    }
    if (!server.running()) break;
  }
  if (metrics) metrics->Stop();
  server.Stop();
  (*store)->StopRefresher();
  return kExitOk;
}

}  // namespace wattson::cli
