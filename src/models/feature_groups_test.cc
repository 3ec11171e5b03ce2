// Kepler feature groups, the curve-fit feature rule, energy sources and node-type attributes.
#include "models/feature_groups.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace wattson {
namespace {

using Strings = std::vector<std::string>;

TEST(FeatureGroupTest, V07GroupsAreSortedAndMatchTheSpec) {
  const auto groups = KeplerFeatureGroups(KeplerFeatureVersion::kV07);
  Strings names;
  for (const auto& g : groups) {
    names.emplace_back(g.name);
    EXPECT_TRUE(std::is_sorted(g.features.begin(), g.features.end())) << g.name;
  }
  EXPECT_EQ(names, (Strings{"Full", "WorkloadOnly", "CounterOnly", "CgroupOnly", "BPFOnly",
                            "BPFIRQ", "CounterIRQCombined", "Basic", "AcceleratorOnly"}));
  EXPECT_EQ(*FeatureGroupFeatures("BPFOnly"), (Strings{"bpf_cpu_time_ms", "bpf_page_cache_hit"}));
  EXPECT_EQ(*FeatureGroupFeatures("CounterOnly"),
            (Strings{"cache_miss", "cpu_cycles", "cpu_instructions"}));
  EXPECT_EQ(*FeatureGroupFeatures("BPFIRQ"),
            (Strings{"bpf_block_irq", "bpf_cpu_time_ms", "bpf_net_rx_irq", "bpf_net_tx_irq",
                     "bpf_page_cache_hit"}));
  EXPECT_EQ(*FeatureGroupFeatures("CounterIRQCombined"),
            (Strings{"bpf_block_irq", "bpf_net_rx_irq", "bpf_net_tx_irq", "cache_miss",
                     "cpu_cycles", "cpu_instructions"}));
  EXPECT_EQ(FeatureGroupFeatures("AcceleratorOnly")->size(), 1u);
  EXPECT_EQ(FeatureGroupFeatures("CgroupOnly")->size(), 4u);
  EXPECT_EQ(FeatureGroupFeatures("Basic")->size(), 9u);  // counters + cgroupfs + bpf
  EXPECT_EQ(FeatureGroupFeatures("WorkloadOnly")->size(), 13u);
  EXPECT_EQ(FeatureGroupFeatures("Full")->size(), 15u);
  EXPECT_FALSE(FeatureGroupFeatures("KubeletOnly").ok());
  EXPECT_EQ(FeatureGroupFeatures("Nope").status().code(), StatusCode::kNotFound);
}

TEST(FeatureGroupTest, V06Groups) {
  const auto v06 = KeplerFeatureVersion::kV06;
  EXPECT_EQ(*FeatureGroupFeatures("BPFOnly", v06), (Strings{"bpf_cpu_time_us"}));
  EXPECT_EQ(*FeatureGroupFeatures("KubeletOnly", v06),
            (Strings{"kubelet_cpu_usage", "kubelet_memory_bytes"}));
  EXPECT_EQ(*FeatureGroupFeatures("Basic", v06),
            (Strings{"bpf_cpu_time_us", "cache_miss", "cgroupfs_cpu_usage_us",
                     "cgroupfs_memory_usage_bytes", "cgroupfs_system_cpu_usage_us",
                     "cgroupfs_user_cpu_usage_us", "cpu_cycles", "cpu_instructions",
                     "kubelet_cpu_usage", "kubelet_memory_bytes"}));
  EXPECT_EQ(*FeatureGroupFeatures("BPFIRQ", v06),
            (Strings{"bpf_block_irq", "bpf_cpu_time_us", "bpf_net_rx_irq", "bpf_net_tx_irq"}));
}

TEST(FeatureGroupTest, ValidGroupsAndGroupOf) {
  // What Kepler v0.7.11 produces: only the BPF, IRQ and counter groups can match.
  const Strings kepler = {"bpf_cpu_time_ms",  "bpf_page_cache_hit", "bpf_net_tx_irq",
                          "bpf_net_rx_irq",   "bpf_block_irq",      "cpu_cycles",
                          "cpu_instructions", "cache_miss"};
  EXPECT_EQ(ValidFeatureGroups(kepler, KeplerFeatureVersion::kV07),
            (Strings{"CounterOnly", "BPFOnly", "BPFIRQ", "CounterIRQCombined"}));
  EXPECT_TRUE(ValidFeatureGroups(Strings{}, KeplerFeatureVersion::kV07).empty());
  EXPECT_EQ(FeatureGroupOf(Strings{"bpf_page_cache_hit", "bpf_cpu_time_ms"}), "BPFOnly");
  EXPECT_EQ(FeatureGroupOf(Strings{"kubelet_memory_bytes", "kubelet_cpu_usage"}), "KubeletOnly");
  EXPECT_EQ(FeatureGroupOf(Strings{"bpf_cpu_time_us"}), "BPFOnly");
  EXPECT_EQ(FeatureGroupOf(Strings{"x"}), "");
}

TEST(FeatureGroupTest, MainAndDramFeatures) {
  for (const auto& g : KeplerFeatureGroups(KeplerFeatureVersion::kV07)) {
    auto main = MainFeature(g.features);
    ASSERT_TRUE(main.has_value()) << g.name;
    auto dram = DramFeature(g.features);
    ASSERT_TRUE(dram.has_value()) << g.name;
  }
  // Reference spec §1.3 table.
  auto main_of = [](std::string_view group) { return *MainFeature(*FeatureGroupFeatures(group)); };
  auto dram_of = [](std::string_view group) { return *DramFeature(*FeatureGroupFeatures(group)); };
  EXPECT_EQ(main_of("Full"), "cpu_instructions");
  EXPECT_EQ(main_of("WorkloadOnly"), "cpu_instructions");
  EXPECT_EQ(main_of("CounterOnly"), "cpu_instructions");
  EXPECT_EQ(main_of("CgroupOnly"), "cgroupfs_cpu_usage_us");
  EXPECT_EQ(main_of("BPFOnly"), "bpf_cpu_time_ms");
  EXPECT_EQ(main_of("BPFIRQ"), "bpf_cpu_time_ms");
  EXPECT_EQ(main_of("CounterIRQCombined"), "cpu_instructions");
  EXPECT_EQ(main_of("Basic"), "cpu_instructions");
  EXPECT_EQ(main_of("AcceleratorOnly"), "accelerator_intel_qat");
  EXPECT_EQ(dram_of("Full"), "cache_miss");
  EXPECT_EQ(dram_of("CgroupOnly"), "cgroupfs_memory_usage_bytes");
  EXPECT_EQ(dram_of("BPFOnly"), "bpf_page_cache_hit");
  EXPECT_EQ(dram_of("BPFIRQ"), "bpf_page_cache_hit");
  EXPECT_EQ(dram_of("Basic"), "cache_miss");
  EXPECT_EQ(dram_of("AcceleratorOnly"), "accelerator_intel_qat");  // falls back to main
  const auto v06 = KeplerFeatureVersion::kV06;
  EXPECT_EQ(*MainFeature(*FeatureGroupFeatures("KubeletOnly", v06)), "kubelet_cpu_usage");
  EXPECT_EQ(*DramFeature(*FeatureGroupFeatures("KubeletOnly", v06)), "kubelet_memory_bytes");
  EXPECT_EQ(*MainFeature(*FeatureGroupFeatures("BPFIRQ", v06)), "bpf_cpu_time_us");
  EXPECT_EQ(*DramFeature(*FeatureGroupFeatures("BPFOnly", v06)), "bpf_cpu_time_us");
  EXPECT_EQ(*CurveFeature(Component::kDram, *FeatureGroupFeatures("BPFOnly")),
            "bpf_page_cache_hit");
  EXPECT_EQ(*CurveFeature(Component::kPlatform, *FeatureGroupFeatures("BPFOnly")),
            "bpf_cpu_time_ms");
  EXPECT_FALSE(MainFeature(Strings{"a", "b"}).has_value());
  EXPECT_FALSE(DramFeature(Strings{}).has_value());
}

TEST(FeatureGroupTest, EnergySources) {
  EXPECT_EQ(NormaliseEnergySource("intel_rapl"), "rapl-sysfs");
  EXPECT_EQ(NormaliseEnergySource("rapl"), "rapl-sysfs");
  EXPECT_EQ(NormaliseEnergySource(" RAPL-SYSFS "), "rapl-sysfs");
  EXPECT_EQ(NormaliseEnergySource("rapl-msr"), "rapl-sysfs");
  EXPECT_EQ(NormaliseEnergySource("acpi"), "acpi");
  EXPECT_EQ(NormaliseEnergySource("ACPI"), "acpi");
  EXPECT_EQ(NormaliseEnergySource(""), "");
  const std::vector<Component> rapl = {Component::kPackage, Component::kCore, Component::kUncore,
                                       Component::kDram};
  for (const char* s : {"rapl-sysfs", "rapl-msr", "trained_power_model", "intel_rapl", "rapl"}) {
    EXPECT_EQ(*EnergySourceComponents(s), rapl) << s;
    EXPECT_TRUE(IsKnownEnergySource(s));
  }
  for (const char* s : {"acpi", "hmc", "redfish"}) {
    EXPECT_EQ(*EnergySourceComponents(s), std::vector<Component>{Component::kPlatform}) << s;
  }
  EXPECT_EQ(EnergySourceComponents("nvml").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(IsKnownEnergySource("weights"));
  EXPECT_EQ(InferEnergySource(rapl), "rapl-sysfs");
  EXPECT_EQ(InferEnergySource(std::vector<Component>{Component::kDram}), "rapl-sysfs");
  EXPECT_EQ(InferEnergySource(std::vector<Component>{Component::kPlatform}), "acpi");
  EXPECT_EQ(InferEnergySource(std::vector<Component>{Component::kPlatform, Component::kPackage}),
            "");
  EXPECT_EQ(InferEnergySource(std::vector<Component>{}), "");
  EXPECT_TRUE(IsWeightTrainer("SGDRegressorTrainer"));
  EXPECT_TRUE(IsWeightTrainer("LogisticRegressionTrainer"));
  EXPECT_FALSE(IsWeightTrainer("LinearRegressionTrainer"));
  EXPECT_FALSE(IsWeightTrainer("SGD"));
}

TEST(FeatureGroupTest, MachineSpecFromAttrs) {
  auto spec = KeplerMachineSpecFromJson(
      Json::parse(R"({"processor": "intel_xeon_e5_2686v4", "cores": 72.0, "chips": 2,
                      "memory": 503, "frequency": 3000, "extra": "ignored"})"),
      "attrs");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->processor, "intel_xeon_e5_2686v4");
  EXPECT_EQ(spec->cores, 72);
  EXPECT_EQ(spec->chips, 2);
  EXPECT_EQ(spec->memory_gib, 503);
  EXPECT_EQ(spec->frequency_mhz, 3000);
  auto partial = KeplerMachineSpecFromJson(Json::parse(R"({"cores": 4, "processor": null})"), "a");
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->processor, "");
  EXPECT_EQ(partial->cores, 4);
  auto bad = KeplerMachineSpecFromJson(Json::parse(R"({"cores": "many"})"), "spec");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("spec.cores"), std::string::npos);
  EXPECT_FALSE(KeplerMachineSpecFromJson(Json::parse("[]"), "spec").ok());
  EXPECT_FALSE(KeplerMachineSpecFromJson(Json::parse(R"({"processor": 5})"), "spec").ok());
}

}  // namespace
}  // namespace wattson
