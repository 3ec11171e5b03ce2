#include "estimator/estimator.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/file_util.h"
#include "estimator/model_fetch.h"
#include "estimator/model_store.h"
#include "estimator/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "models/archive/kepler_archive.h"
#include "models/linear.h"
#include "models/wattson_format.h"
#include "nlohmann/json.hpp"
#include "testing/random_models.h"

namespace wattson::estimator {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::KeplerMetrics;
using testing::KeplerRequest;
using testing::TempDir;

constexpr double kScale = 5911.969193263386;

std::string BundledWeights(const std::string& name) {
  return testing::TestDataDir() + "/kepler-v0.7.11/model_weight/" + name;
}

std::unique_ptr<ModelStore> MakeStore(ModelSourceConfig config) {
  auto store = ModelStore::Create(std::move(config), nullptr);
  if (!store.ok()) ADD_FAILURE() << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

ModelSourceConfig DirConfig(const std::string& dir) {
  ModelSourceConfig c;
  c.model_dirs = {dir};
  return c;
}

nlohmann::json Reply(Estimator& est, const std::string& request) {
  std::string out;
  est.Handle(request, &out);
  return nlohmann::json::parse(out);
}

// A one-feature linear model (package only, or platform) saved as wattson model JSON.
void SaveLinear(const std::string& path, double intercept, double coef, OutputType ot,
                const std::string& source = "rapl-sysfs", double mae = 1.0,
                const std::string& trainer = "SGDRegressorTrainer") {
  ComponentPipeline p;
  p.component = source == "acpi" ? Component::kPlatform : Component::kPackage;
  p.features = {"bpf_cpu_time_ms"};
  p.regressor =
      std::shared_ptr<const Regressor>(LinearRegressor::Create(intercept, {coef}).value());
  ModelInfo info;
  info.id = fs::path(path).stem().string();
  info.name = trainer + "_0";
  info.trainer = trainer;
  info.output_type = ot;
  info.energy_source = source;
  info.errors.mae = mae;
  std::vector<ComponentPipeline> ps;
  ps.push_back(std::move(p));
  auto m = PipelineModel::Create(std::move(info), std::move(ps));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE(SaveWattsonModel(**m, path).ok());
}

TEST(EstimatorTest, KeplerBundledWeightsNodeAndProcess) {
  TempDir dir;
  for (const char* f : {"acpi_AbsPowerModel.json", "intel_rapl_DynPowerModel.json"}) {
    fs::copy_file(BundledWeights(f), dir.file(f));
  }
  auto store = MakeStore(DirConfig(dir.path()));
  ASSERT_NE(store, nullptr);
  Estimator est(store.get(), {});

  // Node: spec §1.9's worked example, 4000 ms/s of CPU time → 240.548 W.
  auto node =
      Reply(est, KeplerRequest(KeplerMetrics(), {{4000, 0, 0, 0, 0, 0, 0, 0}}, "AbsPower", "acpi"));
  ASSERT_EQ(node["msg"], "") << node.dump();
  const double expect = 220.9079278650894 + 29.028228361462897 * 4000 / kScale;
  EXPECT_NEAR(node["powers"]["platform"][0].get<double>(), expect, 1e-9);
  EXPECT_NEAR(expect, 240.548, 1e-3);

  // Process level: 100 rows, DynPower, no per-process intercept; rows sum to the node's dynamic
  // power.
  std::vector<std::vector<double>> rows;
  double total = 0;
  for (int i = 0; i < 100; ++i) {
    rows.push_back({i * 10.0, 0, 0, 0, 0, 0, 0, 0});
    total += i * 10.0;
  }
  auto proc = Reply(est, KeplerRequest(KeplerMetrics(), rows, "DynPower", "intel_rapl"));
  ASSERT_EQ(proc["msg"], "") << proc.dump().substr(0, 300);
  const auto& pkg = proc["powers"]["package"];
  const auto& dram = proc["powers"]["dram"];
  ASSERT_EQ(pkg.size(), 100u);
  ASSERT_EQ(proc["powers"]["core"].size(), 100u);
  double sum = 0;
  for (int i = 0; i < 100; ++i) {
    EXPECT_NEAR(pkg[i].get<double>(), 22.258830113477515 * i * 10.0 / kScale, 1e-9);
    EXPECT_NEAR(dram[i].get<double>(), 3.0358946796490924 * i * 10.0 / kScale, 1e-9);
    sum += pkg[i].get<double>();
  }
  EXPECT_NEAR(sum, 22.258830113477515 * total / kScale, 1e-9);
  EXPECT_EQ(pkg[0].get<double>(), 0.0);  // an idle process gets no intercept

  // Kepler's idle request: all-zero rows of the same shape.
  std::vector<std::vector<double>> zeros(100, std::vector<double>(8, 0.0));
  auto idle = Reply(est, KeplerRequest(KeplerMetrics(), zeros, "DynPower", "intel_rapl"));
  ASSERT_EQ(idle["msg"], "");
  for (const auto& w : idle["powers"]["package"]) EXPECT_EQ(w.get<double>(), 0.0);
  auto node_idle =
      Reply(est, KeplerRequest(KeplerMetrics(), {std::vector<double>(8, 0.0)}, "AbsPower", "acpi"));
  EXPECT_NEAR(node_idle["powers"]["platform"][0].get<double>(), 220.9079278650894, 1e-9);
}

TEST(EstimatorTest, TreeModelRowsSumToNodeDynamicPower) {
  TempDir dir;
  const std::vector<std::string> features = {"bpf_cpu_time_ms", "bpf_page_cache_hit"};
  auto model = wattson::testing::RandomModel("tree_ensemble_sklearn", features, 7);
  ModelInfo info = model->info();
  info.output_type = OutputType::kDynPower;
  info.energy_source = "rapl-sysfs";
  info.errors.mae = 2.0;
  model->SetInfo(info);
  ASSERT_TRUE(SaveWattsonModel(*model, dir.file("gbr.json")).ok());
  auto store = MakeStore(DirConfig(dir.path()));
  ASSERT_NE(store, nullptr);

  const FeatureMatrix x = wattson::testing::RandomRows(features, 20, 3);
  std::vector<std::vector<double>> rows;
  std::vector<double> sum(2, 0.0);
  for (std::size_t r = 0; r < x.rows(); ++r) {
    rows.push_back({x.at(r, 0) / 3, x.at(r, 1) / 3});
    sum[0] += rows.back()[0];
    sum[1] += rows.back()[1];
  }
  rows.push_back({0, 0});
  FeatureMatrix node = FeatureMatrix::FromRows(features, {{0, 0}, sum}).value();
  auto f = model->Predict(node).value();

  for (DynPowerRule rule : {DynPowerRule::kNodeConserving, DynPowerRule::kPerRow}) {
    EstimatorOptions opts;
    opts.dyn_power_rule = rule;
    Estimator est(store.get(), opts);
    auto reply = Reply(est, KeplerRequest(features, rows, "DynPower", "rapl-sysfs", {}, {}, ""));
    ASSERT_EQ(reply["msg"], "") << reply.dump();
    for (Component c : {Component::kPackage, Component::kDram}) {
      const auto& w = reply["powers"][std::string(ComponentName(c))];
      ASSERT_EQ(w.size(), rows.size());
      double total = 0;
      for (std::size_t r = 0; r < rows.size(); ++r) {
        EXPECT_GE(w[r].get<double>(), 0.0);
        total += w[r].get<double>();
      }
      EXPECT_EQ(w.back().get<double>(), 0.0);  // the all-zero row
      const auto* fc = f.Find(c);
      const double node_dyn = std::max(0.0, fc->watts[1].value() - fc->watts[0].value());
      if (rule == DynPowerRule::kNodeConserving) {
        EXPECT_NEAR(total, node_dyn, 1e-9 * std::max(1.0, node_dyn)) << ComponentName(c);
      } else {
        FeatureMatrix one = FeatureMatrix::FromRows(features, {rows[0]}).value();
        auto p0 = model->Predict(one).value();
        EXPECT_NEAR(w[0].get<double>(),
                    std::max(0.0, p0.Find(c)->watts[0].value() - fc->watts[0].value()), 1e-9);
      }
    }
  }
}

TEST(EstimatorTest, DynPowerFallbackSplitsByUsage) {
  // Every row predicts f(0) (d = 0) but the node does not: split by usage share.
  FeatureMatrix x = FeatureMatrix::FromRows({"a", "b"}, {{1, 0}, {3, 0}, {0, 0}, {4, 0}}).value();
  PowerPrediction p;
  p.rows = 4;
  p.components.push_back({Component::kPackage, {Watts(5), Watts(5), Watts(5), Watts(9)}});
  ApplyDynPowerRule(DynPowerRule::kNodeConserving, 2, x, &p);
  ASSERT_EQ(p.rows, 2u);
  EXPECT_DOUBLE_EQ(p.components[0].watts[0].value(), 1.0);
  EXPECT_DOUBLE_EQ(p.components[0].watts[1].value(), 3.0);
}

TEST(EstimatorTest, SelectionPrefersTrainerThenAnyAndErrorsAreClear) {
  TempDir dir;
  SaveLinear(dir.file("sgd.json"), 10, 1, OutputType::kAbsPower, "rapl-sysfs", 5.0);
  SaveLinear(dir.file("gbr.json"), 20, 1, OutputType::kAbsPower, "rapl-sysfs", 1.0,
             "GradientBoostingRegressorTrainer");
  auto store = MakeStore(DirConfig(dir.path()));
  Estimator est(store.get(), {});
  const std::vector<std::string> metrics = {"bpf_cpu_time_ms"};
  auto sgd = Reply(est, KeplerRequest(metrics, {{0}}, "AbsPower", "intel_rapl"));
  EXPECT_EQ(sgd["powers"]["package"][0], 10.0) << sgd.dump();
  auto any = Reply(est, KeplerRequest(metrics, {{0}}, "AbsPower", "intel_rapl", {}, {}, ""));
  EXPECT_EQ(any["powers"]["package"][0], 20.0);  // lowest mae
  auto other = Reply(est, KeplerRequest(metrics, {{0}}, "AbsPower", "intel_rapl", {}, {}, "Xgb"));
  EXPECT_EQ(other["powers"]["package"][0], 20.0);  // kPrefer: no Xgb model, best of any

  ModelSourceConfig strict = DirConfig(dir.path());
  strict.trainer_match = TrainerMatch::kStrict;
  auto strict_store = MakeStore(strict);
  Estimator strict_est(strict_store.get(), {});
  auto none =
      Reply(strict_est, KeplerRequest(metrics, {{0}}, "AbsPower", "intel_rapl", {}, {}, "Xgb"));
  EXPECT_THAT(none["msg"].get<std::string>(), HasSubstr("trainer matching 'Xgb'"));
  EXPECT_TRUE(none["powers"].empty());

  auto unknown = Reply(est, KeplerRequest({"foo"}, {{1}}, "AbsPower", "intel_rapl"));
  EXPECT_THAT(unknown["msg"].get<std::string>(),
              HasSubstr("no AbsPower model for source rapl-sysfs and metrics [foo]"));
  auto acpi = Reply(est, KeplerRequest(metrics, {{1}}, "AbsPower", "acpi"));
  EXPECT_THAT(acpi["msg"].get<std::string>(), HasSubstr("no AbsPower model"));
  // The failure is cached: the same answer again, without another search.
  auto again = Reply(est, KeplerRequest({"foo"}, {{1}}, "AbsPower", "intel_rapl"));
  EXPECT_EQ(again["msg"], unknown["msg"]);
  EXPECT_EQ(store->Snapshot().cached_failures, 2u);
}

TEST(EstimatorTest, NoSourceConfigured) {
  auto store = MakeStore({});
  Estimator est(store.get(), {});
  auto r = Reply(est, KeplerRequest({"a"}, {{1}}, "AbsPower", "acpi"));
  EXPECT_THAT(r["msg"].get<std::string>(), HasSubstr("no model source is configured"));
}

TEST(EstimatorTest, MissingModelDirectoryFailsAtStart) {
  auto store = ModelStore::Create(DirConfig("/nonexistent/wattson-models"), nullptr);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("/nonexistent/wattson-models"));
}

double PredictPackage(const Resolution& r, double x) {
  FeatureMatrix m = FeatureMatrix::FromRows({"bpf_cpu_time_ms"}, {{x}}).value();
  return r.served->model->Predict(m).value().components[0].watts[0].value();
}

TEST(ModelStoreTest, RefreshSwapsChangedModelsAndKeepsOldOnBrokenOnes) {
  TempDir dir;
  SaveLinear(dir.file("m.json"), 10, 0, OutputType::kAbsPower);
  auto store = MakeStore(DirConfig(dir.path()));
  EstimateRequest req = ParseEstimateRequest(KeplerRequest({"bpf_cpu_time_ms"}, {{1}}, "AbsPower",
                                                           "intel_rapl", {}, {}, ""))
                            .value();
  auto first = store->Resolve(req).value();
  EXPECT_EQ(PredictPackage(*first, 1), 10.0);

  // Unchanged: nothing swapped, the same object keeps serving.
  auto report = store->Refresh();
  EXPECT_EQ(report.swapped, 0u);
  EXPECT_EQ(store->Resolve(req).value()->served, first->served);

  SaveLinear(dir.file("m.json"), 20, 0, OutputType::kAbsPower);
  report = store->Refresh();
  EXPECT_EQ(report.swapped, 1u);
  auto second = store->Resolve(req).value();
  EXPECT_EQ(PredictPackage(*second, 1), 20.0);
  EXPECT_EQ(PredictPackage(*first, 1), 10.0);  // a request holding the old model finishes on it

  ASSERT_TRUE(WriteLocalFileAtomic(dir.file("m.json"), "{\"format\": \"wattson-model\", ").ok());
  report = store->Refresh();
  EXPECT_EQ(report.swapped, 0u);
  EXPECT_EQ(report.kept_on_error, 1u);
  EXPECT_EQ(PredictPackage(*store->Resolve(req).value(), 1), 20.0);
  const StoreSnapshot snap = store->Snapshot();
  EXPECT_EQ(snap.refreshes, 3u);
  EXPECT_EQ(snap.swaps, 1u);
  EXPECT_GE(snap.rejected, 1u);
  ASSERT_EQ(snap.models.size(), 1u);
  EXPECT_EQ(snap.errors.count("model dir " + dir.path()), 1u);
}

TEST(ModelStoreTest, ConcurrentResolveDuringRefresh) {
  TempDir dir;
  SaveLinear(dir.file("m.json"), 10, 0, OutputType::kAbsPower);
  auto store = MakeStore(DirConfig(dir.path()));
  EstimateRequest req = ParseEstimateRequest(KeplerRequest({"bpf_cpu_time_ms"}, {{1}}, "AbsPower",
                                                           "intel_rapl", {}, {}, ""))
                            .value();
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto r = store->Resolve(req);
        if (!r.ok()) {
          ++bad;
          continue;
        }
        const double v = PredictPackage(**r, 1);
        if (v != 10.0 && v != 20.0) ++bad;
      }
    });
  }
  for (int i = 0; i < 6; ++i) {
    SaveLinear(dir.file("m.json"), i % 2 == 0 ? 20 : 10, 0, OutputType::kAbsPower);
    (void)store->Refresh();
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

// A loopback HTTP server for the tests, on a free port.
class TestHttpServer {
 public:
  TestHttpServer() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TestHttpServer() {
    server_.stop();
    thread_.join();
  }
  httplib::Server& server() { return server_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(ModelFetchTest, InitUrlWeightsZipAndRefresh) {
  std::mutex mu;
  std::string weights = ReadLocalFile(BundledWeights("acpi_AbsPowerModel.json")).value();
  int status = 200;
  TestHttpServer http;
  http.server().Get("/db/specpower/acpi/AbsPower/BPFOnly/SGDRegressorTrainer_0.json",
                    [&](const httplib::Request&, httplib::Response& res) {
                      std::lock_guard<std::mutex> lock(mu);
                      res.status = status;
                      res.set_content(weights, "application/json");
                    });
  http.server().Get("/GradientBoostingRegressorTrainer_0.zip",
                    [](const httplib::Request&, httplib::Response& res) {
                      res.set_content(std::string("PK\3\4rest-of-archive"), "application/zip");
                    });
  ModelSourceConfig config;
  config.init_urls.push_back(
      {"NODE_TOTAL", http.url("/db/specpower/acpi/AbsPower/BPFOnly/SGDRegressorTrainer_0.json"),
       ""});
  config.init_urls.push_back(
      {"NODE_COMPONENTS", http.url("/GradientBoostingRegressorTrainer_0.zip"), ""});
  config.init_urls.push_back({"PROCESS_TOTAL", "http://127.0.0.1:1/nothing.json", ""});
  config.fetch_timeout = std::chrono::milliseconds(2000);
  auto store = MakeStore(config);
  Estimator est(store.get(), {});
  const std::string node =
      KeplerRequest(KeplerMetrics(), {{4000, 0, 0, 0, 0, 0, 0, 0}}, "AbsPower", "acpi");
  auto ok = Reply(est, node);
  ASSERT_EQ(ok["msg"], "") << ok.dump();
  EXPECT_NEAR(ok["powers"]["platform"][0].get<double>(), 240.548, 1e-3);

  // A broken archive: the error names the URL and says why.
  auto zip = Reply(
      est, KeplerRequest(KeplerMetrics(), {{1, 0, 0, 0, 0, 0, 0, 0}}, "AbsPower", "intel_rapl"));
  EXPECT_THAT(zip["msg"].get<std::string>(), HasSubstr("not a readable zip archive"));
  EXPECT_THAT(zip["msg"].get<std::string>(), HasSubstr("NODE_COMPONENTS_INIT_URL"));

  auto down =
      Reply(est, KeplerRequest(KeplerMetrics(), {{1, 0, 0, 0, 0, 0, 0, 0}}, "DynPower", "acpi"));
  EXPECT_THAT(down["msg"].get<std::string>(), HasSubstr("PROCESS_TOTAL_INIT_URL"));

  // The URL now fails: the old model keeps serving.
  {
    std::lock_guard<std::mutex> lock(mu);
    status = 500;
  }
  auto report = store->Refresh();
  EXPECT_EQ(report.swapped, 0u);
  EXPECT_NEAR(Reply(est, node)["powers"]["platform"][0].get<double>(), 240.548, 1e-3);
  // The URL serves changed weights: swapped in.
  {
    std::lock_guard<std::mutex> lock(mu);
    status = 200;
    weights = ReadLocalFile(BundledWeights("acpi_DynPowerModel.json")).value();
  }
  report = store->Refresh();
  EXPECT_EQ(report.swapped, 1u);
  const double dyn_bias_model = 49.56491877218095 + 28.501356366108837 * 4000 / kScale;
  EXPECT_NEAR(Reply(est, node)["powers"]["platform"][0].get<double>(), dyn_bias_model, 1e-9);
}

TEST(ModelFetchTest, ModelServerWeightThenArchive) {
  std::mutex mu;
  std::vector<nlohmann::json> bodies;
  const std::string rapl_dyn =
      ReadLocalFile(BundledWeights("intel_rapl_DynPowerModel.json")).value();
  // The archive reply: a real Kepler archive (GradientBoosting over the BPFIRQ group).
  const std::string archive_path = testing::TestDataDir() +
                                   "/kepler-model-db/ec2-0.7.11_samples/rapl-sysfs/AbsPower/BPFIRQ/"
                                   "GradientBoostingRegressorTrainer_0.zip";
  const std::string archive_bytes = ReadLocalFile(archive_path).value();
  TestHttpServer http;
  http.server().Post("/model", [&](const httplib::Request& req, httplib::Response& res) {
    auto body = nlohmann::json::parse(req.body);
    {
      std::lock_guard<std::mutex> lock(mu);
      bodies.push_back(body);
    }
    if (body["output_type"] == "DynPower" && body["weight"] == true) {
      auto j = nlohmann::json::parse(rapl_dyn);
      j["model_name"] = "SGDRegressorTrainer_1";
      j["mae"] = 1.5;
      res.set_content(j.dump(), "application/json");
    } else if (body["weight"] == true) {
      res.status = 400;
      res.set_content("cannot find model for {...} at the moment", "text/html");
    } else {
      res.set_content(archive_bytes, "application/zip");
    }
  });
  ModelSourceConfig config;
  config.model_server_enable = true;
  config.model_server_endpoint = http.url("/model");
  auto store = MakeStore(config);
  Estimator est(store.get(), {});
  auto dyn = Reply(
      est, KeplerRequest(KeplerMetrics(), {{1000, 0, 0, 0, 0, 0, 0, 0}}, "DynPower", "intel_rapl"));
  ASSERT_EQ(dyn["msg"], "") << dyn.dump();
  EXPECT_NEAR(dyn["powers"]["package"][0].get<double>(), 22.258830113477515 * 1000 / kScale, 1e-9);
  auto abs = Reply(
      est, KeplerRequest(KeplerMetrics(), {{1000, 0, 0, 0, 0, 0, 0, 0}}, "AbsPower", "intel_rapl"));
  ASSERT_EQ(abs["msg"], "") << abs.dump();
  auto direct = archive::LoadKeplerArchive(archive_path);
  ASSERT_TRUE(direct.ok()) << direct.status().message();
  const std::vector<std::string> bpfirq = {"bpf_block_irq", "bpf_cpu_time_ms", "bpf_net_rx_irq",
                                           "bpf_net_tx_irq", "bpf_page_cache_hit"};
  auto x = FeatureMatrix::FromRows(bpfirq, {{0, 1000, 0, 0, 0}});
  ASSERT_TRUE(x.ok());
  auto want = direct->model->Predict(*x);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(abs["powers"]["package"][0].get<double>(),
            want->Find(Component::kPackage)->watts[0].value());
  EXPECT_EQ(abs["powers"]["dram"][0].get<double>(), want->Find(Component::kDram)->watts[0].value());
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_EQ(bodies[0]["source"], "rapl-sysfs");
  EXPECT_EQ(bodies[0]["trainer_name"], "SGDRegressorTrainer");
  EXPECT_EQ(bodies[0]["metrics"].back(), "cpu_architecture");  // system features appended
  EXPECT_EQ(bodies[2]["weight"], false);
}

TEST(ModelFetchTest, BytesAndUrls) {
  auto notmodel = ModelFromBytes("{\"a\": 1}", "x", {});
  ASSERT_FALSE(notmodel.ok());
  EXPECT_THAT(notmodel.status().message(), HasSubstr("not a model document"));
  auto garbage = ModelFromBytes("<html>", "x", {});
  ASSERT_FALSE(garbage.ok());
  auto ftp = FetchUrl("ftp://host/x.json", {});
  ASSERT_FALSE(ftp.ok());
  EXPECT_THAT(ftp.status().message(), HasSubstr("only http, https and file"));
  auto file = FetchUrl("file://" + BundledWeights("acpi_AbsPowerModel.json"), {});
  ASSERT_TRUE(file.ok());
  ModelHints hints;
  hints.path = "https://h/db/x/acpi/DynPower/BPFOnly/SGDRegressorTrainer_3.json?raw=1";
  auto m = ModelFromBytes(*file, "y", hints);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->info().output_type, OutputType::kDynPower);
  EXPECT_EQ((*m)->info().trainer, "SGDRegressorTrainer");
  EXPECT_EQ((*m)->info().node_type, 3);
}

}  // namespace
}  // namespace wattson::estimator
