#include "export/snapshot_json.h"

#include <algorithm>
#include <string>

namespace wattson::exporter {

using attribution::IdleMethodName;
using attribution::IsTotalZone;
using attribution::NodeZoneSeries;
using attribution::SeriesEnergy;
using attribution::UsageMetricName;
using attribution::ZoneOriginName;

namespace {

// Power by zone name of one series' last tick is not kept per zone; energy is. The top tables
// show last-tick power (total and dynamic) and cumulative energy over the total zones.
Json SeriesFields(const SeriesEnergy& s) {
  Json j = Json::object();
  j["watts"] = s.power.value();
  j["dynamic_watts"] = s.dynamic_power.value();
  j["idle_watts"] = s.power.value() - s.dynamic_power.value();
  j["dynamic_joules"] = s.TotalDynamic().value();
  j["idle_joules"] = s.TotalIdle().value();
  j["active"] = s.active;
  if (s.overflow) j["overflow"] = true;
  return j;
}

// Indices of the top n series by last-tick power (active ones only), highest first.
template <typename T>
std::vector<const T*> Top(const std::vector<T>& series, std::size_t n) {
  std::vector<const T*> out;
  for (const T& s : series) {
    if (s.active) out.push_back(&s);
  }
  const std::size_t k = std::min(n, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(),
                    [](const T* a, const T* b) { return a->power > b->power; });
  out.resize(k);
  return out;
}

}  // namespace

Json BuildSnapshotJson(const ExportView& view, const std::vector<HistoryPoint>& history,
                       Seconds history_window, const SnapshotJsonOptions& options) {
  const attribution::LedgerSnapshot& ledger = *view.ledger;
  const AgentStatus& status = *view.status;
  Json j = Json::object();
  j["ticks"] = ledger.ticks;
  j["tick_interval_seconds"] = ledger.last_dt.value();
  j["tick_duration_seconds"] = status.last_tick_duration.value();
  j["instance"] = status.node.instance;

  Json node = Json::object();
  Json zones = Json::array();
  double total = 0.0, dynamic = 0.0, idle = 0.0;
  bool any_estimated = false;
  for (const NodeZoneSeries& z : ledger.node) {
    Json e = Json::object();
    e["zone"] = z.id.zone;
    e["key"] = z.id.key;
    e["origin"] = std::string(ZoneOriginName(z.origin));
    e["model_id"] = z.model_id;
    e["source"] = z.source;
    e["dynamic_watts"] = z.dynamic_power.value();
    e["idle_watts"] = z.idle_power.value();
    e["watts"] = z.dynamic_power.value() + z.idle_power.value();
    e["dynamic_joules"] = z.dynamic.value();
    e["idle_joules"] = z.idle.value();
    e["unattributed_joules"] = z.unattributed_dynamic.value();
    e["idle_method"] = std::string(IdleMethodName(z.idle_method));
    e["idle_provisional"] = z.idle_provisional;
    e["split_metric"] = std::string(UsageMetricName(z.metric));
    e["in_total"] = IsTotalZone(z.id.zone);
    e["present"] = z.present;
    zones.push_back(std::move(e));
    if (z.present && IsTotalZone(z.id.zone)) {
      total += z.dynamic_power.value() + z.idle_power.value();
      dynamic += z.dynamic_power.value();
      idle += z.idle_power.value();
      any_estimated = any_estimated || z.origin == attribution::ZoneOrigin::kEstimated;
    }
  }
  node["watts"] = total;
  node["dynamic_watts"] = dynamic;
  node["idle_watts"] = idle;
  node["origin"] = any_estimated ? "estimated" : "measured";
  node["zones"] = std::move(zones);
  j["node"] = std::move(node);

  Json models = Json::array();
  for (const ModelProvenance& m : status.models) {
    Json e = Json::object();
    e["id"] = m.id;
    e["name"] = m.name;
    e["trainer"] = m.trainer;
    e["feature_group"] = m.feature_group;
    e["energy_source"] = m.energy_source;
    e["output_type"] = m.output_type;
    e["training_platform"] = m.training_platform;
    e["errors"] = Json(m.errors);
    e["input_out_of_range"] = m.input_out_of_range;
    models.push_back(std::move(e));
  }
  j["models"] = std::move(models);

  Json top = Json::object();
  Json pods = Json::array();
  for (const auto* p : Top(ledger.pods, options.top_n)) {
    Json e = SeriesFields(*p);
    e["name"] = p->pod_name;
    e["namespace"] = p->pod_namespace;
    e["uid"] = p->pod_uid;
    pods.push_back(std::move(e));
  }
  top["pods"] = std::move(pods);
  Json containers = Json::array();
  for (const auto* c : Top(ledger.containers, options.top_n)) {
    Json e = SeriesFields(*c);
    e["id"] = c->container_id;
    e["name"] = c->container_name;
    e["pod"] = c->pod_name;
    e["namespace"] = c->pod_namespace;
    containers.push_back(std::move(e));
  }
  top["containers"] = std::move(containers);
  Json processes = Json::array();
  if (options.include_processes) {
    for (const auto* p : Top(ledger.processes, options.top_n)) {
      Json e = SeriesFields(*p);
      e["pid"] = p->key.pid;
      e["command"] = p->key.command;
      e["container_id"] = p->key.container_id;
      e["pod"] = p->key.pod_name;
      e["vm_id"] = p->key.vm_id;
      processes.push_back(std::move(e));
    }
  }
  top["processes"] = std::move(processes);
  Json vms = Json::array();
  for (const auto* v : Top(ledger.vms, options.top_n)) {
    Json e = SeriesFields(*v);
    e["id"] = v->vm_id;
    vms.push_back(std::move(e));
  }
  top["vms"] = std::move(vms);
  j["top"] = std::move(top);

  Json points = Json::array();
  for (const HistoryPoint& p : history) {
    Json e = Json::object();
    e["t"] = p.unix_ms;
    e["watts"] = p.total_watts;
    e["zones"] = Json(p.zones);
    points.push_back(std::move(e));
  }
  Json hist = Json::object();
  hist["window_seconds"] = history_window.value();
  hist["points"] = std::move(points);
  j["history"] = std::move(hist);

  Json errors = Json::object();
  for (const auto& [source, count] : status.source_errors) errors[source] = count;
  j["source_errors"] = std::move(errors);
  return j;
}

}  // namespace wattson::exporter
