#include "agent/agent.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "fmt/format.h"

namespace wattson::agent {

namespace {

constexpr std::string_view kComponentZones[] = {"package", "core", "uncore", "dram"};

bool IsComponentZone(std::string_view zone) {
  return std::find(std::begin(kComponentZones), std::end(kComponentZones), zone) !=
         std::end(kComponentZones);
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

}  // namespace

std::string DetectCpuArchitecture(const HostFs& fs, const std::string& override_value) {
  if (!override_value.empty()) return override_value;
  auto pmu = fs.ReadFile("/sys/devices/cpu/caps/pmu_name", 4096);
  if (pmu.ok()) {
    std::string v = Trimmed(*pmu);
    if (!v.empty()) return v;
  }
  return "unknown";
}

Agent::Agent(AgentOptions options, AgentDeps deps)
    : options_(std::move(options)),
      deps_(std::move(deps)),
      attributor_(options_.attribution),
      ledger_(std::make_shared<attribution::EnergyLedger>(options_.ledger)),
      tracker_(options_.tracker),
      scanner_(*deps_.fs, *deps_.clock, options_.scan, deps_.on_cpu.get()) {
  if (!deps_.logger) deps_.logger = MakeNullLogger();
  for (auto& m : deps_.meters) meters_.push_back(Meter{std::move(m), {}, {}});
  deps_.meters.clear();
}

Agent::~Agent() = default;

Result<std::unique_ptr<Agent>> Agent::Create(AgentOptions options, AgentDeps deps) {
  if (deps.fs == nullptr || deps.clock == nullptr || deps.state == nullptr) {
    return Status::InvalidArgument("Agent needs a HostFs, a Clock and an ExportState");
  }
  if (!(options.period.value() > 0) || !std::isfinite(options.period.value())) {
    return Status::InvalidArgument("the tick period must be a positive number of seconds");
  }
  for (std::size_t i = 0; i < deps.models.size(); ++i) {
    if (deps.models[i] == nullptr) return Status::InvalidArgument("null node model");
    for (std::size_t j = 0; j < i; ++j) {
      if (deps.models[j]->target() == deps.models[i]->target()) {
        return Status::InvalidArgument(
            fmt::format("two models for {}", NodeTargetName(deps.models[i]->target())));
      }
    }
  }
  if (options.error_log_every < 1) options.error_log_every = 1;
  auto agent = std::unique_ptr<Agent>(new Agent(std::move(options), std::move(deps)));
  // One read per meter to learn its zones (the counters are cumulative, so this read costs
  // nothing: the first Tick() takes the baseline).
  for (auto& m : agent->meters_) {
    auto r = m.source->Read();
    if (!r.ok()) {
      agent->deps_.logger->warn("meter {}: first read failed ({}); its zones count once it reads",
                                m.source->name(), r.status().message());
      continue;
    }
    for (const auto& z : r->zones) m.zones.insert(z.zone);
  }
  agent->ComputeCoverage();
  return agent;
}

void Agent::ComputeCoverage() {
  coverage_.clear();
  for (const auto& m : meters_) {
    for (const auto& z : m.zones) {
      if (coverage_.count(z) == 0) coverage_[z] = m.source->name();
    }
  }
  auto& log = *deps_.logger;
  for (NodeTarget t : {NodeTarget::kComponents, NodeTarget::kPlatform}) {
    const bool measured =
        t == NodeTarget::kComponents
            ? std::any_of(coverage_.begin(), coverage_.end(),
                          [](const auto& kv) { return IsComponentZone(kv.first); })
            : coverage_.count("platform") != 0;
    NodeModel* model = ModelFor(t);
    const char* zones = t == NodeTarget::kComponents ? "package/core/uncore/dram" : "platform";
    if (measured) {
      if (model != nullptr) {
        log.info("{} ({}): measured; the model is not used", NodeTargetName(t), zones);
      }
      continue;
    }
    if (t == NodeTarget::kPlatform && !options_.estimate_platform) {
      log.info("{} (platform): no meter, and platform estimation is off", NodeTargetName(t));
      continue;
    }
    if (model == nullptr) {
      log.warn("{} ({}): no meter and no model: these zones are not reported", NodeTargetName(t),
               zones);
      continue;
    }
    log.info("{} ({}): no meter; estimated by {}", NodeTargetName(t), zones, model->Describe());
    if (t == NodeTarget::kComponents) {
      std::vector<std::string> zs;
      if (const auto* local = dynamic_cast<const LocalNodeModel*>(model)) {
        for (Component c : local->components()) zs.emplace_back(ComponentName(c));
      } else {
        zs.assign(std::begin(kComponentZones), std::end(kComponentZones));  // the sidecar's
      }
      for (const auto& z : zs) coverage_[z] = "model " + model->provenance().id;
    } else {
      coverage_["platform"] = "model " + model->provenance().id;
    }
  }
  for (const auto& [zone, by] : coverage_) log.info("zone {}: {}", zone, by);
}

NodeModel* Agent::ModelFor(NodeTarget t) const {
  for (const auto& m : deps_.models) {
    if (m->target() == t) return m.get();
  }
  return nullptr;
}

bool Agent::TargetMeasured(NodeTarget t) const {
  if (t == NodeTarget::kPlatform) return ZoneMeasured("platform");
  return std::any_of(std::begin(kComponentZones), std::end(kComponentZones),
                     [&](std::string_view z) { return ZoneMeasured(z); });
}

bool Agent::ZoneMeasured(std::string_view zone) const {
  for (const auto& m : meters_) {
    if (m.zones.count(std::string(zone)) != 0) return true;
  }
  return false;
}

void Agent::Error(const std::string& source, const std::string& message, TickReport* report,
                  std::uint64_t count) {
  source_errors_[source] += count;
  report->errors.push_back(source + ": " + message);
  auto it = last_logged_.find(source);
  const long long tick = static_cast<long long>(ticks_);
  if (it == last_logged_.end() || tick - it->second >= options_.error_log_every) {
    const std::uint64_t more = suppressed_[source];
    if (more > 0) {
      deps_.logger->warn("{}: {} ({} similar errors in the last {} ticks not logged)", source,
                         message, more, options_.error_log_every);
    } else {
      deps_.logger->warn("{}: {}", source, message);
    }
    last_logged_[source] = tick;
    suppressed_[source] = 0;
  } else {
    ++suppressed_[source];
  }
}

void Agent::ReadMeters(bool baseline, std::vector<attribution::ZoneEnergy>* zones,
                       TickReport* report) {
  // A zone name is taken from the first meter (probe order) that reports it, so two meters of
  // the same zone never count it twice.
  std::set<std::string> taken;
  bool coverage_changed = false;
  for (auto& m : meters_) {
    auto r = m.source->Read();
    if (!r.ok()) {
      Error(m.source->name(), r.status().message(), report);
      for (const auto& z : m.zones) taken.insert(z);  // its zones stay its own
      continue;
    }
    std::set<std::string> mine;
    for (const auto& z : r->zones) {
      if (taken.count(z.zone) != 0) continue;
      mine.insert(z.zone);
      if (m.zones.insert(z.zone).second) coverage_changed = true;
      const auto key = std::make_pair(z.zone, z.key);
      const double now = z.energy.value();
      auto it = m.last.find(key);
      if (it == m.last.end() || !std::isfinite(now)) {
        if (std::isfinite(now)) m.last[key] = now;
        continue;  // first sight of this counter: its baseline
      }
      const double delta = std::max(0.0, now - it->second);
      it->second = std::max(it->second, now);
      if (baseline) continue;
      attribution::ZoneEnergy e;
      e.id = {z.zone, z.key};
      e.energy = Joules(delta);
      e.origin = attribution::ZoneOrigin::kMeasured;
      e.source = m.source->name();
      zones->push_back(std::move(e));
    }
    taken.insert(mine.begin(), mine.end());
  }
  if (coverage_changed) ComputeCoverage();
}

void Agent::Estimate(const FeatureValues& features, Seconds dt,
                     std::vector<attribution::ZoneEnergy>* zones, TickReport* report) {
  for (auto& model : deps_.models) {
    const NodeTarget t = model->target();
    if (t == NodeTarget::kPlatform && !options_.estimate_platform) continue;
    const bool measured = TargetMeasured(t);
    if (measured) continue;
    const std::string& id = model->provenance().id;
    auto est = model->Estimate(features);
    if (!est.ok()) {
      Error("model:" + std::string(NodeTargetName(t)), est.status().message(), report);
      continue;
    }
    const bool was = out_of_range_[id];
    out_of_range_[id] = est->input_out_of_range;
    if (est->input_out_of_range && !was) {
      std::string what;
      for (const auto& s : est->out_of_range) what += (what.empty() ? "" : ", ") + s;
      deps_.logger->info("model {}: input outside its training range ({}); flagged in /metrics", id,
                         what);
    }
    for (const auto& c : est->components) {
      if (!std::isfinite(c.power.value()) || c.power.value() < 0) continue;
      attribution::ZoneEnergy e;
      e.id = {c.zone, "0"};
      e.energy = c.power * dt;
      e.origin = attribution::ZoneOrigin::kEstimated;
      e.model_id = id;
      e.source = "trained_power_model";
      if (std::isfinite(c.idle.value()) && c.idle.value() >= 0) e.model_idle = c.idle;
      zones->push_back(std::move(e));
    }
  }
}

const Agent::Identity& Agent::IdentityOf(const usage::ProcessUsage& p) {
  auto it = identities_.find(p.key);
  // Known, and neither exec (comm) nor a cgroup move (the scanner rereads the cgroup now and
  // then) changed it: as before.
  if (it != identities_.end() && it->second.key.command == p.comm &&
      it->second.cgroup_path == p.cgroup_path) {
    return it->second;
  }
  Identity ident;
  ident.id = usage::IdentifyProcess(p.kernel_thread, p.cgroup_path);
  ident.cgroup_path = p.cgroup_path;
  attribution::WorkloadKey& k = ident.key;
  k.pid = p.key.pid;
  k.start_time = p.key.start_time_ticks;
  k.command = p.comm;
  switch (ident.id.kind) {
    case usage::WorkloadKind::kKernel:
      k.container_id = "kernel_processes";
      k.container_name = "kernel_processes";
      break;
    case usage::WorkloadKind::kContainer:
      k.container_id = ident.id.container_id;
      break;
    case usage::WorkloadKind::kPodSandbox:
      break;
    case usage::WorkloadKind::kVm:
      k.vm_id = ident.id.vm_id;
      break;
    case usage::WorkloadKind::kSystemProcess:
      break;
  }
  k.pod_uid = ident.id.pod_uid;
  k.pod_name = ident.id.pod_uid;  // fallback: the UID (resolved per tick when a resolver exists)
  return identities_.insert_or_assign(p.key, std::move(ident)).first->second;
}

TickReport Agent::Tick() {
  TickReport report;
  const Clock::MonoTime started = deps_.clock->Now();
  ++ticks_;
  auto scan = scanner_.Scan();
  if (!scan.ok()) {
    Error("procfs", scan.status().message(), &report);
    unhealthy_ = "cannot scan /proc: " + scan.status().message();
    Publish(SecondsBetween(started, deps_.clock->Now()));
    return report;
  }
  if (scan->read_errors > 0) {
    std::string first = scan->errors.empty() ? "" : ": " + scan->errors.front();
    Error("procfs", fmt::format("{} unreadable process file(s){}", scan->read_errors, first),
          &report, static_cast<std::uint64_t>(scan->read_errors));
  }
  const std::optional<usage::NodeCpuTimes> prev_node = previous_node_;
  usage::UsageTick usage = tracker_.Update(std::move(*scan));
  for (const auto& e : usage.ended) identities_.erase(e.key);
  report.processes = usage.processes.size();
  const bool baseline = !have_baseline_ || usage.baseline;

  std::optional<usage::PerfTick> perf;
  if (deps_.perf) perf = deps_.perf->Sample();

  std::vector<attribution::ZoneEnergy> zones;
  ReadMeters(baseline, &zones, &report);
  have_baseline_ = true;
  const std::optional<usage::NodeCpuTimes> cur_node = scan->node;
  previous_node_ = cur_node;

  if (deps_.pods) {
    Status s = deps_.pods->MaybeRefresh();
    if (!s.ok()) Error("pods", s.message(), &report);
  }

  const Seconds dt = usage.interval;
  if (baseline || !(dt.value() > 0)) {
    report.baseline = baseline;
    if (!baseline) Error("clock", "no time passed since the previous tick", &report);
    unhealthy_.clear();
    Publish(SecondsBetween(started, deps_.clock->Now()));
    return report;
  }

  const FeatureValues features =
      ComputeNodeFeatures(prev_node, cur_node, dt, usage.process_cpu_time, perf ? &*perf : nullptr);
  Estimate(features, dt, &zones, &report);

  attribution::TickInput input;
  input.dt = dt;
  input.zones = std::move(zones);
  if (usage.node && usage.node->Total().value() > 0) {
    input.node_cpu_utilization =
        std::clamp(usage.node->busy.value() / usage.node->Total().value(), 0.0, 1.0);
  }
  input.workloads.reserve(usage.processes.size());
  std::unordered_map<std::string, usage::ResolvedWorkload> resolved;  // this tick, by container
  // Processes that used no CPU get no energy in any zone (the split is by CPU time; idle goes by
  // CPU share or to active containers only): they skip attribution and only keep their series
  // alive in the ledger.
  std::vector<const attribution::WorkloadKey*> idle;
  for (const auto& p : usage.processes) {
    const Identity& ident = IdentityOf(p);
    if (!(p.cpu_time_delta.value() > 0)) {
      idle.push_back(&ident.key);
      continue;
    }
    attribution::WorkloadUsage w;
    w.key = ident.key;
    if (deps_.pods && !ident.id.pod_uid.empty()) {
      const std::string memo = ident.id.pod_uid + "/" + ident.id.container_id;
      auto it = resolved.find(memo);
      if (it == resolved.end()) it = resolved.emplace(memo, deps_.pods->Resolve(ident.id)).first;
      w.key.pod_name = it->second.pod_name;
      w.key.pod_namespace = it->second.pod_namespace;
      if (!it->second.container_name.empty()) w.key.container_name = it->second.container_name;
    }
    w.cpu_time = p.cpu_time_delta;
    input.workloads.push_back(std::move(w));
  }
  if (input.zones.empty()) {
    unhealthy_ = "no power zone this tick: no working meter and no usable model";
  } else {
    unhealthy_.clear();
  }
  auto result = attributor_.Tick(std::move(input));
  if (!result.ok()) {
    Error("attribution", result.status().message(), &report);
  } else {
    for (const auto& w : result->warnings) deps_.logger->debug("attribution: {}", w);
    ledger_->Apply(*result, idle);
    report.attributed = true;
    report.result = std::move(result).value();
  }
  Publish(SecondsBetween(started, deps_.clock->Now()));
  return report;
}

void Agent::Publish(Seconds tick_duration) {
  exporter::AgentStatus status;
  status.node.instance = options_.instance;
  status.node.cpu_architecture = options_.cpu_architecture;
  auto source_of = [&](bool components) -> std::string {
    for (const auto& [zone, by] : coverage_) {
      if (components ? IsComponentZone(zone) : zone == "platform") {
        return by.rfind("model ", 0) == 0 ? "trained_power_model" : by;
      }
    }
    return "none";
  };
  status.node.components_power_source = source_of(true);
  status.node.platform_power_source = source_of(false);
  for (const auto& m : deps_.models) {
    const NodeTarget t = m->target();
    const bool used =
        !TargetMeasured(t) && (t == NodeTarget::kComponents || options_.estimate_platform);
    if (!used) continue;
    exporter::ModelProvenance p = m->provenance();
    p.input_out_of_range = out_of_range_[p.id];
    status.models.push_back(std::move(p));
  }
  status.source_errors = source_errors_;
  status.ticks_total = ticks_;
  status.last_tick_duration = tick_duration;
  status.unhealthy_reason = unhealthy_;
  status.cpu_time_source = deps_.on_cpu != nullptr ? std::string(deps_.on_cpu->name()) : "procfs";
  deps_.state->Publish(std::shared_ptr<const attribution::EnergyLedger>(ledger_),
                       std::move(status));
}

void Agent::Run() {
  using std::chrono::steady_clock;
  const auto period = std::chrono::duration_cast<steady_clock::duration>(
      std::chrono::duration<double>(options_.period.value()));
  auto next = steady_clock::now();
  for (long long n = 1;; ++n) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    Tick();
    if (options_.max_ticks > 0 && n >= options_.max_ticks) return;
    next += period;
    const auto now = steady_clock::now();
    if (next < now) {
      // A tick ran longer than the period: keep the schedule's phase, skip the missed slots.
      const auto behind = (now - next) / period + 1;
      next += behind * period;
      deps_.logger->debug("tick schedule: {} slot(s) skipped", behind);
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_until(lock, next, [this] { return stop_; })) return;
  }
}

void Agent::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

}  // namespace wattson::agent
