#include "sources/usage/pod_resolver.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace wattson::usage {
namespace {

using ::testing::HasSubstr;

constexpr char kPodA[] = "6b1c7b2e-3f1d-4c57-9a8e-0d2b6f4a1c11";
constexpr char kPodC[] = "2c4d6e8f-1a3b-4c5d-9e7f-0a1b2c3d4e5f";
constexpr char kNginx[] = "663443e2c8b7f7f11feaab150f17d517d2091feaa21462d614a95e71bab5cb4c";
constexpr char kPauseA[] = "1f952948d5d7a669cbd0a16f88727803092d741d0687479d8fa6de7bdf3d0c36";
constexpr char kCrioApp[] = "b2ad9f820b293ef4b8d330c8832e6b094f45c302584413ccea15a169db053f34";

std::string PodsFile() { return std::string(WATTSON_TESTDATA_DIR) + "/hosts/kubelet-pods.json"; }

// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/wattson-pods-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string File(const std::string& name, const std::string& content) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << content;
    return p;
  }

 private:
  std::string path_;
};

WorkloadIdentity Container(std::string id, std::string pod) {
  WorkloadIdentity w;
  w.kind = WorkloadKind::kContainer;
  w.container_id = std::move(id);
  w.pod_uid = std::move(pod);
  return w;
}

TEST(ParsePodListTest, KubeletFixture) {
  auto text = ReadLocalFile(PodsFile());
  ASSERT_TRUE(text.ok());
  auto table = ParsePodList(*text);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->pods.size(), 4u);
  EXPECT_EQ(table->pods.at(kPodA).name, "web-7d4b9c8f6-x2k9p");
  EXPECT_EQ(table->pods.at(kPodA).namespace_name, "shop");
  ASSERT_TRUE(table->containers.count(kNginx));
  EXPECT_EQ(table->containers.at(kNginx).name, "nginx");
  EXPECT_EQ(table->containers.at(kNginx).pod_uid, kPodA);
  EXPECT_EQ(table->containers.at(kCrioApp).name, "worker");  // "cri-o://" stripped
  // init containers count; a pending container with no containerID does not.
  EXPECT_EQ(table->containers.size(), 4u);
}

TEST(ParsePodListTest, Shapes) {
  EXPECT_TRUE(ParsePodList(R"({"kind":"PodList","items":null})").ok());
  EXPECT_TRUE(ParsePodList(R"({"items":[]})").ok());
  auto no_uid = ParsePodList(R"({"items":[{"metadata":{"name":"x"}}]})");
  ASSERT_TRUE(no_uid.ok());
  EXPECT_TRUE(no_uid->pods.empty());
  auto no_name = ParsePodList(R"({"items":[{"metadata":{"uid":"u1"}}]})");
  ASSERT_TRUE(no_name.ok());
  EXPECT_EQ(no_name->pods.at("u1").name, "u1");
  for (const char* bad :
       {"", "{", "[]", "42", R"({"kind":"PodList"})", R"({"items":{}})", R"({"items":[1]})",
        R"({"items":[{"metadata":{"uid":"u"},"status":{"containerStatuses":7}}]})"}) {
    auto r = ParsePodList(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(StripRuntimePrefixTest, Prefixes) {
  EXPECT_EQ(StripRuntimePrefix("containerd://abc"), "abc");
  EXPECT_EQ(StripRuntimePrefix("cri-o://abc"), "abc");
  EXPECT_EQ(StripRuntimePrefix("docker://abc"), "abc");
  EXPECT_EQ(StripRuntimePrefix("abc"), "abc");
  EXPECT_EQ(StripRuntimePrefix(""), "");
}

TEST(PodResolverTest, StaticFileResolvesAndFallsBackToUid) {
  FakeClock clock;
  PodResolverOptions opts;
  opts.static_file = PodsFile();
  PodResolver resolver(opts, clock);
  // Before any refresh: the UID stands in for the name.
  ResolvedWorkload before = resolver.Resolve(Container(kNginx, kPodA));
  EXPECT_EQ(before.pod_name, kPodA);
  EXPECT_FALSE(before.pod_known);

  ASSERT_TRUE(resolver.MaybeRefresh().ok());
  EXPECT_EQ(resolver.pod_count(), 4u);
  ResolvedWorkload nginx = resolver.Resolve(Container(kNginx, kPodA));
  EXPECT_EQ(nginx.pod_name, "web-7d4b9c8f6-x2k9p");
  EXPECT_EQ(nginx.pod_namespace, "shop");
  EXPECT_EQ(nginx.container_name, "nginx");
  EXPECT_TRUE(nginx.pod_known);
  EXPECT_FALSE(nginx.sandbox);

  ResolvedWorkload pause = resolver.Resolve(Container(kPauseA, kPodA));
  EXPECT_TRUE(pause.sandbox);
  EXPECT_EQ(pause.container_name, "");

  // cgroupfs paths without a pod component still find the pod through the container id.
  ResolvedWorkload by_id = resolver.Resolve(Container(kCrioApp, ""));
  EXPECT_EQ(by_id.pod_name, "batch-job-q8w2z");
  EXPECT_EQ(by_id.pod_namespace, "jobs");

  ResolvedWorkload unknown = resolver.Resolve(Container(std::string(64, 'a'), "abc-unknown"));
  EXPECT_EQ(unknown.pod_name, "abc-unknown");
  EXPECT_EQ(unknown.pod_namespace, "");
  EXPECT_FALSE(unknown.pod_known);

  ResolvedWorkload host = resolver.Resolve(WorkloadIdentity{});
  EXPECT_EQ(host.pod_name, "");
  (void)kPodC;
}

TEST(PodResolverTest, RefreshIntervalAndMalformedKeepsPreviousMapping) {
  TempDir dir;
  auto text = ReadLocalFile(PodsFile());
  ASSERT_TRUE(text.ok());
  const std::string file = dir.File("pods.json", *text);
  FakeClock clock;
  PodResolverOptions opts;
  opts.static_file = file;
  opts.min_refresh_interval = Seconds(30);
  PodResolver resolver(opts, clock);
  ASSERT_TRUE(resolver.MaybeRefresh().ok());
  EXPECT_EQ(resolver.pod_count(), 4u);

  dir.File("pods.json", R"({"items": [ {"metadata": )");  // truncated mid-write
  clock.Advance(std::chrono::seconds(10));
  EXPECT_TRUE(resolver.MaybeRefresh().ok());  // not due yet: nothing read
  clock.Advance(std::chrono::seconds(25));
  Status s = resolver.MaybeRefresh();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("keeping the previous mapping"));
  EXPECT_EQ(resolver.pod_count(), 4u);
  EXPECT_EQ(resolver.Resolve(Container(kNginx, kPodA)).pod_name, "web-7d4b9c8f6-x2k9p");
  EXPECT_FALSE(resolver.last_status().ok());

  dir.File("pods.json", R"({"items":[{"metadata":{"uid":"u9","name":"only","namespace":"n"}}]})");
  EXPECT_TRUE(resolver.MaybeRefresh().ok());  // a failed attempt also waits the interval
  EXPECT_EQ(resolver.pod_count(), 4u);
  ASSERT_TRUE(resolver.MaybeRefresh(/*force=*/true).ok());
  EXPECT_EQ(resolver.pod_count(), 1u);
  EXPECT_TRUE(resolver.last_status().ok());

  PodResolver nothing(PodResolverOptions{}, clock);
  EXPECT_EQ(nothing.MaybeRefresh().code(), StatusCode::kFailedPrecondition);
  PodResolverOptions missing;
  missing.static_file = file + ".absent";
  PodResolver absent(missing, clock);
  EXPECT_FALSE(absent.MaybeRefresh().ok());
}

// A kubelet stand-in on a loopback port.
class FakeKubelet {
 public:
  explicit FakeKubelet(std::string body) : body_(std::move(body)) {
    server_.Get("/pods", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      last_auth_ = req.get_header_value("Authorization");
      if (!expected_auth_.empty() && last_auth_ != expected_auth_) {
        res.status = 401;
        res.set_content("Unauthorized", "text/plain");
        return;
      }
      if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
      res.set_content(body_, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeKubelet() {
    server_.stop();
    thread_.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/pods"; }
  void ExpectAuth(std::string v) { expected_auth_ = std::move(v); }
  void SetDelayMs(int ms) { delay_ms_ = ms; }
  int requests() const { return requests_; }
  std::string last_auth() const { return last_auth_; }

 private:
  std::string body_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::atomic<int> delay_ms_{0};
  std::string expected_auth_;
  std::string last_auth_;
};

TEST(PodResolverTest, KubeletOverHttpWithBearerToken) {
  auto text = ReadLocalFile(PodsFile());
  ASSERT_TRUE(text.ok());
  FakeKubelet kubelet(*text);
  kubelet.ExpectAuth("Bearer s3cret-token");
  TempDir dir;
  FakeClock clock;
  PodResolverOptions opts;
  opts.kubelet_url = kubelet.Url();
  opts.token_path = dir.File("token", "s3cret-token\n");
  opts.min_refresh_interval = Seconds(10);
  PodResolver resolver(opts, clock);
  Status s = resolver.MaybeRefresh();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(kubelet.last_auth(), "Bearer s3cret-token");
  EXPECT_EQ(resolver.Resolve(Container(kNginx, kPodA)).pod_name, "web-7d4b9c8f6-x2k9p");
  EXPECT_TRUE(resolver.MaybeRefresh().ok());
  EXPECT_EQ(kubelet.requests(), 1);  // rate-limited

  // A rotated token is re-read; a wrong one gives a clear 401 and keeps the mapping.
  dir.File("token", "stale-token");
  clock.Advance(std::chrono::seconds(11));
  s = resolver.MaybeRefresh();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("HTTP 401"));
  EXPECT_THAT(s.message(), HasSubstr("bearer token"));
  EXPECT_EQ(resolver.pod_count(), 4u);
}

TEST(PodResolverTest, KubeletUnreachableOrSlow) {
  FakeClock clock;
  PodResolverOptions opts;
  // A port nobody listens on: bind one and close it.
  {
    httplib::Server probe;
    const int port = probe.bind_to_any_port("127.0.0.1");
    opts.kubelet_url = "http://127.0.0.1:" + std::to_string(port) + "/pods";
  }
  opts.timeout = Seconds(1);
  PodResolver down(opts, clock);
  Status s = down.MaybeRefresh();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);

  FakeKubelet slow(R"({"items":[]})");
  slow.SetDelayMs(800);
  opts.kubelet_url = slow.Url();
  opts.timeout = Seconds(0.1);
  PodResolver timeout(opts, clock);
  const auto t0 = std::chrono::steady_clock::now();
  s = timeout.MaybeRefresh();
  EXPECT_FALSE(s.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(700));

  for (const char* bad : {"ftp://x/pods", "http://", "127.0.0.1:10250/pods"}) {
    opts.kubelet_url = bad;
    PodResolver r(opts, clock);
    EXPECT_EQ(r.MaybeRefresh().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(PodResolverTest, ReplyLargerThanLimitIsRefused) {
  FakeKubelet kubelet(R"({"items":[)" + std::string(100000, ' ') + "]}");
  FakeClock clock;
  PodResolverOptions opts;
  opts.kubelet_url = kubelet.Url();
  opts.max_bytes = 1000;
  PodResolver resolver(opts, clock);
  EXPECT_EQ(resolver.MaybeRefresh().code(), StatusCode::kOutOfRange);
}

TEST(PodResolverTest, HttpsToAPlainServerFailsCleanly) {
  FakeKubelet kubelet(R"({"items":[]})");
  FakeClock clock;
  PodResolverOptions opts;
  opts.kubelet_url = kubelet.Url();
  opts.kubelet_url.replace(0, 4, "https");
  opts.insecure_skip_tls_verify = true;
  opts.timeout = Seconds(2);
  PodResolver resolver(opts, clock);
  Status s = resolver.MaybeRefresh();
  ASSERT_FALSE(s.ok());
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
#else
  EXPECT_THAT(s.message(), HasSubstr("https needs cpp-httplib built with SSL"));
#endif
}

}  // namespace
}  // namespace wattson::usage
