#include "sources/power/passthrough.h"

#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/host_fs.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "sources/power/test_logger.h"

namespace wattson {
namespace {

using ::testing::HasSubstr;

constexpr const char* kPath = "/run/wattson/vm-power.json";

double Now(const Clock& clock) {
  return std::chrono::duration<double>(clock.WallNow().time_since_epoch()).count();
}

std::string Doc(double timestamp, const std::string& zones) {
  return fmt::format(R"({{"timestamp": {:.3f}, "zones": [{}]}})", timestamp, zones);
}

double Energy(const PowerReading& r, const std::string& zone, const std::string& key = "0") {
  for (const ZoneEnergy& z : r.zones) {
    if (z.zone == zone && z.key == key) return z.energy.value();
  }
  ADD_FAILURE() << "no zone " << zone << "/" << key;
  return -1;
}

PassthroughOptions FileOptions() {
  PassthroughOptions o;
  o.path = kPath;
  o.max_age = Seconds(10.0);
  return o;
}

TEST(PassthroughFileTest, WattsAreIntegratedAndJoulesCounted) {
  FakeHostFs fs;
  FakeClock clock;
  const std::string zones_at_0 =
      R"({"zone": "platform", "watts": 40}, {"zone": "package", "key": "1", "joules": 1000.5})";
  fs.SetFile(kPath, Doc(Now(clock), zones_at_0));
  auto src = ProbePassthrough(fs, clock, MakeNullLogger(), FileOptions());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ((*src)->name(), "passthrough");
  ASSERT_EQ((*src)->zones().size(), 2u);

  clock.Advance(Seconds(3.0));
  fs.SetFile(kPath, Doc(Now(clock), R"({"zone": "package", "key": "1", "joules": 1100.5},
                                       {"zone": "platform", "watts": 60})"));
  auto r = (*src)->Read();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_DOUBLE_EQ(Energy(*r, "platform"), 150.0);  // (40 + 60) / 2 W × 3 s
  EXPECT_DOUBLE_EQ(Energy(*r, "package", "1"), 100.0);
  EXPECT_EQ(r->at, clock.Now());
}

TEST(PassthroughFileTest, StaleDocumentIsAnErrorNotOldNumbers) {
  FakeHostFs fs;
  FakeClock clock;
  fs.SetFile(kPath, Doc(Now(clock), R"({"zone": "platform", "watts": 50})"));
  CapturingLogger log;
  auto src = ProbePassthrough(fs, clock, log.get(), FileOptions());
  ASSERT_TRUE(src.ok());

  // The publisher stops: 12 s later the document is older than max_age (10 s).
  clock.Advance(Seconds(12.0));
  auto stale = (*src)->Read();
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(stale.status().message(), HasSubstr("stale"));
  EXPECT_THAT(stale.status().message(), HasSubstr("12.0 s ago"));

  // It comes back: the gap is integrated from the last good sample (50 W for 15 s).
  clock.Advance(Seconds(3.0));
  fs.SetFile(kPath, Doc(Now(clock), R"({"zone": "platform", "watts": 50})"));
  auto back = (*src)->Read();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_DOUBLE_EQ(Energy(*back, "platform"), 750.0);

  // A stale document at probe time fails the probe.
  fs.SetFile(kPath, Doc(Now(clock) - 60, R"({"zone": "platform", "watts": 50})"));
  auto probe = ProbePassthrough(fs, clock, MakeNullLogger(), FileOptions());
  ASSERT_FALSE(probe.ok());
  EXPECT_THAT(probe.status().message(), HasSubstr("stale"));

  // A document from the future means the clocks disagree.
  fs.SetFile(kPath, Doc(Now(clock) + 3600, R"({"zone": "platform", "watts": 50})"));
  auto future = ProbePassthrough(fs, clock, MakeNullLogger(), FileOptions());
  ASSERT_FALSE(future.ok());
  EXPECT_THAT(future.status().message(), HasSubstr("in the future"));
}

TEST(PassthroughFileTest, MalformedDocumentsGiveClearErrors) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"platform 41.2", "invalid JSON"},
      {"[1, 2]", "expected a JSON object"},
      {R"({"zones": [{"zone": "platform", "watts": 1}]})", "timestamp: missing field"},
      {R"({"timestamp": "now", "zones": [{"zone": "platform", "watts": 1}]})",
       "timestamp: expected a number"},
      {R"({"timestamp": 1700000000, "zones": []})", "non-empty array"},
      {R"({"timestamp": 1700000000, "zones": [{"zone": "cpu", "watts": 1}]})",
       "'cpu' is not one of"},
      {R"({"timestamp": 1700000000, "zones": [{"zone": "platform"}]})", "exactly one of"},
      {R"({"timestamp": 1700000000, "zones": [{"zone": "platform", "watts": 1, "joules": 2}]})",
       "exactly one of"},
      {R"({"timestamp": 1700000000, "zones": [{"zone": "platform", "watts": -5}]})",
       "watts: -5 is negative"},
      {R"({"timestamp": 1700000000, "zones": [{"zone": "gpu", "key": "0", "joules": 1},
          {"zone": "gpu", "key": "0", "watts": 1}]})",
       "appears twice"},
      {R"({"timestamp": 1700000000, "zones": [{"zone": "gpu", "key": 3, "joules": 1}]})",
       "key: expected a string"},
  };
  for (const Case& c : cases) {
    auto doc = ParsePassthroughDocument(c.text, "vm.json");
    ASSERT_FALSE(doc.ok()) << c.text;
    EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(doc.status().message(), HasSubstr(c.message)) << c.text;
    EXPECT_THAT(doc.status().message(), HasSubstr("vm.json")) << c.text;
  }
  EXPECT_EQ(ParsePassthroughDocument(std::string(100, ' '), "x", 10).status().code(),
            StatusCode::kOutOfRange);

  // Mid-run: a malformed or reshaped document fails that Read() and changes nothing.
  FakeHostFs fs;
  FakeClock clock;
  fs.SetFile(kPath, Doc(Now(clock), R"({"zone": "package", "joules": 10})"));
  auto src = ProbePassthrough(fs, clock, MakeNullLogger(), FileOptions());
  ASSERT_TRUE(src.ok());
  clock.Advance(Seconds(3.0));
  fs.SetFile(kPath, "{\"timestamp\": ");
  auto bad = (*src)->Read();
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("invalid JSON"));
  fs.SetFile(kPath, Doc(Now(clock), R"({"zone": "package", "watts": 10})"));
  auto reshaped = (*src)->Read();
  ASSERT_FALSE(reshaped.ok());
  EXPECT_THAT(reshaped.status().message(), HasSubstr("zones changed"));
  fs.SetFile(kPath, Doc(Now(clock), R"({"zone": "package", "joules": 25})"));
  auto good = (*src)->Read();
  ASSERT_TRUE(good.ok());
  EXPECT_DOUBLE_EQ(Energy(*good, "package"), 15.0);

  fs.RemoveFile(kPath);
  auto gone = (*src)->Read();
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
}

TEST(PassthroughFileTest, PublisherRestartDropsOneInterval) {
  FakeHostFs fs;
  FakeClock clock;
  fs.SetFile(kPath, Doc(Now(clock), R"({"zone": "platform", "joules": 5000})"));
  CapturingLogger log;
  auto src = ProbePassthrough(fs, clock, log.get(), FileOptions());
  ASSERT_TRUE(src.ok());
  clock.Advance(Seconds(3.0));
  fs.SetFile(kPath, Doc(Now(clock), R"({"zone": "platform", "joules": 20})"));
  EXPECT_DOUBLE_EQ(Energy(*(*src)->Read(), "platform"), 0.0);
  EXPECT_TRUE(log.Contains({"warn", "went back"}));
  clock.Advance(Seconds(3.0));
  fs.SetFile(kPath, Doc(Now(clock), R"({"zone": "platform", "joules": 170})"));
  EXPECT_DOUBLE_EQ(Energy(*(*src)->Read(), "platform"), 150.0);
}

TEST(PassthroughFileTest, BadOptions) {
  FakeHostFs fs;
  FakeClock clock;
  PassthroughOptions none;
  EXPECT_EQ(ProbePassthrough(fs, clock, MakeNullLogger(), none).status().code(),
            StatusCode::kInvalidArgument);
  PassthroughOptions both = FileOptions();
  both.url = "http://127.0.0.1:1/";
  EXPECT_EQ(ProbePassthrough(fs, clock, MakeNullLogger(), both).status().code(),
            StatusCode::kInvalidArgument);
  PassthroughOptions ftp;
  ftp.url = "ftp://host/x";
  EXPECT_THAT(ProbePassthrough(fs, clock, MakeNullLogger(), ftp).status().message(),
              HasSubstr("only http:// and https://"));
}

TEST(PassthroughFileTest, StoredVmTree) {
  RootedHostFs fs(WATTSON_TESTDATA_DIR "/hosts/passthrough-vm");
  FakeClock clock;  // its wall clock starts at the document's timestamp
  auto src = ProbePassthrough(fs, clock, MakeNullLogger(), FileOptions());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  clock.Advance(Seconds(3.0));
  auto r = (*src)->Read();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->zones.size(), 3u);
  EXPECT_NEAR(Energy(*r, "platform"), 123.6, 1e-9);  // 41.2 W × 3 s
  EXPECT_DOUBLE_EQ(Energy(*r, "package"), 0.0);
  EXPECT_DOUBLE_EQ(Energy(*r, "dram"), 0.0);
}

// A loopback HTTP server on an ephemeral port serving one document.
class DocServer {
 public:
  DocServer() {
    server_.Get("/power", [this](const httplib::Request&, httplib::Response& res) {
      std::chrono::milliseconds delay;
      {
        std::lock_guard lock(mu_);
        delay = delay_;
        res.status = status_;
        res.set_content(body_, "application/json");
      }
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~DocServer() {
    server_.stop();
    thread_.join();
  }
  void Set(std::string body, int status = 200) {
    std::lock_guard lock(mu_);
    body_ = std::move(body);
    status_ = status;
  }
  void SetDelay(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    delay_ = d;
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/power", port_); }

 private:
  httplib::Server server_;
  std::mutex mu_;
  std::string body_;
  int status_ = 200;
  std::chrono::milliseconds delay_{0};
  int port_ = 0;
  std::thread thread_;
};

TEST(PassthroughHttpTest, WattsJoulesStaleAndMalformed) {
  DocServer http;
  FakeHostFs fs;  // unused by a URL source
  FakeClock clock;
  http.Set(Doc(Now(clock), R"({"zone": "platform", "watts": 100},
                             {"zone": "dram", "joules": 50})"));
  PassthroughOptions o;
  o.url = http.url();
  o.max_age = Seconds(10.0);
  auto src = ProbePassthrough(fs, clock, MakeNullLogger(), o);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ((*src)->what(), http.url());

  clock.Advance(Seconds(3.0));
  http.Set(Doc(Now(clock), R"({"zone": "platform", "watts": 100},
                             {"zone": "dram", "joules": 80})"));
  auto r = (*src)->Read();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_DOUBLE_EQ(Energy(*r, "platform"), 300.0);
  EXPECT_DOUBLE_EQ(Energy(*r, "dram"), 30.0);

  clock.Advance(Seconds(11.0));
  auto stale = (*src)->Read();
  ASSERT_FALSE(stale.ok());
  EXPECT_THAT(stale.status().message(), HasSubstr("stale"));

  http.Set("<html>oops</html>");
  auto malformed = (*src)->Read();
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(malformed.status().message(), HasSubstr("invalid JSON"));

  http.Set("not here", 404);
  auto missing = (*src)->Read();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(missing.status().message(), HasSubstr("HTTP 404"));
}

TEST(PassthroughHttpTest, TransportFailuresAndTimeouts) {
  FakeHostFs fs;
  FakeClock clock;
  PassthroughOptions refused;
  refused.url = "http://127.0.0.1:1/power";
  auto r1 = ProbePassthrough(fs, clock, MakeNullLogger(), refused);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(r1.status().message(), HasSubstr("GET failed"));

  DocServer http;
  http.Set(Doc(Now(clock), R"({"zone": "platform", "watts": 1})"));
  http.SetDelay(std::chrono::milliseconds(800));
  PassthroughOptions slow;
  slow.url = http.url();
  slow.timeout = Seconds(0.2);
  const auto start = std::chrono::steady_clock::now();
  auto r2 = ProbePassthrough(fs, clock, MakeNullLogger(), slow);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), StatusCode::kUnavailable);
  EXPECT_LT(took, std::chrono::milliseconds(750));
  http.SetDelay(std::chrono::milliseconds(0));

  // Oversized documents are refused.
  http.Set(std::string(2000, ' '));
  PassthroughOptions small;
  small.url = http.url();
  small.max_bytes = 1000;
  EXPECT_EQ(ProbePassthrough(fs, clock, MakeNullLogger(), small).status().code(),
            StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace wattson
