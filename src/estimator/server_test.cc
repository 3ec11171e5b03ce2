#include "estimator/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/net_text.h"
#include "estimator/binary_codec.h"
#include "estimator/client.h"
#include "estimator/estimator.h"
#include "estimator/metrics_http.h"
#include "estimator/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace wattson::estimator {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::KeplerMetrics;
using testing::KeplerRequest;
using ::testing::StartsWith;
using namespace std::chrono_literals;

constexpr double kScale = 5911.969193263386;
constexpr double kPkgBias = 69.91739430907396;
constexpr double kPkgWeight = 22.16772409328642;

std::vector<double> Row(double cpu_ms) { return {cpu_ms, 0, 0, 0, 0, 0, 0, 0}; }

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string models = dir_.file("models");
    fs::create_directory(models);
    for (const char* f : {"acpi_AbsPowerModel.json", "acpi_DynPowerModel.json",
                          "intel_rapl_AbsPowerModel.json", "intel_rapl_DynPowerModel.json"}) {
      fs::copy_file(testing::TestDataDir() + "/kepler-v0.7.11/model_weight/" + f, models + "/" + f);
    }
    ModelSourceConfig config;
    config.model_dirs = {models};
    store_ = ModelStore::Create(config, nullptr).value();
    estimator_ = std::make_unique<Estimator>(store_.get(), EstimatorOptions{});
    options_.socket_path = dir_.file("estimator.sock");
    options_.read_timeout = 3s;
    options_.write_timeout = 3s;
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void Start() {
    server_ = std::make_unique<EstimatorServer>(options_, estimator_.get(), &telemetry_, nullptr);
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string Call(const std::string& request) {
    auto r = KeplerRoundTrip(options_.socket_path, request, 10s);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::string();
  }

  nlohmann::json CallJson(const std::string& request) {
    return nlohmann::json::parse(Call(request));
  }

  std::string NodeRequest(double cpu_ms) {
    return KeplerRequest(KeplerMetrics(), {Row(cpu_ms)}, "AbsPower", "intel_rapl");
  }
  static double ExpectedPackage(double cpu_ms) { return kPkgBias + kPkgWeight * cpu_ms / kScale; }

  // The server records a framed request after writing its reply, so a client that has its reply
  // may look before the count moves: wait (at most 5 s) until it reaches want.
  std::uint64_t RequestsWhenAtLeast(Protocol protocol, Outcome outcome, std::uint64_t want) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (telemetry_.requests(protocol, outcome) < want &&
           std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(1ms);
    }
    return telemetry_.requests(protocol, outcome);
  }

  testing::TempDir dir_;
  std::unique_ptr<ModelStore> store_;
  std::unique_ptr<Estimator> estimator_;
  Telemetry telemetry_;
  ServerOptions options_;
  std::unique_ptr<EstimatorServer> server_;
};

TEST_F(ServerTest, KeplerNodeRequestByteExact) {
  Start();
  const std::string reply = Call(NodeRequest(4000));
  EXPECT_THAT(reply, StartsWith("{\"powers\": {\"package\": ["));
  auto j = nlohmann::json::parse(reply);
  EXPECT_EQ(j["msg"], "");
  EXPECT_NEAR(j["powers"]["package"][0].get<double>(), ExpectedPackage(4000), 1e-9);
  EXPECT_EQ(j["powers"]["core"][0].get<double>(), 0.0);
  EXPECT_EQ(j["powers"].size(), 4u);
  EXPECT_EQ(telemetry_.requests(Protocol::kKepler, Outcome::kOk), 1u);
}

TEST_F(ServerTest, OneByteWrites) {
  Start();
  const std::string request = NodeRequest(1234.5);
  const std::string expected = Call(request);
  auto fd = ConnectUnix(options_.socket_path);
  ASSERT_TRUE(fd.ok());
  UniqueFd sock(*fd);
  for (std::size_t i = 0; i < request.size(); ++i) {
    ASSERT_EQ(
        WriteAll(sock.get(), request.substr(i, 1), std::chrono::steady_clock::now() + 5s).status,
        IoStatus::kOk);
    if (i % 32 == 0) std::this_thread::sleep_for(100us);
  }
  std::string reply;
  char buf[4096];
  for (;;) {
    IoResult r = ReadSome(sock.get(), buf, sizeof(buf), std::chrono::steady_clock::now() + 5s);
    if (r.status != IoStatus::kOk) {
      EXPECT_EQ(r.status, IoStatus::kEof);
      break;
    }
    reply.append(buf, r.bytes);
  }
  EXPECT_EQ(reply, expected);
}

TEST_F(ServerTest, MalformedRequestsGetErrorsAndServingGoesOn) {
  Start();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hello", "must be a JSON object"},
      {"[1,2,3]", "must be a JSON object"},
      {R"({"metrics":["a"],"values":[[1]],"output_type":"AbsPower","source":"acpi","x":1})",
       "unknown field"},
      {R"({"metrics":["bpf_cpu_time_ms"],"values":[[1],[2,3]],"output_type":"AbsPower","source":"acpi"})",
       "values[1]"},
      {R"({"metrics":["bpf_cpu_time_ms"],"values":[[NaN]],"output_type":"AbsPower","source":"acpi"})",
       "NaN"},
      {R"({"metrics":["bpf_cpu_time_ms"],"values":[],"output_type":"AbsPower","source":"acpi"})",
       "no rows"},
      {R"({"metrics":["nope"],"values":[[1]],"output_type":"AbsPower","source":"acpi"})",
       "no AbsPower model"},
      {R"({"a":[1}})", "cannot close an array"},
  };
  for (const auto& [request, expect] : cases) {
    auto j = CallJson(request);
    EXPECT_THAT(j["msg"].get<std::string>(), HasSubstr(expect)) << request;
    EXPECT_TRUE(j["powers"].empty());
  }
  // Half a request, then the client closes its sending side.
  {
    auto fd = ConnectUnix(options_.socket_path);
    ASSERT_TRUE(fd.ok());
    UniqueFd sock(*fd);
    ASSERT_EQ(WriteAll(sock.get(), "{\"metrics\": [", std::chrono::steady_clock::now() + 2s).status,
              IoStatus::kOk);
    ::shutdown(sock.get(), SHUT_WR);
    char buf[1024];
    IoResult r = ReadSome(sock.get(), buf, sizeof(buf), std::chrono::steady_clock::now() + 5s);
    ASSERT_EQ(r.status, IoStatus::kOk);
    EXPECT_THAT(std::string(buf, r.bytes), HasSubstr("before its JSON object was complete"));
  }
  // Connect and close without a byte.
  { UniqueFd sock(ConnectUnix(options_.socket_path).value()); }
  EXPECT_NEAR(CallJson(NodeRequest(10))["powers"]["package"][0].get<double>(), ExpectedPackage(10),
              1e-9);
}

TEST_F(ServerTest, SilentClientTimesOut) {
  options_.read_timeout = 200ms;
  Start();
  auto fd = ConnectUnix(options_.socket_path);
  ASSERT_TRUE(fd.ok());
  UniqueFd sock(*fd);
  const auto start = std::chrono::steady_clock::now();
  std::string reply;
  char buf[1024];
  for (;;) {
    IoResult r = ReadSome(sock.get(), buf, sizeof(buf), start + 5s);
    if (r.status != IoStatus::kOk) break;
    reply.append(buf, r.bytes);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_THAT(reply, HasSubstr("no request arrived within 200 ms"));
  EXPECT_NEAR(CallJson(NodeRequest(10))["powers"]["package"][0].get<double>(), ExpectedPackage(10),
              1e-9);
}

TEST_F(ServerTest, HundredMegabyteRequestIsRefused) {
  options_.max_request_bytes = 1 << 20;
  Start();
  auto fd = ConnectUnix(options_.socket_path);
  ASSERT_TRUE(fd.ok());
  UniqueFd sock(*fd);
  std::string chunk = R"({"metrics":["bpf_cpu_time_ms"],"values":[)";
  std::string rows;
  while (rows.size() < 65536) rows += "[1],";
  std::size_t sent = 0;
  IoResult w = WriteAll(sock.get(), chunk, std::chrono::steady_clock::now() + 5s);
  while (w.status == IoStatus::kOk && sent < (std::size_t{100} << 20)) {
    w = WriteAll(sock.get(), rows, std::chrono::steady_clock::now() + 5s);
    sent += rows.size();
  }
  EXPECT_NE(w.status, IoStatus::kOk);  // the server stopped reading and closed
  EXPECT_LT(sent, std::size_t{100} << 20);
  std::string reply;
  char buf[4096];
  for (;;) {
    IoResult r = ReadSome(sock.get(), buf, sizeof(buf), std::chrono::steady_clock::now() + 5s);
    if (r.status != IoStatus::kOk) break;
    reply.append(buf, r.bytes);
  }
  EXPECT_THAT(reply, HasSubstr("exceeds the limit of 1048576 bytes"));
  EXPECT_EQ(telemetry_.requests(Protocol::kKepler, Outcome::kTooLarge), 1u);
  EXPECT_NEAR(CallJson(NodeRequest(10))["powers"]["package"][0].get<double>(), ExpectedPackage(10),
              1e-9);
}

TEST_F(ServerTest, SixtyFourConcurrentClients) {
  Start();
  std::atomic<int> failures{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 64; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        const double cpu = t * 100 + i;
        const int now = ++in_flight;
        int prev = max_in_flight.load();
        while (now > prev && !max_in_flight.compare_exchange_weak(prev, now)) {
        }
        auto r = KeplerRoundTrip(options_.socket_path, NodeRequest(cpu), 20s);
        --in_flight;
        if (!r.ok()) {
          ++failures;
          continue;
        }
        auto j = nlohmann::json::parse(*r, nullptr, false);
        if (j.is_discarded() || j["msg"] != "" ||
            std::abs(j["powers"]["package"][0].get<double>() - ExpectedPackage(cpu)) > 1e-9) {
          ++failures;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(telemetry_.requests(Protocol::kKepler, Outcome::kOk), 256u);
}

TEST_F(ServerTest, TenThousandRowsFourComponents) {
  Start();
  std::vector<std::vector<double>> rows;
  for (int i = 0; i < 10000; ++i) rows.push_back(Row(i));
  const std::string reply = Call(KeplerRequest(KeplerMetrics(), rows, "AbsPower", "intel_rapl"));
  EXPECT_GT(reply.size(), 4096u * 10);  // far beyond Kepler's single 4096-byte read
  auto j = nlohmann::json::parse(reply);
  ASSERT_EQ(j["msg"], "");
  for (const char* c : {"package", "core", "uncore", "dram"}) {
    ASSERT_EQ(j["powers"][c].size(), 10000u) << c;
  }
  EXPECT_NEAR(j["powers"]["package"][9999].get<double>(), ExpectedPackage(9999), 1e-9);
}

TEST_F(ServerTest, ClientVanishingMidReply) {
  Start();
  std::vector<std::vector<double>> rows;
  for (int i = 0; i < 10000; ++i) rows.push_back(Row(i));
  const std::string request = KeplerRequest(KeplerMetrics(), rows, "AbsPower", "intel_rapl");
  for (int k = 0; k < 3; ++k) {
    auto fd = ConnectUnix(options_.socket_path);
    ASSERT_TRUE(fd.ok());
    UniqueFd sock(*fd);
    ASSERT_EQ(WriteAll(sock.get(), request, std::chrono::steady_clock::now() + 5s).status,
              IoStatus::kOk);
    char buf[100];
    (void)ReadSome(sock.get(), buf, sizeof(buf), std::chrono::steady_clock::now() + 5s);
    // Close with most of the reply unread.
  }
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (telemetry_.events(ConnectionEvent::kClientGone) < 3 &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(telemetry_.events(ConnectionEvent::kClientGone), 3u);
  EXPECT_NEAR(CallJson(NodeRequest(10))["powers"]["package"][0].get<double>(), ExpectedPackage(10),
              1e-9);
}

TEST_F(ServerTest, StopEndsWaitsAndRemovesTheSocket) {
  Start();
  auto framed = FramedClient::Connect(options_.socket_path, 5s);
  ASSERT_TRUE(framed.ok()) << framed.status().ToString();
  auto half = ConnectUnix(options_.socket_path);
  ASSERT_TRUE(half.ok());
  UniqueFd half_sock(*half);
  ASSERT_EQ(
      WriteAll(half_sock.get(), "{\"metrics\":", std::chrono::steady_clock::now() + 1s).status,
      IoStatus::kOk);
  std::this_thread::sleep_for(50ms);
  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_FALSE(fs::exists(options_.socket_path));
  EXPECT_FALSE(framed->Call(NodeRequest(1)).ok());
  server_->Stop();  // idempotent
}

TEST_F(ServerTest, SocketModeAndStaleSocket) {
  // A stale socket: bound, never listening, its process gone.
  {
    UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, options_.socket_path.c_str());
    ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ASSERT_TRUE(fs::exists(options_.socket_path));
  Start();
  struct stat st {};
  ASSERT_EQ(::stat(options_.socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(CallJson(NodeRequest(0))["msg"], "");

  // A live socket is not stolen.
  EstimatorServer second(options_, estimator_.get(), nullptr, nullptr);
  Status s = second.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("already listening"));
  EXPECT_EQ(CallJson(NodeRequest(0))["msg"], "");

  // A regular file is never replaced.
  ServerOptions other = options_;
  other.socket_path = dir_.file("not-a-socket");
  std::ofstream(other.socket_path) << "keep me";
  EstimatorServer third(other, estimator_.get(), nullptr, nullptr);
  s = third.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("not a socket"));
  std::ifstream in(other.socket_path);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "keep me");
}

TEST_F(ServerTest, FramedProtocol) {
  Start();
  auto client = FramedClient::Connect(options_.socket_path, 5s);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ(client->version(), 2);
  EXPECT_THAT(client->hello(), HasSubstr("\"max_request_bytes\": 16777216"));
  auto reply = client->Call(NodeRequest(4000));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(*reply, Call(NodeRequest(4000)));
  // Pipelined: three requests, then three replies in order.
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(client->Send(NodeRequest(i * 1000)).ok());
  for (int i = 1; i <= 3; ++i) {
    auto r = client->Receive();
    ASSERT_TRUE(r.ok());
    EXPECT_NEAR(nlohmann::json::parse(*r)["powers"]["package"][0].get<double>(),
                ExpectedPackage(i * 1000), 1e-9);
  }
  EXPECT_TRUE(client->Ping().ok());
  auto bad = client->Call("{\"metrics\": 1}");
  ASSERT_TRUE(bad.ok());
  EXPECT_THAT(*bad, HasSubstr("expected an array of strings"));
  // A frame over the limit: an error frame, then the connection closes.
  std::string header;
  AppendU32(static_cast<std::uint32_t>(options_.max_request_bytes + 1), &header);
  ASSERT_EQ(WriteAll(client->fd(), header, std::chrono::steady_clock::now() + 1s).status,
            IoStatus::kOk);
  auto too_big = client->Receive();
  ASSERT_TRUE(too_big.ok());
  EXPECT_THAT(*too_big, HasSubstr("exceeds the limit of 16777216 bytes"));
  EXPECT_FALSE(client->Call(NodeRequest(1)).ok());
  EXPECT_EQ(telemetry_.requests(Protocol::kFramed, Outcome::kOk), 4u);
}

TEST_F(ServerTest, FramedBinaryPayloadsGiveTheJsonRepliesWatts) {
  Start();
  auto client = FramedClient::Connect(options_.socket_path, 5s);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_EQ(client->version(), kFramedVersionBinary);
  BinaryRequest b;
  b.metrics = KeplerMetrics();
  for (double cpu : {0.0, 1234.5, 4000.0}) {
    const auto row = Row(cpu);
    b.values.insert(b.values.end(), row.begin(), row.end());
    ++b.rows;
  }
  b.source = "intel_rapl";
  b.system_features = {"cpu_architecture"};
  b.system_values = {"Sky Lake"};
  auto payload = EncodeBinaryRequest(b);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  auto raw = client->Call(*payload);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  auto reply = ParseBinaryReply(*raw);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->msg, "");
  ASSERT_EQ(reply->rows, 3u);
  // The same request as JSON on the same connection: the same doubles, bit for bit.
  auto json = client->Call(
      KeplerRequest(KeplerMetrics(), {Row(0), Row(1234.5), Row(4000)}, "AbsPower", "intel_rapl"));
  ASSERT_TRUE(json.ok());
  const auto j = nlohmann::json::parse(*json);
  ASSERT_EQ(reply->components.size(), j["powers"].size());
  for (const auto& c : reply->components) {
    ASSERT_TRUE(j["powers"].contains(c.name)) << c.name;
    for (std::size_t r = 0; r < 3; ++r) EXPECT_EQ(c.watts[r], j["powers"][c.name][r].get<double>());
  }
  EXPECT_NEAR(reply->components.front().watts[2], ExpectedPackage(4000), 1e-9);
  // A bad binary request: a binary error reply, and the connection stays usable.
  b.values[3] = std::nan("");
  raw = client->Call(*EncodeBinaryRequest(b));
  ASSERT_TRUE(raw.ok());
  reply = ParseBinaryReply(*raw);
  ASSERT_TRUE(reply.ok());
  EXPECT_THAT(reply->msg, HasSubstr("NaN and Infinity are not allowed"));
  EXPECT_TRUE(reply->components.empty());
  raw = client->Call(std::string(1, '\x01'));  // a tag and nothing else
  ASSERT_TRUE(raw.ok());
  EXPECT_THAT(ParseBinaryReply(*raw)->msg, HasSubstr("binary payload ends at byte 1"));
  EXPECT_TRUE(client->Call(NodeRequest(1)).ok());
  EXPECT_EQ(RequestsWhenAtLeast(Protocol::kFramed, Outcome::kOk, 3), 3u);
  EXPECT_EQ(RequestsWhenAtLeast(Protocol::kFramed, Outcome::kBadRequest, 2), 2u);

  // A version-1 client: binary bytes are not a protocol there, just malformed JSON.
  auto v1 = FramedClient::Connect(options_.socket_path, 5s, 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->version(), 1);
  raw = v1->Call(*payload);
  ASSERT_TRUE(raw.ok());
  EXPECT_THAT(*raw, HasSubstr("a request must be a JSON object"));
}

double ProcessCpuMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// CPU time the process uses over a quiet wait right after a framed reply (the server's spin).
double CpuAfterFramedReply(FramedClient* client, const std::string& request) {
  auto warm = client->Call(request);  // the model is loaded; the server's buffers sized
  EXPECT_TRUE(warm.ok());
  const double before = ProcessCpuMs();
  auto reply = client->Call(request);
  EXPECT_TRUE(reply.ok());
  std::this_thread::sleep_for(400ms);
  return ProcessCpuMs() - before;
}

TEST_F(ServerTest, BusyPollZeroDisablesSpinning) {
  options_.busy_poll = 0us;
  Start();
  auto client = FramedClient::Connect(options_.socket_path, 5s);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  // Nothing spins: the server blocks right after the reply (one request costs far less).
  EXPECT_LT(CpuAfterFramedReply(&*client, NodeRequest(4000)), 30.0);
}

TEST_F(ServerTest, BusyPollSpinsAfterAReply) {
  options_.busy_poll = 300ms;  // far above the default, so the spin is measurable
  Start();
  auto client = FramedClient::Connect(options_.socket_path, 5s);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_GT(CpuAfterFramedReply(&*client, NodeRequest(4000)), 60.0);
}

TEST_F(ServerTest, RequestsArrivingDuringTheSpinAreServed) {
  options_.busy_poll = 200ms;
  Start();
  // Framed: the next request arrives while the worker spins on recv().
  auto client = FramedClient::Connect(options_.socket_path, 5s);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  for (int i = 1; i <= 5; ++i) {
    auto r = client->Call(NodeRequest(i * 1000));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_NEAR(nlohmann::json::parse(*r)["powers"]["package"][0].get<double>(),
                ExpectedPackage(i * 1000), 1e-9);
    std::this_thread::sleep_for(2ms);
  }
  // Kepler: the next connection arrives while the worker spins on accept().
  for (int i = 1; i <= 5; ++i) {
    EXPECT_NEAR(CallJson(NodeRequest(i * 500))["powers"]["package"][0].get<double>(),
                ExpectedPackage(i * 500), 1e-9);
  }
  EXPECT_EQ(RequestsWhenAtLeast(Protocol::kFramed, Outcome::kOk, 5), 5u);
  EXPECT_EQ(telemetry_.requests(Protocol::kKepler, Outcome::kOk), 5u);
  // Stop is not held up for long by a spinning worker.
  const auto t0 = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST_F(ServerTest, SlowClientAfterTheSpinStillServed) {
  options_.busy_poll = 1ms;
  Start();
  auto client = FramedClient::Connect(options_.socket_path, 5s);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  for (int i = 1; i <= 3; ++i) {
    std::this_thread::sleep_for(30ms);  // long after the spin: the worker blocks in poll()
    auto r = client->Call(NodeRequest(i * 1000));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_NEAR(nlohmann::json::parse(*r)["powers"]["package"][0].get<double>(),
                ExpectedPackage(i * 1000), 1e-9);
    std::this_thread::sleep_for(30ms);
    EXPECT_NEAR(CallJson(NodeRequest(i * 700))["powers"]["package"][0].get<double>(),
                ExpectedPackage(i * 700), 1e-9);
  }
  // A Kepler client that connects and sends its request only after the spin.
  auto raw = ConnectUnix(options_.socket_path);
  ASSERT_TRUE(raw.ok());
  UniqueFd fd(*raw);
  std::this_thread::sleep_for(30ms);
  const std::string req = NodeRequest(4000);
  ASSERT_EQ(WriteAll(fd.get(), req, std::chrono::steady_clock::now() + 1s).status, IoStatus::kOk);
  std::string reply;
  char buf[4096];
  for (;;) {
    const IoResult r = ReadSome(fd.get(), buf, sizeof(buf), std::chrono::steady_clock::now() + 5s);
    if (r.status != IoStatus::kOk) break;
    reply.append(buf, r.bytes);
  }
  EXPECT_NEAR(nlohmann::json::parse(reply)["powers"]["package"][0].get<double>(),
              ExpectedPackage(4000), 1e-9);
}

TEST(SocketIoTest, SpinningReadTimesOutAndReadsData) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  UniqueFd a(sv[0]);
  UniqueFd b(sv[1]);
  char buf[16];
  const auto t0 = std::chrono::steady_clock::now();
  IoResult r = ReadSome(a.get(), buf, sizeof(buf), t0 + 30ms, -1, 5ms);
  EXPECT_EQ(r.status, IoStatus::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  std::thread writer([&] {
    std::this_thread::sleep_for(1ms);
    (void)::send(b.get(), "hi", 2, MSG_NOSIGNAL);
  });
  r = ReadSome(a.get(), buf, sizeof(buf), std::chrono::steady_clock::now() + 5s, -1, 50ms);
  writer.join();
  ASSERT_EQ(r.status, IoStatus::kOk);
  EXPECT_EQ(std::string(buf, r.bytes), "hi");
}

TEST_F(ServerTest, FramedHandshakeErrors) {
  Start();
  auto fd = ConnectUnix(options_.socket_path);
  ASSERT_TRUE(fd.ok());
  UniqueFd sock(*fd);
  ASSERT_EQ(WriteAll(sock.get(), ClientHello(3, 4), std::chrono::steady_clock::now() + 1s).status,
            IoStatus::kOk);
  std::string got;
  char buf[1024];
  for (;;) {
    IoResult r = ReadSome(sock.get(), buf, sizeof(buf), std::chrono::steady_clock::now() + 5s);
    if (r.status != IoStatus::kOk) break;
    got.append(buf, r.bytes);
  }
  ASSERT_GE(got.size(), kHelloBytes + kFrameHeaderBytes);
  EXPECT_EQ(got.substr(0, 4), "WTSN");
  EXPECT_EQ(ReadU16(got.data() + 4), 0);
  EXPECT_EQ(ReadU16(got.data() + 6), 1);
  EXPECT_THAT(got, HasSubstr("no common protocol version"));

  auto j = CallJson("Wrong protocol");
  EXPECT_THAT(j["msg"].get<std::string>(), HasSubstr("unknown protocol"));
  EXPECT_EQ(telemetry_.events(ConnectionEvent::kBadHandshake), 2u);
}

TEST_F(ServerTest, MetricsEndpoint) {
  Start();
  (void)Call(NodeRequest(1));
  (void)Call("nonsense");
  MetricsHttpServer http([this] { return telemetry_.RenderPrometheus(store_->Snapshot()); },
                         nullptr);
  ASSERT_TRUE(http.Start("127.0.0.1:0").ok());
  httplib::Client client("127.0.0.1", http.port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body,
              HasSubstr("wattson_estimator_requests_total{protocol=\"kepler\",outcome=\"ok\"} 1"));
  EXPECT_THAT(res->body,
              HasSubstr("wattson_estimator_requests_total{protocol=\"kepler\",outcome=\"bad_"
                        "request\"} 1"));
  EXPECT_THAT(res->body,
              HasSubstr("wattson_estimator_request_duration_seconds_bucket{le=\"+Inf\"} 1"));
  EXPECT_THAT(res->body, HasSubstr("wattson_estimator_model_info{model_id="));
  EXPECT_THAT(res->body, HasSubstr("intel_rapl_AbsPowerModel"));
  EXPECT_EQ(client.Get("/healthz")->body, "ok\n");
  http.Stop();
  std::string host;
  int port = 0;
  EXPECT_FALSE(ParseHostPort("nope", "metrics address", &host, &port).ok());
  EXPECT_TRUE(ParseHostPort("[::1]:9103", "metrics address", &host, &port).ok());
  EXPECT_EQ(host, "::1");
}

}  // namespace
}  // namespace wattson::estimator
