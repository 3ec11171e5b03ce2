#include "export/http_server.h"

#include <string>

#include "common/net_text.h"
#include "export/snapshot_json.h"
#include "export/test_scenario.h"
#include "export/web_page.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace wattson::exporter {
namespace {

TEST(ExportStateTest, HistoryKeepsTheWindow) {
  FakeClock clock;
  ExportState state(clock, Seconds(60.0), 1000);
  auto ledger = testing::ScenarioLedger();
  for (int i = 0; i < 40; ++i) {
    state.Publish(ledger, testing::ScenarioStatus());
    clock.Advance(Seconds(3.0));
  }
  const auto history = state.History();
  ASSERT_EQ(history.size(), 21u);  // 60 s of 3 s ticks, both ends included
  EXPECT_EQ(history.back().unix_ms - history.front().unix_ms, 60000);
  // package 30 W + dram 5 W + other 15 W (platform is not added: other is its remainder).
  EXPECT_DOUBLE_EQ(history.back().total_watts, 50.0);
  EXPECT_DOUBLE_EQ(history.back().zones.at("platform"), 50.0);

  ExportState small(clock, Seconds(600.0), 5);
  for (int i = 0; i < 10; ++i) small.Publish(ledger, {});
  EXPECT_EQ(small.History().size(), 5u);
}

TEST(ExportStateTest, LiveLedgerIsSnapshotWhenReadOncePerTick) {
  FakeClock clock;
  ExportState state(clock);
  auto ledger = std::make_shared<attribution::EnergyLedger>();
  attribution::Attributor attributor;
  ledger->Apply(*attributor.Tick(testing::ScenarioTick()));
  state.Publish(std::shared_ptr<const attribution::EnergyLedger>(ledger),
                testing::ScenarioStatus());
  // History comes from the node zones at publish time, as with a fixed snapshot.
  ASSERT_EQ(state.History().size(), 1u);
  EXPECT_DOUBLE_EQ(state.History().back().total_watts, 50.0);
  const ExportView a = state.View();
  const ExportView b = state.View();
  ASSERT_TRUE(a.ledger);
  EXPECT_EQ(a.ledger->ticks, 1u);
  EXPECT_EQ(a.ledger.get(), b.ledger.get());  // one build per tick, shared by readers
  EXPECT_EQ(a.ledger->processes.size(), 4u);
  // A later tick is seen by the next reader, and the earlier snapshot is unchanged.
  ledger->Apply(*attributor.Tick(testing::ScenarioTick()));
  const ExportView c = state.View();
  EXPECT_EQ(c.ledger->ticks, 2u);
  EXPECT_EQ(a.ledger->ticks, 1u);
  EXPECT_DOUBLE_EQ(c.ledger->node.front().dynamic.value(),
                   2 * a.ledger->node.front().dynamic.value());
  // The same numbers as a snapshot published directly.
  ExportState fixed(clock);
  fixed.Publish(testing::ScenarioLedger(), testing::ScenarioStatus());
  EXPECT_EQ(fixed.View().ledger->ticks, 2u);
  EXPECT_DOUBLE_EQ(fixed.View().ledger->node.front().dynamic.value(),
                   c.ledger->node.front().dynamic.value());
}

TEST(HealthTest, States) {
  FakeClock clock;
  ExportState state(clock);
  HealthReport h = CheckHealth(state.View(), clock.Now(), Seconds(10.0));
  EXPECT_FALSE(h.healthy);
  EXPECT_EQ(h.reason, "no tick yet");

  state.Publish(testing::ScenarioLedger(), testing::ScenarioStatus());
  clock.Advance(Seconds(4.0));
  h = CheckHealth(state.View(), clock.Now(), Seconds(10.0));
  EXPECT_TRUE(h.healthy);

  clock.Advance(Seconds(8.0));
  h = CheckHealth(state.View(), clock.Now(), Seconds(10.0));
  EXPECT_FALSE(h.healthy);
  EXPECT_EQ(h.reason, "last tick 12.0 s ago (limit 10.0 s)");

  AgentStatus sick = testing::ScenarioStatus();
  sick.unhealthy_reason = "no power source works";
  state.Publish(testing::ScenarioLedger(), sick);
  h = CheckHealth(state.View(), clock.Now(), Seconds(10.0));
  EXPECT_FALSE(h.healthy);
  EXPECT_EQ(h.reason, "no power source works");
}

TEST(SnapshotJsonTest, Shape) {
  FakeClock clock;
  ExportState state(clock);
  state.Publish(testing::ScenarioLedger(), testing::ScenarioStatus());
  SnapshotJsonOptions opt;
  opt.top_n = 2;
  const Json j = BuildSnapshotJson(state.View(), state.History(), state.history_window(), opt);
  EXPECT_EQ(j.at("ticks"), 2);
  EXPECT_DOUBLE_EQ(j.at("tick_interval_seconds").get<double>(), 3.0);
  const Json& node = j.at("node");
  EXPECT_DOUBLE_EQ(node.at("watts").get<double>(), 50.0);
  EXPECT_EQ(node.at("origin"), "estimated");  // "other" comes from the estimated platform
  ASSERT_EQ(node.at("zones").size(), 4u);     // dram, other, package, platform
  const Json& platform = node.at("zones").at(3);
  EXPECT_EQ(platform.at("zone"), "platform");
  EXPECT_EQ(platform.at("origin"), "estimated");
  EXPECT_EQ(platform.at("model_id"), "nx12-linear");
  EXPECT_EQ(platform.at("idle_method"), "model");
  EXPECT_DOUBLE_EQ(platform.at("idle_watts").get<double>(), 20.0);
  EXPECT_EQ(node.at("zones").at(2).at("origin"), "measured");

  const Json& top = j.at("top");
  ASSERT_EQ(top.at("processes").size(), 2u);
  EXPECT_EQ(top.at("processes").at(0).at("pid"), 300);  // the VM: half the CPU time
  EXPECT_GE(top.at("processes").at(0).at("watts").get<double>(),
            top.at("processes").at(1).at("watts").get<double>());
  ASSERT_EQ(top.at("pods").size(), 1u);
  EXPECT_EQ(top.at("pods").at(0).at("name"), "frontend");
  EXPECT_EQ(top.at("pods").at(0).at("namespace"), "shop");
  // frontend (CPU share 1.5 / 4): package 22.5 + dram 3.375 + other 7.875 = 33.75 J per 3 s.
  EXPECT_DOUBLE_EQ(top.at("pods").at(0).at("watts").get<double>(), 11.25);
  ASSERT_EQ(top.at("containers").size(), 2u);
  ASSERT_EQ(top.at("vms").size(), 1u);
  EXPECT_EQ(top.at("vms").at(0).at("id"), "vm-1");

  ASSERT_EQ(j.at("models").size(), 1u);
  EXPECT_EQ(j.at("models").at(0).at("id"), "nx12-linear");
  EXPECT_DOUBLE_EQ(j.at("models").at(0).at("errors").at("mae").get<double>(), 8.5);
  EXPECT_EQ(j.at("models").at(0).at("input_out_of_range"), false);
  EXPECT_EQ(j.at("history").at("points").size(), 1u);
  EXPECT_DOUBLE_EQ(j.at("history").at("window_seconds").get<double>(), 600.0);
  EXPECT_EQ(j.at("source_errors").at("rapl"), 2);
}

TEST(WebPageTest, SelfContained) {
  const std::string html(IndexHtml());
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src=\""), std::string::npos);  // no external scripts or images
  EXPECT_EQ(html.find("<link"), std::string::npos);   // no external stylesheets
  EXPECT_NE(html.find("api/v1/snapshot"), std::string::npos);
  EXPECT_NE(html.find("<canvas"), std::string::npos);
  EXPECT_EQ(html.find("innerHTML"), std::string::npos);  // data reach the DOM as text only
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.address = "127.0.0.1:0";
    options_.max_tick_age = Seconds(10.0);
  }
  void StartServer() {
    server_ = std::make_unique<AgentHttpServer>(state_, options_, nullptr);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(5, 0);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  FakeClock clock_;
  ExportState state_{clock_};
  HttpOptions options_;
  std::unique_ptr<AgentHttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServerTest, ServesEveryEndpoint) {
  StartServer();
  auto res = client_->Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "no tick yet\n");

  state_.Publish(testing::ScenarioLedger(), testing::ScenarioStatus());
  res = client_->Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  clock_.Advance(Seconds(30.0));
  res = client_->Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_NE(res->body.find("last tick 30.0 s ago"), std::string::npos);

  res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(res->body.find("kepler_container_joules_total{"), std::string::npos);

  res = client_->Get("/api/v1/snapshot");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  auto j = ParseJson(res->body, "snapshot");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->at("health").at("healthy"), false);
  EXPECT_TRUE(j->at("node").at("zones").is_array());

  res = client_->Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(res->body, std::string(IndexHtml()));
  EXPECT_EQ(res->body.find("http://"), std::string::npos);
  EXPECT_EQ(res->body.find("https://"), std::string::npos);

  res = client_->Get("/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(ServerTest, ConfigurableMetricsPathAndCleanStop) {
  options_.metrics_path = "/custom/metrics";
  options_.exposition.process_metrics = true;
  StartServer();
  state_.Publish(testing::ScenarioLedger(), testing::ScenarioStatus());
  auto res = client_->Get("/custom/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("kepler_process_joules_total{"), std::string::npos);
  res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  server_->Stop();
  server_->Stop();  // idempotent
  httplib::Client after("127.0.0.1", server_->port());
  after.set_connection_timeout(1, 0);
  EXPECT_FALSE(after.Get("/healthz"));
}

TEST_F(ServerTest, RejectsBadConfiguration) {
  options_.address = "nonsense";
  AgentHttpServer bad(state_, options_, nullptr);
  EXPECT_EQ(bad.Start().code(), StatusCode::kInvalidArgument);
  options_.address = "127.0.0.1:0";
  options_.metrics_path = "/healthz";
  AgentHttpServer clash(state_, options_, nullptr);
  EXPECT_EQ(clash.Start().code(), StatusCode::kInvalidArgument);
  options_.metrics_path = "/metrics";
  AgentHttpServer first(state_, options_, nullptr);
  ASSERT_TRUE(first.Start().ok());
  options_.address = "127.0.0.1:" + std::to_string(first.port());  // taken
  AgentHttpServer second(state_, options_, nullptr);
  EXPECT_EQ(second.Start().code(), StatusCode::kIoError);
  EXPECT_EQ(first.Start().code(), StatusCode::kFailedPrecondition);
  first.Stop();
}

TEST(ParseHostPortTest, Forms) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(ParseHostPort("0.0.0.0:9102", "bind address", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 9102);
  ASSERT_TRUE(ParseHostPort("[::1]:0", "bind address", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(ParseHostPort(":80", "bind address", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort("h:99999", "bind address", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort("h:8x", "bind address", &host, &port).ok());
}

}  // namespace
}  // namespace wattson::exporter
