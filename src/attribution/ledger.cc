#include "attribution/ledger.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

namespace wattson::attribution {
namespace {

double Amount(Joules j) {
  const double v = j.value();
  return std::isfinite(v) && v > 0.0 ? v : 0.0;
}

// Internal map keys of the overflow series; a NUL byte cannot occur in a real id.
const std::string kOverflowKey = std::string(1, '\0') + "overflow";
const std::string kSystemContainerKey(kSystemContainerId);

// The pod's map key: its UID (no copy), else namespace/name built in *scratch, else empty.
const std::string& PodKey(const WorkloadKey& k, std::string* scratch) {
  if (!k.pod_uid.empty()) return k.pod_uid;
  scratch->clear();
  if (!k.pod_name.empty()) *scratch = k.pod_namespace + "/" + k.pod_name;
  return *scratch;
}

// Label fields are rewritten every tick with what is nearly always the same text: compare first.
void SetLabel(std::string& field, const std::string& value) {
  if (field != value) field = value;
}
void SetLabel(std::string& field, std::string_view value) {
  if (field != value) field.assign(value);
}

void SetLabels(WorkloadKey& dst, const WorkloadKey& src) {
  dst.pid = src.pid;
  dst.start_time = src.start_time;
  SetLabel(dst.container_id, src.container_id);
  SetLabel(dst.container_name, src.container_name);
  SetLabel(dst.pod_uid, src.pod_uid);
  SetLabel(dst.pod_name, src.pod_name);
  SetLabel(dst.pod_namespace, src.pod_namespace);
  SetLabel(dst.vm_id, src.vm_id);
  SetLabel(dst.command, src.command);
}

template <typename Map>
std::size_t RealSize(const Map& m) {
  return m.size() - static_cast<std::size_t>(m.count(kOverflowKey));
}

template <typename Map, typename Pred>
void EraseIf(Map& m, Pred pred) {
  for (auto it = m.begin(); it != m.end();) {
    if (pred(it->second)) {
      it = m.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace

Joules SeriesEnergy::TotalDynamic() const {
  double sum = 0.0;
  for (const ZoneJoules& z : energy) {
    if (IsTotalZone(z.zone)) sum += z.dynamic.value();
  }
  return Joules(sum);
}

Joules SeriesEnergy::TotalIdle() const {
  double sum = 0.0;
  for (const ZoneJoules& z : energy) {
    if (IsTotalZone(z.zone)) sum += z.idle.value();
  }
  return Joules(sum);
}

EnergyLedger::EnergyLedger(LedgerOptions options) : options_(std::move(options)) {}

std::size_t EnergyLedger::ZoneIndex(const std::string& zone) {
  auto it = zone_index_.find(zone);
  if (it != zone_index_.end()) return it->second;
  zone_names_.push_back(zone);
  zone_index_.emplace(zone, zone_names_.size() - 1);
  return zone_names_.size() - 1;
}

void EnergyLedger::Touch(Entry& e) const {
  if (e.tick != ticks_) {
    e.tick = ticks_;
    e.tick_total = 0.0;
    e.tick_dynamic = 0.0;
  }
  e.last_seen = time_;
  if (e.dynamic.size() < zone_names_.size()) {
    e.dynamic.resize(zone_names_.size(), 0.0);
    e.idle.resize(zone_names_.size(), 0.0);
  }
}

void EnergyLedger::KeepAlive(const WorkloadKey& key, std::string* scratch) {
  // What a zero-energy row does: touch what exists, create nothing.
  if (auto it = processes_.find(std::make_pair(key.pid, key.start_time)); it != processes_.end()) {
    Touch(it->second.e);
  }
  auto touch = [&](auto& map, const std::string& k) {
    if (k.empty()) return;
    if (auto it = map.find(k); it != map.end()) Touch(it->second.e);
  };
  touch(containers_, key.container_id.empty() ? kSystemContainerKey : key.container_id);
  touch(pods_, PodKey(key, scratch));
  touch(vms_, key.vm_id);
}

void EnergyLedger::Apply(const TickResult& r, std::span<const WorkloadKey* const> idle) {
  std::lock_guard lock(mu_);
  const double dt = std::isfinite(r.dt.value()) && r.dt.value() > 0.0 ? r.dt.value() : 0.0;
  ++ticks_;
  time_ += dt;
  last_dt_ = dt;

  const std::size_t nz = r.zones.size();
  std::vector<std::size_t> zi(nz);
  std::vector<char> total_zone(nz);
  for (std::size_t z = 0; z < nz; ++z) {
    zi[z] = ZoneIndex(r.zones[z].id.zone);
    total_zone[z] = IsTotalZone(r.zones[z].id.zone) ? 1 : 0;
  }

  // Node.
  for (NodeZoneSeries& n : node_) {
    n.present = false;
    n.dynamic_power = Watts(0.0);
    n.idle_power = Watts(0.0);
  }
  for (const ZoneSplit& s : r.zones) {
    auto it = std::lower_bound(node_.begin(), node_.end(), s.id,
                               [](const NodeZoneSeries& n, const ZoneId& id) { return n.id < id; });
    if (it == node_.end() || it->id != s.id) {
      NodeZoneSeries fresh;
      fresh.id = s.id;
      it = node_.insert(it, std::move(fresh));
    }
    NodeZoneSeries& n = *it;
    n.origin = s.origin;
    n.model_id = s.model_id;
    n.source = s.source;
    n.dynamic += Joules(Amount(s.dynamic));
    n.idle += Joules(Amount(s.idle));
    n.unattributed_dynamic += Joules(Amount(s.unattributed_dynamic));
    n.unapportioned_idle += Joules(Amount(s.unapportioned_idle));
    if (dt > 0.0) {
      n.dynamic_power = Watts(Amount(s.dynamic) / dt);
      n.idle_power = Watts(Amount(s.idle) / dt);
    }
    n.idle_method = s.idle_method;
    n.idle_provisional = s.idle_provisional;
    n.metric = s.metric;
    n.present = true;
  }

  // Workloads.
  const bool dims_ok =
      r.dynamic.size() == r.workloads.size() * nz && r.idle.size() == r.dynamic.size();
  std::vector<Entry*> targets;
  targets.reserve(4);
  std::string pod_key_scratch;
  for (std::size_t w = 0; dims_ok && w < r.workloads.size(); ++w) {
    const WorkloadKey& key = r.workloads[w];
    double energy = 0.0;
    for (std::size_t z = 0; z < nz; ++z) {
      energy += Amount(r.dynamic[w * nz + z]) + Amount(r.idle[w * nz + z]);
    }
    const bool may_create = !(options_.skip_zero_energy && energy == 0.0);
    targets.clear();

    // Process.
    const auto pkey = std::make_pair(key.pid, key.start_time);
    auto pit = processes_.find(pkey);
    if (pit != processes_.end()) {
      SetLabels(pit->second.key, key);
      targets.push_back(&pit->second.e);
    } else if (may_create) {
      const auto okey = std::make_pair(kOverflowPid, std::uint64_t{0});
      const std::size_t real = processes_.size() - processes_.count(okey);
      if (real < options_.max_processes) {
        ProcEntry& p = processes_[pkey];
        p.key = key;
        targets.push_back(&p.e);
      } else {
        ProcEntry& p = processes_[okey];
        p.key = WorkloadKey{};
        p.key.pid = kOverflowPid;
        p.key.command = std::string(kOverflowName);
        targets.push_back(&p.e);
        ++overflow_[0];
      }
    }

    // Container, pod, VM: find, or create within the bound, else fold into overflow.
    auto place = [&](auto& map, const std::string& k, std::size_t max, std::uint64_t* overflow,
                     auto set_labels, auto set_overflow_labels) {
      auto it = map.find(k);
      if (it != map.end()) {
        set_labels(it->second.labels);
        targets.push_back(&it->second.e);
        return;
      }
      if (!may_create) return;
      if (RealSize(map) < max) {
        auto& entry = map[k];
        set_labels(entry.labels);
        targets.push_back(&entry.e);
      } else {
        auto& entry = map[kOverflowKey];
        set_overflow_labels(entry.labels);
        entry.labels.overflow = true;
        targets.push_back(&entry.e);
        ++*overflow;
      }
    };
    const bool host = key.container_id.empty();
    place(
        containers_, host ? kSystemContainerKey : key.container_id, options_.max_containers,
        &overflow_[1],
        [&](ContainerSeries& c) {
          if (host) {
            SetLabel(c.container_id, kSystemContainerId);
            SetLabel(c.container_name, kSystemContainerId);
            SetLabel(c.pod_name, kSystemContainerId);
            SetLabel(c.pod_namespace, kSystemNamespace);
            return;
          }
          SetLabel(c.container_id, key.container_id);
          if (!key.container_name.empty()) SetLabel(c.container_name, key.container_name);
          if (!key.pod_uid.empty()) SetLabel(c.pod_uid, key.pod_uid);
          if (!key.pod_name.empty()) SetLabel(c.pod_name, key.pod_name);
          if (!key.pod_namespace.empty()) SetLabel(c.pod_namespace, key.pod_namespace);
        },
        [](ContainerSeries& c) {
          c.container_id = c.container_name = c.pod_name = std::string(kOverflowName);
          c.pod_namespace = std::string(kOverflowName);
        });
    const std::string& pod_key = PodKey(key, &pod_key_scratch);
    if (!pod_key.empty()) {
      place(
          pods_, pod_key, options_.max_pods, &overflow_[2],
          [&](PodSeries& p) {
            if (!key.pod_uid.empty()) SetLabel(p.pod_uid, key.pod_uid);
            if (!key.pod_name.empty()) SetLabel(p.pod_name, key.pod_name);
            if (!key.pod_namespace.empty()) SetLabel(p.pod_namespace, key.pod_namespace);
          },
          [](PodSeries& p) { p.pod_name = p.pod_namespace = std::string(kOverflowName); });
    }
    if (!key.vm_id.empty()) {
      place(
          vms_, key.vm_id, options_.max_vms, &overflow_[3],
          [&](VmSeries& v) { SetLabel(v.vm_id, key.vm_id); },
          [](VmSeries& v) { v.vm_id = std::string(kOverflowName); });
    }

    for (Entry* e : targets) {
      Touch(*e);
      for (std::size_t z = 0; z < nz; ++z) {
        const double d = Amount(r.dynamic[w * nz + z]);
        const double i = Amount(r.idle[w * nz + z]);
        e->dynamic[zi[z]] += d;
        e->idle[zi[z]] += i;
        if (total_zone[z]) {
          e->tick_total += d + i;
          e->tick_dynamic += d;
        }
      }
    }
  }

  for (const WorkloadKey* k : idle) {
    if (k != nullptr) KeepAlive(*k, &pod_key_scratch);
  }

  // Retention: ended workloads keep their counters for `retention`, then go.
  const double retention = options_.retention.value();
  auto expired = [&](const Entry& e) { return time_ - e.last_seen > retention; };
  EraseIf(processes_, [&](const ProcEntry& p) { return expired(p.e); });
  EraseIf(containers_, [&](const auto& c) { return expired(c.e); });
  EraseIf(pods_, [&](const auto& p) { return expired(p.e); });
  EraseIf(vms_, [&](const auto& v) { return expired(v.e); });
}

std::vector<std::size_t> EnergyLedger::ZoneOrder() const {
  std::vector<std::size_t> order(zone_names_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return zone_names_[a] < zone_names_[b]; });
  return order;
}

void EnergyLedger::FillSeries(const Entry& e, const std::vector<std::size_t>& order,
                              SeriesEnergy* out) const {
  out->energy.clear();
  out->energy.reserve(order.size());
  for (std::size_t idx : order) {
    ZoneJoules zj;
    zj.zone = zone_names_[idx];
    if (idx < e.dynamic.size()) {
      zj.dynamic = Joules(e.dynamic[idx]);
      zj.idle = Joules(e.idle[idx]);
    }
    out->energy.push_back(std::move(zj));
  }
  out->active = e.tick == ticks_;
  if (out->active && last_dt_ > 0.0) {
    out->power = Watts(e.tick_total / last_dt_);
    out->dynamic_power = Watts(e.tick_dynamic / last_dt_);
  }
}

std::shared_ptr<const LedgerSnapshot> EnergyLedger::Build() const {
  auto snap = std::make_shared<LedgerSnapshot>();
  snap->ticks = ticks_;
  snap->elapsed = Seconds(time_);
  snap->last_dt = Seconds(last_dt_);
  snap->node = node_;
  snap->overflow_processes = overflow_[0];
  snap->overflow_containers = overflow_[1];
  snap->overflow_pods = overflow_[2];
  snap->overflow_vms = overflow_[3];

  const std::vector<std::size_t> order = ZoneOrder();
  snap->processes.reserve(processes_.size());
  for (const auto& [k, p] : processes_) {
    ProcessSeries s;
    s.key = p.key;
    s.overflow = p.key.pid == kOverflowPid;
    FillSeries(p.e, order, &s);
    snap->processes.push_back(std::move(s));
  }
  std::sort(snap->processes.begin(), snap->processes.end(),
            [](const ProcessSeries& a, const ProcessSeries& b) {
              return std::tie(a.key.pid, a.key.start_time) < std::tie(b.key.pid, b.key.start_time);
            });
  auto copy_level = [&](const auto& map, auto& out) {
    out.reserve(map.size());
    for (const auto& [k, c] : map) {
      auto s = c.labels;
      FillSeries(c.e, order, &s);
      out.push_back(std::move(s));
    }
  };
  copy_level(containers_, snap->containers);
  std::sort(snap->containers.begin(), snap->containers.end(),
            [](const ContainerSeries& a, const ContainerSeries& b) {
              return std::tie(a.overflow, a.container_id) < std::tie(b.overflow, b.container_id);
            });
  copy_level(pods_, snap->pods);
  std::sort(snap->pods.begin(), snap->pods.end(), [](const PodSeries& a, const PodSeries& b) {
    return std::tie(a.overflow, a.pod_namespace, a.pod_name, a.pod_uid) <
           std::tie(b.overflow, b.pod_namespace, b.pod_name, b.pod_uid);
  });
  copy_level(vms_, snap->vms);
  std::sort(snap->vms.begin(), snap->vms.end(), [](const VmSeries& a, const VmSeries& b) {
    return std::tie(a.overflow, a.vm_id) < std::tie(b.overflow, b.vm_id);
  });
  return snap;
}

std::vector<NodeZoneSeries> EnergyLedger::NodeZones() const {
  std::lock_guard lock(mu_);
  return node_;
}

std::shared_ptr<const LedgerSnapshot> EnergyLedger::Snapshot() const {
  std::lock_guard lock(mu_);
  if (!cached_ || cached_ticks_ != ticks_) {
    cached_ = Build();
    cached_ticks_ = ticks_;
  }
  return cached_;
}

}  // namespace wattson::attribution
