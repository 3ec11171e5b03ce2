#include "export/prometheus.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>

#include "fmt/format.h"

namespace wattson::exporter {

using attribution::ContainerSeries;
using attribution::IdleMethodName;
using attribution::LedgerSnapshot;
using attribution::NodeZoneSeries;
using attribution::PodSeries;
using attribution::ProcessSeries;
using attribution::SeriesEnergy;
using attribution::UsageMetricName;
using attribution::VmSeries;
using attribution::ZoneJoules;
using attribution::ZoneOriginName;

namespace {

constexpr std::string_view kKeplerZones[] = {"core",    "dram",     "gpu",   "other",
                                             "package", "platform", "uncore"};

std::string EscapeHelp(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

const ZoneJoules* FindZone(const SeriesEnergy& s, std::string_view zone) {
  for (const ZoneJoules& z : s.energy) {
    if (z.zone == zone) return &z;
  }
  return nullptr;
}

// The `source` const label of a zone: the meter or model that produced it on this node.
std::string ZoneSource(const LedgerSnapshot& ledger, const AgentStatus& status,
                       std::string_view zone) {
  for (const NodeZoneSeries& n : ledger.node) {
    if (n.id.zone == zone && !n.source.empty()) return n.source;
  }
  const std::string& fallback = (zone == "platform" || zone == "other")
                                    ? status.node.platform_power_source
                                    : status.node.components_power_source;
  return fallback.empty() ? std::string("unknown") : fallback;
}

std::string ModeLabel(bool idle) { return idle ? "idle" : "dynamic"; }

// Per-zone and total Kepler series of one workload level.
struct LevelWriter {
  ExpositionBuilder& b;
  const ExpositionOptions& opt;
  const std::vector<std::string>& zones;    // Kepler zones to emit
  const std::vector<std::string>& sources;  // parallel to zones
  std::string prefix;                       // "kepler_container"
  std::string what;                         // "container"

  void Declare(bool with_total) const {
    if (opt.component_metrics) {
      for (const std::string& z : zones) {
        b.Family(prefix + "_" + z + "_joules_total",
                 fmt::format("Aggregated {} energy of each {} in joules, by mode (dynamic, idle)",
                             z, what),
                 "counter");
      }
    }
    if (!with_total) return;  // Kepler v0.7 has no kepler_vm_joules_total
    b.Family(prefix + "_joules_total",
             fmt::format("Aggregated energy of each {} in joules (package + dram + gpu + other), "
                         "by mode",
                         what),
             "counter");
  }

  void Write(const SeriesEnergy& s, const Labels& labels, bool with_total) const {
    for (int mode = 0; mode < 2; ++mode) {
      const bool idle = mode == 1;
      if (idle && !opt.idle_metrics) continue;
      if (opt.component_metrics) {
        for (std::size_t i = 0; i < zones.size(); ++i) {
          const ZoneJoules* zj = FindZone(s, zones[i]);
          const double v = zj ? (idle ? zj->idle.value() : zj->dynamic.value()) : 0.0;
          Labels l = labels;
          l.emplace_back("mode", ModeLabel(idle));
          l.emplace_back("source", sources[i]);
          b.Add(prefix + "_" + zones[i] + "_joules_total", std::move(l), v);
        }
      }
      if (with_total) {
        Labels l = labels;
        l.emplace_back("mode", ModeLabel(idle));
        l.emplace_back("source", "");
        b.Add(prefix + "_joules_total", std::move(l),
              idle ? s.TotalIdle().value() : s.TotalDynamic().value());
      }
    }
  }
};

}  // namespace

bool IsKeplerZone(std::string_view zone) {
  return std::find(std::begin(kKeplerZones), std::end(kKeplerZones), zone) !=
         std::end(kKeplerZones);
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  if (ec != std::errc()) return fmt::format("{}", value);
  return std::string(buf, ptr);
}

ExpositionBuilder::Fam& ExpositionBuilder::Get(const std::string& name) {
  auto it = std::lower_bound(families_.begin(), families_.end(), name,
                             [](const auto& f, const std::string& n) { return f.first < n; });
  if (it == families_.end() || it->first != name) it = families_.insert(it, {name, Fam{}});
  return it->second;
}

void ExpositionBuilder::Family(const std::string& name, std::string_view help,
                               std::string_view type) {
  Fam& f = Get(name);
  f.help = std::string(help);
  f.type = std::string(type);
}

void ExpositionBuilder::Add(const std::string& name, Labels labels, double value) {
  std::sort(labels.begin(), labels.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string rendered;
  if (!labels.empty()) {
    rendered += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) rendered += ',';
      rendered += labels[i].first;
      rendered += "=\"";
      rendered += EscapeLabelValue(labels[i].second);
      rendered += '"';
    }
    rendered += '}';
  }
  Get(name).samples.emplace_back(std::move(rendered), FormatSampleValue(value));
}

std::string ExpositionBuilder::Render() const {
  std::string out;
  for (const auto& [name, fam] : families_) {
    if (fam.samples.empty()) continue;
    std::vector<const std::pair<std::string, std::string>*> samples;
    samples.reserve(fam.samples.size());
    for (const auto& s : fam.samples) samples.push_back(&s);
    std::sort(samples.begin(), samples.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    out += "# HELP " + name + " " + EscapeHelp(fam.help) + "\n";
    out += "# TYPE " + name + " " + (fam.type.empty() ? "untyped" : fam.type) + "\n";
    for (const auto* s : samples) {
      out += name;
      out += s->first;
      out += ' ';
      out += s->second;
      out += '\n';
    }
  }
  return out;
}

std::string RenderPrometheus(const LedgerSnapshot& ledger, const AgentStatus& status,
                             const ExpositionOptions& opt) {
  ExpositionBuilder b;

  // Kepler zones to emit for workloads: those this node has, and the zero-filled ones.
  std::set<std::string> zone_set;
  for (const NodeZoneSeries& n : ledger.node) {
    if (IsKeplerZone(n.id.zone)) zone_set.insert(n.id.zone);
  }
  for (const std::string& z : opt.zero_fill_zones) {
    if (IsKeplerZone(z)) zone_set.insert(z);
  }
  const std::vector<std::string> zones(zone_set.begin(), zone_set.end());
  std::vector<std::string> sources;
  for (const std::string& z : zones) sources.push_back(ZoneSource(ledger, status, z));

  if (opt.process_metrics) {
    LevelWriter w{b, opt, zones, sources, "kepler_process", "process"};
    w.Declare(true);
    for (const ProcessSeries& p : ledger.processes) {
      const std::string container = p.overflow ? std::string(attribution::kOverflowName)
                                    : p.key.container_id.empty()
                                        ? std::string(attribution::kSystemContainerId)
                                        : p.key.container_id;
      w.Write(p,
              {{"pid",
                p.overflow ? std::string(attribution::kOverflowName) : std::to_string(p.key.pid)},
               {"container_id", container},
               {"vm_id", p.key.vm_id},
               {"command", p.key.command}},
              true);
    }
  }
  if (opt.container_metrics) {
    LevelWriter w{b, opt, zones, sources, "kepler_container", "container"};
    w.Declare(true);
    for (const ContainerSeries& c : ledger.containers) {
      w.Write(c,
              {{"container_id", c.container_id},
               {"container_name", c.container_name},
               {"container_namespace", c.pod_namespace},
               {"pod_name", c.pod_name}},
              true);
    }
  }
  if (opt.vm_metrics) {
    LevelWriter w{b, opt, zones, sources, "kepler_vm", "VM"};
    w.Declare(false);
    for (const VmSeries& v : ledger.vms) w.Write(v, {{"vm_id", v.vm_id}}, false);
  }
  if (opt.pod_metrics) {
    b.Family("wattson_pod_joules_total",
             "Aggregated energy of each pod in joules, by zone and mode (Kepler has no pod "
             "series; its pod view sums container series)",
             "counter");
    for (const PodSeries& p : ledger.pods) {
      for (const ZoneJoules& z : p.energy) {
        for (int mode = 0; mode < 2; ++mode) {
          const bool idle = mode == 1;
          if (idle && !opt.idle_metrics) continue;
          b.Add("wattson_pod_joules_total",
                {{"pod_name", p.pod_name},
                 {"pod_namespace", p.pod_namespace},
                 {"zone", z.zone},
                 {"mode", ModeLabel(idle)}},
                idle ? z.idle.value() : z.dynamic.value());
        }
      }
    }
  }

  if (opt.node_metrics) {
    for (const NodeZoneSeries& n : ledger.node) {
      const std::string source =
          n.source.empty() ? ZoneSource(ledger, status, n.id.zone) : n.source;
      if (opt.component_metrics && IsKeplerZone(n.id.zone)) {
        const std::string name = "kepler_node_" + n.id.zone + "_joules_total";
        b.Family(name,
                 fmt::format("Aggregated {} energy of the node in joules, by mode; package = "
                             "the zone's key (socket, meter, GPU index)",
                             n.id.zone),
                 "counter");
        for (int mode = 0; mode < 2; ++mode) {
          const bool idle = mode == 1;
          if (idle && !opt.idle_metrics) continue;
          b.Add(name,
                {{"package", n.id.key},
                 {"instance", status.node.instance},
                 {"mode", ModeLabel(idle)},
                 {"source", source}},
                idle ? n.idle.value() : n.dynamic.value());
        }
      }
      const std::string origin(ZoneOriginName(n.origin));
      for (int mode = 0; mode < 2; ++mode) {
        const bool idle = mode == 1;
        b.Add("wattson_node_power_watts",
              {{"zone", n.id.zone},
               {"key", n.id.key},
               {"mode", ModeLabel(idle)},
               {"origin", origin},
               {"model_id", n.model_id}},
              idle ? n.idle_power.value() : n.dynamic_power.value());
        b.Add("wattson_node_unattributed_joules_total",
              {{"zone", n.id.zone}, {"key", n.id.key}, {"mode", ModeLabel(idle)}},
              idle ? n.unapportioned_idle.value() : n.unattributed_dynamic.value());
      }
      b.Add("wattson_zone_info",
            {{"zone", n.id.zone},
             {"key", n.id.key},
             {"origin", origin},
             {"model_id", n.model_id},
             {"source", source},
             {"idle_method", std::string(IdleMethodName(n.idle_method))},
             {"split_metric", std::string(UsageMetricName(n.metric))}},
            n.present ? 1.0 : 0.0);
      b.Add("wattson_idle_provisional", {{"zone", n.id.zone}, {"key", n.id.key}},
            n.idle_provisional ? 1.0 : 0.0);
    }
    b.Family("wattson_node_power_watts",
             "Node power of the last tick per zone and key, by mode; origin says measured or "
             "estimated and model_id which model estimated it",
             "gauge");
    b.Family("wattson_node_unattributed_joules_total",
             "Node energy not given to any workload: dynamic energy of ticks with no usage "
             "(mode=dynamic) and idle energy kept at node level (mode=idle)",
             "counter");
    b.Family("wattson_zone_info",
             "One series per power zone: its origin, model, source, idle method and the usage "
             "measure that splits it; 1 if present in the last tick, else 0",
             "gauge");
    b.Family("wattson_idle_provisional",
             "1 while the zone's idle estimate is provisional (rolling window still warming up)",
             "gauge");
    b.Family("kepler_node_info", "Labeled node information", "gauge");
    b.Add("kepler_node_info",
          {{"cpu_architecture", status.node.cpu_architecture},
           {"components_power_source", status.node.components_power_source},
           {"platform_power_source", status.node.platform_power_source},
           {"source", "os"}},
          1.0);
  }

  b.Family("wattson_model_info", "One series per model in use, with its provenance; value 1",
           "gauge");
  b.Family("wattson_model_error",
           "Published error of each model in use, by metric (mae in watts, mape in percent)",
           "gauge");
  b.Family("wattson_input_out_of_range",
           "1 when the last tick's inputs to the model lay outside its training range", "gauge");
  for (const ModelProvenance& m : status.models) {
    b.Add("wattson_model_info",
          {{"model_id", m.id},
           {"name", m.name},
           {"trainer", m.trainer},
           {"feature_group", m.feature_group},
           {"energy_source", m.energy_source},
           {"output_type", m.output_type},
           {"training_platform", m.training_platform}},
          1.0);
    for (const auto& [metric, value] : m.errors) {
      b.Add("wattson_model_error", {{"model_id", m.id}, {"metric", metric}}, value);
    }
    b.Add("wattson_input_out_of_range", {{"model_id", m.id}}, m.input_out_of_range ? 1.0 : 0.0);
  }

  if (!status.cpu_time_source.empty()) {
    b.Family("wattson_cpu_time_source_info",
             "Where per-process CPU time comes from: ebpf (on-CPU time per context switch) or "
             "procfs (/proc/<pid>/stat every tick); value 1",
             "gauge");
    b.Add("wattson_cpu_time_source_info", {{"source", status.cpu_time_source}}, 1.0);
  }
  b.Family("wattson_ticks_total", "Ticks attempted since start", "counter");
  b.Add("wattson_ticks_total", {}, static_cast<double>(status.ticks_total));
  b.Family("wattson_tick_duration_seconds", "Wall time the last tick took to process", "gauge");
  b.Add("wattson_tick_duration_seconds", {}, status.last_tick_duration.value());
  b.Family("wattson_tick_interval_seconds",
           "Measured interval of the last attributed tick (energy = power x this)", "gauge");
  b.Add("wattson_tick_interval_seconds", {}, ledger.last_dt.value());
  b.Family("wattson_source_errors_total", "Failed reads per source since start", "counter");
  for (const auto& [source, count] : status.source_errors) {
    b.Add("wattson_source_errors_total", {{"source", source}}, static_cast<double>(count));
  }
  b.Family("wattson_ledger_series", "Workload series the ledger tracks, by level", "gauge");
  b.Add("wattson_ledger_series", {{"level", "process"}},
        static_cast<double>(ledger.processes.size()));
  b.Add("wattson_ledger_series", {{"level", "container"}},
        static_cast<double>(ledger.containers.size()));
  b.Add("wattson_ledger_series", {{"level", "pod"}}, static_cast<double>(ledger.pods.size()));
  b.Add("wattson_ledger_series", {{"level", "vm"}}, static_cast<double>(ledger.vms.size()));
  b.Family("wattson_ledger_overflow_total",
           "Workload-ticks folded into the overflow series because the level was full", "counter");
  b.Add("wattson_ledger_overflow_total", {{"level", "process"}},
        static_cast<double>(ledger.overflow_processes));
  b.Add("wattson_ledger_overflow_total", {{"level", "container"}},
        static_cast<double>(ledger.overflow_containers));
  b.Add("wattson_ledger_overflow_total", {{"level", "pod"}},
        static_cast<double>(ledger.overflow_pods));
  b.Add("wattson_ledger_overflow_total", {{"level", "vm"}},
        static_cast<double>(ledger.overflow_vms));
  return b.Render();
}

}  // namespace wattson::exporter
