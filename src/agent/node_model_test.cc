#include "agent/node_model.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "agent/default_model.h"
#include "common/logging.h"
#include "estimator/estimator.h"
#include "estimator/model_store.h"
#include "estimator/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/wattson_format.h"

namespace wattson::agent {
namespace {

using ::testing::HasSubstr;

// package = 20 + 0.01·x, dram = 5 + 0.001·x, core = 0 (a zone the machine did not have);
// platform = 100 + 0.05·x; x = bpf_cpu_time_ms, trained on [100, 4000].
std::string LinearModelJson(const std::string& source, bool with_range = true) {
  const bool rapl = source == "rapl-sysfs";
  std::string comps;
  auto comp = [&](const std::string& c, double b, double w) {
    if (!comps.empty()) comps += ",";
    comps += R"({"component": ")" + c +
             R"(", "features": ["bpf_cpu_time_ms"], "transforms": [], "regressor": {"family": )"
             R"("linear", "intercept": )" +
             std::to_string(b) + R"(, "coef": [)" + std::to_string(w) + "]}}";
  };
  if (rapl) {
    comp("package", 20, 0.01);
    comp("core", 0, 0);
    comp("dram", 5, 0.001);
  } else {
    comp("platform", 100, 0.05);
  }
  return R"({"format": "wattson-model", "version": 1, "info": {"id": "test/)" + source +
         R"(", "name": "Linear_1", "trainer": "LinearRegressionTrainer", "output_type": )"
         R"("AbsPower", "energy_source": ")" +
         source + R"(", "feature_group": "", "errors": {"protocol": "blocked-cv", "mae": 3.5})" +
         (with_range ? R"(, "training_range": [{"feature": "bpf_cpu_time_ms", "min": 100, )"
                       R"("max": 4000}])"
                     : "") +
         R"(}, "components": [)" + comps + "]}";
}

std::shared_ptr<const PowerModel> Parse(const std::string& json) {
  auto m = ParseWattsonModel(json, "test");
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::shared_ptr<const PowerModel>(std::move(m).value());
}

TEST(NodeFeaturesTest, CpuTimeFromProcStat) {
  usage::NodeCpuTimes prev, cur;
  prev.user = Seconds(100);
  prev.system = Seconds(50);
  cur.user = Seconds(101.5);  // 1.5 s of user and 0.5 s of system over 2 s
  cur.system = Seconds(50.5);
  FeatureValues f = ComputeNodeFeatures(prev, cur, Seconds(2.0), Seconds(0.3), nullptr);
  EXPECT_DOUBLE_EQ(f.at("bpf_cpu_time_ms"), 1000.0);  // 2 s CPU / 2 s = 1000 ms/s
  EXPECT_DOUBLE_EQ(f.at("bpf_cpu_time_us"), 1000.0);
  EXPECT_EQ(f.count("cpu_cycles"), 0u);
  // Without /proc/stat: the processes' sum.
  f = ComputeNodeFeatures(std::nullopt, cur, Seconds(2.0), Seconds(0.3), nullptr);
  EXPECT_DOUBLE_EQ(f.at("bpf_cpu_time_ms"), 150.0);
  usage::PerfTick perf;
  perf.baseline = false;
  perf.delta[0] = 4e9;
  perf.delta[1] = 2e9;
  perf.delta[2] = 1e6;
  f = ComputeNodeFeatures(prev, cur, Seconds(2.0), Seconds(0), &perf);
  EXPECT_DOUBLE_EQ(f.at("cpu_cycles"), 2e9);
  EXPECT_DOUBLE_EQ(f.at("cpu_instructions"), 1e9);
  EXPECT_DOUBLE_EQ(f.at("cache_miss"), 5e5);
  EXPECT_TRUE(ComputeNodeFeatures(prev, cur, Seconds(0), Seconds(0), nullptr).empty());
}

TEST(LocalNodeModelTest, EstimatesIdleAndFlagsRange) {
  auto m = LocalNodeModel::Create(Parse(LinearModelJson("rapl-sysfs")), NodeTarget::kComponents,
                                  ComputableFeatures(false));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // core predicts 0 W everywhere: left out.
  ASSERT_EQ((*m)->components().size(), 2u);
  EXPECT_EQ((*m)->provenance().id, "test/rapl-sysfs");
  EXPECT_EQ((*m)->provenance().errors.at("mae"), 3.5);
  auto e = (*m)->Estimate({{"bpf_cpu_time_ms", 1000.0}, {"bpf_cpu_time_us", 1000.0}});
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->components.size(), 2u);
  EXPECT_EQ(e->components[0].zone, "package");
  EXPECT_DOUBLE_EQ(e->components[0].power.value(), 30.0);
  EXPECT_DOUBLE_EQ(e->components[0].idle.value(), 20.0);
  EXPECT_EQ(e->components[1].zone, "dram");
  EXPECT_DOUBLE_EQ(e->components[1].idle.value(), 5.0);
  EXPECT_FALSE(e->input_out_of_range);
  e = (*m)->Estimate({{"bpf_cpu_time_ms", 9000.0}});
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->input_out_of_range);
  EXPECT_THAT(e->out_of_range[0], HasSubstr("bpf_cpu_time_ms=9000 > 4000"));
  EXPECT_FALSE((*m)->Estimate({}).ok());  // the feature was not measured
  EXPECT_THAT((*m)->Describe(), HasSubstr("test/rapl-sysfs"));
}

TEST(LocalNodeModelTest, WithoutTrainingRangeNeverFlags) {
  auto m = LocalNodeModel::Create(Parse(LinearModelJson("acpi", false)), NodeTarget::kPlatform,
                                  ComputableFeatures(false));
  ASSERT_TRUE(m.ok());
  auto e = (*m)->Estimate({{"bpf_cpu_time_ms", 1e9}});
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->input_out_of_range);
  EXPECT_THAT((*m)->Describe(), HasSubstr("no training range"));
}

TEST(LocalNodeModelTest, RejectsWrongModels) {
  // Wrong target.
  EXPECT_FALSE(LocalNodeModel::Create(Parse(LinearModelJson("acpi")), NodeTarget::kComponents,
                                      ComputableFeatures(false))
                   .ok());
  // A feature the host cannot compute.
  std::string j = LinearModelJson("acpi");
  for (std::size_t p; (p = j.find("bpf_cpu_time_ms")) != std::string::npos;) {
    j.replace(p, 15, "cgroupfs_foo_us");
  }
  auto r = LocalNodeModel::Create(Parse(j), NodeTarget::kPlatform, ComputableFeatures(false));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("cgroupfs_foo_us"));
}

TEST(DefaultModelTest, EmbeddedTextEqualsFiles) {
  const std::filesystem::path dir =
      std::filesystem::path(WATTSON_TESTDATA_DIR).parent_path() / "src/agent/default_model";
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    ++files;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    bool found = false;
    for (const auto& m : EmbeddedModels()) {
      if (m.file == e.path().filename().string()) {
        found = true;
        EXPECT_TRUE(m.json == text) << m.file << " differs: run src/agent/default_model/embed.sh";
      }
    }
    EXPECT_TRUE(found) << e.path() << " is not embedded: run src/agent/default_model/embed.sh";
  }
  EXPECT_EQ(files, EmbeddedModels().size());
  EXPECT_EQ(files, 2u);
}

TEST(DefaultModelTest, ModelsCoverBothTargetsWithHostFeatures) {
  auto models = LoadEmbeddedModels();
  ASSERT_TRUE(models.ok()) << models.status().ToString();
  for (NodeTarget t : {NodeTarget::kComponents, NodeTarget::kPlatform}) {
    int usable = 0;
    for (const auto& m : *models) {
      EXPECT_THAT(m->info().id, HasSubstr("wattson-default/"));
      EXPECT_FALSE(m->info().training_range.empty());
      EXPECT_TRUE(m->info().errors.has_mae());
      auto local = LocalNodeModel::Create(m, t, ComputableFeatures(false));
      if (!local.ok()) continue;
      ++usable;
      auto idle = (*local)->Estimate({{"bpf_cpu_time_ms", 0}, {"bpf_cpu_time_us", 0}});
      auto busy = (*local)->Estimate({{"bpf_cpu_time_ms", 20000}, {"bpf_cpu_time_us", 20000}});
      ASSERT_TRUE(idle.ok() && busy.ok());
      double p_idle = 0, p_busy = 0;
      for (const auto& c : idle->components) p_idle += c.power.value();
      for (const auto& c : busy->components) p_busy += c.power.value();
      EXPECT_GT(p_idle, 20.0);    // nx12 idles at 69 W (package + dram) / 171 W (platform)
      EXPECT_GT(p_busy, p_idle);  // 20 busy CPUs draw more
      EXPECT_LT(p_busy, 500.0);
    }
    EXPECT_EQ(usable, 1) << NodeTargetName(t);
  }
}

TEST(SidecarNodeModelTest, AsksTheEstimatorOverTheFramedProtocol) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "wattson_agent_sc.XXXXXX");
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::filesystem::path dir = tmpl;
  std::ofstream(dir / "rapl.json") << LinearModelJson("rapl-sysfs");
  estimator::ModelSourceConfig sources;
  sources.model_dirs = {dir.string()};
  auto store = estimator::ModelStore::Create(sources, MakeNullLogger());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  estimator::Estimator handler(store->get(), {});
  estimator::ServerOptions so;
  so.socket_path = (dir / "est.sock").string();
  estimator::EstimatorServer server(so, &handler, nullptr, MakeNullLogger());
  ASSERT_TRUE(server.Start().ok());

  SidecarNodeModel m(so.socket_path, NodeTarget::kComponents, ComputableFeatures(false),
                     std::chrono::milliseconds(2000));
  // The linear model's package: 30 W at these features, 20 W at zero.
  auto expect_package = [](SidecarNodeModel& model) {
    auto e = model.Estimate({{"bpf_cpu_time_ms", 1000.0}, {"bpf_cpu_time_us", 1000.0}});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    bool pkg = false;
    for (const auto& c : e->components) {
      if (c.zone != "package") continue;
      pkg = true;
      EXPECT_DOUBLE_EQ(c.power.value(), 30.0);
      EXPECT_DOUBLE_EQ(c.idle.value(), 20.0);
    }
    EXPECT_TRUE(pkg);
  };
  for (int i = 0; i < 2; ++i) expect_package(m);  // the second call reuses the connection
  // A server that speaks only version 1: the same answer over JSON payloads.
  estimator::ServerOptions v1 = so;
  v1.socket_path = (dir / "est-v1.sock").string();
  v1.max_framed_version = 1;
  estimator::EstimatorServer old_server(v1, &handler, nullptr, MakeNullLogger());
  ASSERT_TRUE(old_server.Start().ok());
  SidecarNodeModel json(v1.socket_path, NodeTarget::kComponents, ComputableFeatures(false),
                        std::chrono::milliseconds(2000));
  expect_package(json);
  old_server.Stop();

  SidecarNodeModel platform(so.socket_path, NodeTarget::kPlatform, ComputableFeatures(false),
                            std::chrono::milliseconds(2000));
  auto none = platform.Estimate({{"bpf_cpu_time_ms", 1000.0}});
  ASSERT_FALSE(none.ok());  // no acpi model there: the sidecar's message comes back
  server.Stop();
  auto gone = m.Estimate({{"bpf_cpu_time_ms", 1000.0}});
  EXPECT_FALSE(gone.ok());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace wattson::agent
