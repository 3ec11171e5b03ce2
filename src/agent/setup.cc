#include "agent/setup.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "agent/default_model.h"
#include "fmt/format.h"
#include "models/catalogue.h"
#include "models/model_loader.h"
#include "sources/usage/ebpf_on_cpu.h"

namespace wattson::agent {

namespace {

// The on-CPU time source config.cpu_time_source asks for and the host allows (see BuildAgent),
// or null for /proc; the choice is logged.
Result<std::unique_ptr<usage::OnCpuTimeSource>> OnCpuSourceFor(const AgentConfig& config,
                                                               const HostFs& fs, bool real_host,
                                                               Logger& logger) {
  const char* kProcfs = "cpu time: /proc/<pid>/stat of every process every tick";
  if (config.cpu_time_source == "procfs") {
    logger.info("{} (cpu_time_source procfs)", kProcfs);
    return std::unique_ptr<usage::OnCpuTimeSource>();
  }
  const bool forced = config.cpu_time_source == "ebpf";
  auto not_used = [&](const std::string& why) -> Result<std::unique_ptr<usage::OnCpuTimeSource>> {
    if (forced) return Status::FailedPrecondition("cpu_time_source ebpf: " + why);
    logger.info("{} (eBPF not used: {})", kProcfs, why);
    return std::unique_ptr<usage::OnCpuTimeSource>();
  };
  if (!real_host) {
    return not_used("host_root is not /: eBPF sees this machine's kernel, not that tree");
  }
  if (!forced && !usage::InInitialPidNamespace(fs)) {
    return not_used("this process is not in the initial pid namespace, whose pids eBPF reports");
  }
  auto loaded = usage::EbpfOnCpuTimes::Load();
  if (!loaded.ok()) return not_used(loaded.status().message());
  logger.info(
      "cpu time: eBPF on-CPU times (sched_switch); /proc/<pid>/stat read for new and exec'd "
      "processes only");
  return std::unique_ptr<usage::OnCpuTimeSource>(std::move(loaded).value());
}

// The model for one target from a path: a folder is a model DB (best model for this target and the
// computable features), a file is one model.
Result<std::unique_ptr<NodeModel>> ModelFromPath(const std::string& path, NodeTarget target,
                                                 const std::string& trainer,
                                                 const std::vector<std::string>& available,
                                                 Logger& logger) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    WATTSON_ASSIGN_OR_RETURN(ModelCatalogue cat, ModelCatalogue::Scan(path, &logger));
    SelectionRequest req;
    req.features = available;
    req.energy_source = std::string(NodeTargetSource(target));
    req.output_type = OutputType::kAbsPower;
    req.trainer_name = trainer;
    std::string note;
    auto best = cat.SelectBest(req, &note);
    if (!best.ok()) {
      return best.status().WithContext(fmt::format("no {} model in {} for features {}",
                                                   NodeTargetName(target), path,
                                                   fmt::join(available, ",")));
    }
    if (!note.empty()) logger.info("{} model selection: {}", NodeTargetName(target), note);
    WATTSON_ASSIGN_OR_RETURN(auto local, LocalNodeModel::Create((*best)->model, target, available));
    return std::unique_ptr<NodeModel>(std::move(local));
  }
  LoadOptions opts;
  opts.trainer = trainer;
  WATTSON_ASSIGN_OR_RETURN(std::unique_ptr<PipelineModel> model, LoadModelFile(path, opts));
  WATTSON_ASSIGN_OR_RETURN(
      auto local, LocalNodeModel::Create(std::shared_ptr<const PowerModel>(std::move(model)),
                                         target, available));
  return std::unique_ptr<NodeModel>(std::move(local));
}

}  // namespace

Result<std::vector<std::unique_ptr<NodeModel>>> LoadNodeModels(
    const AgentConfig& config, const std::vector<std::string>& available, Logger& logger) {
  std::vector<std::unique_ptr<NodeModel>> out;
  std::vector<std::shared_ptr<const PipelineModel>> embedded;
  bool embedded_loaded = false;
  for (NodeTarget t : {NodeTarget::kComponents, NodeTarget::kPlatform}) {
    const TargetModelConfig& tc =
        t == NodeTarget::kComponents ? config.components : config.platform;
    const std::string name(NodeTargetName(t));
    if (tc.use_estimator || (!config.estimator_socket.empty() && tc.model_path.empty())) {
      const std::string socket =
          config.estimator_socket.empty() ? "/tmp/estimator.sock" : config.estimator_socket;
      out.push_back(std::make_unique<SidecarNodeModel>(socket, t, available,
                                                       std::chrono::milliseconds(2000)));
      continue;
    }
    const std::string path = !tc.model_path.empty() ? tc.model_path : config.model;
    if (!path.empty()) {
      auto m = ModelFromPath(path, t, tc.trainer, available, logger);
      if (!m.ok()) {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) {
          return Status::NotFound(fmt::format("model path {} does not exist", path));
        }
        logger.warn("{}: no model from {}: {}", name, path, m.status().message());
        continue;
      }
      out.push_back(std::move(m).value());
      continue;
    }
    if (!embedded_loaded) {
      WATTSON_ASSIGN_OR_RETURN(embedded, LoadEmbeddedModels());
      embedded_loaded = true;
    }
    bool found = false;
    for (const auto& e : embedded) {
      const auto& comps = e->info().components;
      if (std::none_of(comps.begin(), comps.end(),
                       [&](Component c) { return ComponentInTarget(c, t); })) {
        continue;
      }
      auto m = LocalNodeModel::Create(e, t, available);
      if (!m.ok()) {
        logger.warn("{}: embedded model {} unusable: {}", name, e->info().id, m.status().message());
        continue;
      }
      out.push_back(std::move(m).value());
      found = true;
      break;
    }
    if (!found) logger.warn("{}: no embedded model", name);
  }
  return out;
}

MeterSetConfig MeterConfigFrom(const AgentConfig& config) {
  MeterSetConfig mc;
  mc.sources.clear();
  for (const auto& m : config.meters) {
    if (m == "nvml" && !config.enable_gpu) continue;
    mc.sources.push_back(m);
  }
  const bool passthrough = !config.passthrough_file.empty() || !config.passthrough_url.empty();
  if (passthrough && !config.meters.empty() &&
      std::find(mc.sources.begin(), mc.sources.end(), "passthrough") == mc.sources.end()) {
    // A host's published power is the best this VM can have: probe it first.
    mc.sources.insert(mc.sources.begin(), "passthrough");
  }
  mc.passthrough.path = config.passthrough_file;
  mc.passthrough.url = config.passthrough_url;
  return mc;
}

exporter::HttpOptions HttpOptionsFrom(const AgentConfig& config) {
  exporter::HttpOptions h;
  h.address = config.listen;
  h.metrics_path = config.metrics_path;
  // /healthz: a tick must have been published within a few periods.
  h.max_tick_age = Seconds(std::max(15.0, 5.0 * config.period.value()));
  h.exposition.process_metrics = config.process_metrics;
  h.exposition.container_metrics = config.container_metrics;
  h.exposition.vm_metrics = config.vm_metrics;
  h.exposition.idle_metrics = config.idle_metrics;
  h.exposition.component_metrics = config.component_metrics;
  h.snapshot.include_processes = config.process_metrics;
  return h;
}

Result<BuiltAgent> BuildAgent(const AgentConfig& config, const HostFs& fs, const Clock& clock,
                              std::shared_ptr<Logger> logger, exporter::ExportState& state,
                              bool real_host) {
  if (!logger) logger = MakeNullLogger();
  BuiltAgent built;
  AgentDeps deps;
  deps.fs = &fs;
  deps.clock = &clock;
  deps.logger = logger;
  deps.state = &state;

  const MeterSetConfig mc = MeterConfigFrom(config);
  if (mc.sources.empty()) {
    logger->info("meters: none probed (--meters none): every zone is estimated");
  }
  WATTSON_ASSIGN_OR_RETURN(MeterSet meters, ProbeMeters(fs, clock, logger, mc));
  built.probes = meters.DescribeProbes();
  for (const auto& p : built.probes) {
    if (p.status.ok()) {
      logger->info("meter {}: found: {}", p.source, p.detail);
    } else {
      logger->info("meter {}: not used: {}", p.source, p.status.message());
    }
  }
  deps.meters = meters.TakeSources();

  bool have_perf = false;
  if (real_host && config.hw_counters) {
    auto backend = std::make_unique<usage::LinuxPerfBackend>();
    auto perf = usage::NodePerfCounters::Open(*backend, fs);
    if (perf.ok()) {
      have_perf = true;
      for (std::size_t i = 0; i < usage::kHwCounterCount; ++i) {
        const auto c = static_cast<usage::HwCounter>(i);
        if (!(*perf)->available(c)) {
          logger->info("perf counter {}: absent: {}", usage::HwCounterName(c),
                       (*perf)->absent_reason(c));
          have_perf = false;  // models need all three together (Kepler's CounterOnly)
        }
      }
      if (have_perf) {
        logger->info("perf counters: cycles, instructions and cache misses available");
        deps.perf_backend = std::move(backend);
        deps.perf = std::move(perf).value();
      }
    } else {
      logger->info("perf counters: not used: {}", perf.status().message());
    }
  }
  WATTSON_ASSIGN_OR_RETURN(deps.on_cpu, OnCpuSourceFor(config, fs, real_host, *logger));
  const std::vector<std::string> available = ComputableFeatures(have_perf);
  WATTSON_ASSIGN_OR_RETURN(deps.models, LoadNodeModels(config, available, *logger));

  if (!config.kubelet_url.empty() || !config.pod_list_file.empty()) {
    usage::PodResolverOptions po;
    po.kubelet_url = config.kubelet_url;
    po.token_path = config.kubelet_token_file;
    po.ca_cert_path = config.kubelet_ca_file;
    po.insecure_skip_tls_verify = config.kubelet_insecure_skip_tls_verify;
    po.static_file = config.pod_list_file;
    deps.pods = std::make_unique<usage::PodResolver>(po, clock);
    Status s = deps.pods->MaybeRefresh(/*force=*/true);
    if (s.ok()) {
      logger->info("pods: {} pod(s) from {}", deps.pods->pod_count(),
                   po.kubelet_url.empty() ? po.static_file : po.kubelet_url);
    } else {
      logger->warn("pods: first pod list failed ({}); pod UIDs are used until it works",
                   s.message());
    }
  }

  AgentOptions ao;
  ao.period = config.period;
  ao.max_ticks = config.ticks;
  ao.instance = config.node_name;
  if (ao.instance.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) == 0) ao.instance = host;
    if (ao.instance.empty()) ao.instance = "unknown";
  }
  ao.cpu_architecture = DetectCpuArchitecture(fs, config.cpu_arch);
  ao.attribution.idle_apportioning = config.idle_apportioning;
  ao.error_log_every = config.error_log_every;
  ao.scan.max_open_files = static_cast<std::size_t>(std::max(0LL, config.proc_open_files));
  if (ao.scan.max_open_files > 0) {
    // Kept-open /proc files count against RLIMIT_NOFILE: use what the hard limit allows.
    auto limit = usage::RaiseOpenFileLimit();
    if (!limit.ok()) {
      logger->warn("open file limit: {}", limit.status().message());
    } else if (const std::size_t budget = usage::OpenFileBudget(ao.scan.max_open_files);
               budget < ao.scan.max_open_files) {
      logger->info("open file limit {}: at most {} /proc files kept open", *limit, budget);
    }
  }
  ao.estimate_platform = config.estimate_platform;
  if (auto sc = fs.ReadFile("/proc/stat", 1u << 20); sc.ok()) {
    if (auto node = usage::ParseProcStatCpu(*sc, ao.scan.ticks_per_second); node.ok()) {
      ao.attribution.cpu_count = node->cpu_count;
    }
  }
  WATTSON_ASSIGN_OR_RETURN(built.agent, Agent::Create(std::move(ao), std::move(deps)));
  return built;
}

}  // namespace wattson::agent
