#include "models/feature_groups.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/strings.h"
#include "fmt/format.h"

namespace wattson {

namespace {

using Features = std::vector<std::string>;

Features Concat(std::initializer_list<const Features*> lists) {
  Features out;
  for (const Features* l : lists) out.insert(out.end(), l->begin(), l->end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool Contains(std::span<const std::string> features, std::string_view name) {
  return std::find(features.begin(), features.end(), name) != features.end();
}

}  // namespace

std::vector<FeatureGroupDef> KeplerFeatureGroups(KeplerFeatureVersion version) {
  const Features counter = {"cache_miss", "cpu_cycles", "cpu_instructions"};
  const Features cgroup = {"cgroupfs_cpu_usage_us", "cgroupfs_memory_usage_bytes",
                           "cgroupfs_system_cpu_usage_us", "cgroupfs_user_cpu_usage_us"};
  const Features irq = {"bpf_block_irq", "bpf_net_rx_irq", "bpf_net_tx_irq"};
  if (version == KeplerFeatureVersion::kV06) {
    const Features bpf = {"bpf_cpu_time_us"};
    const Features kubelet = {"kubelet_cpu_usage", "kubelet_memory_bytes"};
    return {
        {"CounterOnly", Concat({&counter})},
        {"BPFOnly", Concat({&bpf})},
        {"BPFIRQ", Concat({&bpf, &irq})},
        {"CounterIRQCombined", Concat({&counter, &irq})},
        {"CgroupOnly", Concat({&cgroup})},
        {"KubeletOnly", Concat({&kubelet})},
        {"Basic", Concat({&counter, &cgroup, &bpf, &kubelet})},
    };
  }
  // v0.7.11-release train_types.py (reference spec §1.3). Later kepler-model-server versions
  // dropped the cgroupfs features from WorkloadOnly and Basic.
  const Features bpf = {"bpf_cpu_time_ms", "bpf_page_cache_hit"};
  const Features accel = {"accelerator_intel_qat"};
  const Features system = {"cpu_scaling_frequency_hertz", "node_info"};
  const Features workload = Concat({&counter, &cgroup, &bpf, &irq, &accel});
  return {
      {"Full", Concat({&workload, &system})},
      {"WorkloadOnly", workload},
      {"CounterOnly", Concat({&counter})},
      {"CgroupOnly", Concat({&cgroup})},
      {"BPFOnly", Concat({&bpf})},
      {"BPFIRQ", Concat({&bpf, &irq})},
      {"CounterIRQCombined", Concat({&counter, &irq})},
      {"Basic", Concat({&counter, &cgroup, &bpf})},
      {"AcceleratorOnly", Concat({&accel})},
  };
}

Result<std::vector<std::string>> FeatureGroupFeatures(std::string_view group,
                                                      KeplerFeatureVersion version) {
  for (auto& g : KeplerFeatureGroups(version)) {
    if (g.name == group) return std::move(g.features);
  }
  return Status::NotFound(fmt::format("unknown Kepler feature group '{}' ({})", group,
                                      version == KeplerFeatureVersion::kV06 ? "v0.6" : "v0.7"));
}

std::vector<std::string> ValidFeatureGroups(std::span<const std::string> available,
                                            KeplerFeatureVersion version) {
  std::vector<std::string> out;
  for (const auto& g : KeplerFeatureGroups(version)) {
    bool ok = std::all_of(g.features.begin(), g.features.end(),
                          [&](const std::string& f) { return Contains(available, f); });
    if (ok) out.emplace_back(g.name);
  }
  return out;
}

std::string FeatureGroupOf(std::span<const std::string> features) {
  std::set<std::string> want(features.begin(), features.end());
  for (auto v : {KeplerFeatureVersion::kV07, KeplerFeatureVersion::kV06}) {
    for (const auto& g : KeplerFeatureGroups(v)) {
      if (std::set<std::string>(g.features.begin(), g.features.end()) == want) {
        return std::string(g.name);
      }
    }
  }
  return "";
}

std::optional<std::string> MainFeature(std::span<const std::string> features) {
  for (std::string_view c : kMainFeatureCandidates) {
    if (Contains(features, c)) return std::string(c);
  }
  return std::nullopt;
}

std::optional<std::string> DramFeature(std::span<const std::string> features) {
  for (std::string_view c : kDramFeatureCandidates) {
    if (Contains(features, c)) return std::string(c);
  }
  return MainFeature(features);
}

std::optional<std::string> CurveFeature(Component component,
                                        std::span<const std::string> features) {
  return component == Component::kDram ? DramFeature(features) : MainFeature(features);
}

std::string NormaliseEnergySource(std::string_view source) {
  while (!source.empty() && std::isspace(static_cast<unsigned char>(source.front()))) {
    source.remove_prefix(1);
  }
  while (!source.empty() && std::isspace(static_cast<unsigned char>(source.back()))) {
    source.remove_suffix(1);
  }
  std::string s = Lower(source);
  if (s.find("rapl") != std::string::npos) return "rapl-sysfs";
  return s;
}

Result<std::vector<Component>> EnergySourceComponents(std::string_view source) {
  const std::string s = Lower(source);
  if (s == "rapl-sysfs" || s == "rapl-msr" || s == "trained_power_model" || s == "intel_rapl" ||
      s == "rapl") {
    return std::vector<Component>{Component::kPackage, Component::kCore, Component::kUncore,
                                  Component::kDram};
  }
  if (s == "acpi" || s == "hmc" || s == "redfish") {
    return std::vector<Component>{Component::kPlatform};
  }
  return Status::NotFound(fmt::format(
      "unknown energy source '{}' (rapl-sysfs, rapl-msr, trained_power_model, intel_rapl, rapl, "
      "acpi, hmc, redfish)",
      source));
}

bool IsKnownEnergySource(std::string_view source) { return EnergySourceComponents(source).ok(); }

std::string InferEnergySource(std::span<const Component> components) {
  if (components.empty()) return "";
  bool platform = false;
  bool rapl = false;
  for (Component c : components) {
    if (c == Component::kPlatform) {
      platform = true;
    } else {
      rapl = true;
    }
  }
  if (platform && rapl) return "";
  return platform ? "acpi" : "rapl-sysfs";
}

bool IsWeightTrainer(std::string_view trainer) {
  for (std::string_view t : kWeightTrainers) {
    if (t == trainer) return true;
  }
  return false;
}

Result<MachineSpec> KeplerMachineSpecFromJson(const Json& attrs, std::string_view ctx) {
  if (!attrs.is_object()) {
    return Status::InvalidArgument(fmt::format("{}: expected an object, got {}",
                                               ctx.empty() ? "(root)" : ctx, attrs.type_name()));
  }
  MachineSpec spec;
  if (const Json* p = FindField(attrs, "processor"); p != nullptr && !p->is_null()) {
    WATTSON_ASSIGN_OR_RETURN(spec.processor, AsString(*p, JoinPath(ctx, "processor")));
  }
  struct NumberField {
    std::string_view key;
    double* out;
  };
  const NumberField numbers[] = {{"cores", &spec.cores},
                                 {"chips", &spec.chips},
                                 {"memory", &spec.memory_gib},
                                 {"frequency", &spec.frequency_mhz}};
  for (const auto& [key, out] : numbers) {
    const Json* v = FindField(attrs, key);
    if (v == nullptr || v->is_null()) continue;
    WATTSON_ASSIGN_OR_RETURN(*out, AsFiniteNumber(*v, JoinPath(ctx, key)));
  }
  return spec;
}

}  // namespace wattson
