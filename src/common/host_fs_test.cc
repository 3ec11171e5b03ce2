#include "common/host_fs.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace wattson {
namespace {

TEST(HostPathTest, Normalises) {
  EXPECT_EQ(*NormaliseHostPath("/proc//1/stat/"), "/proc/1/stat");
  EXPECT_EQ(*NormaliseHostPath("/"), "/");
  EXPECT_FALSE(NormaliseHostPath("proc/1").ok());
  EXPECT_FALSE(NormaliseHostPath("/proc/../etc/shadow").ok());
  EXPECT_FALSE(NormaliseHostPath("/sys/./class").ok());
}

class RootedHostFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One folder per test and process: ctest runs this fixture's tests in parallel.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = std::filesystem::path(::testing::TempDir()) /
            (std::string("hostfs-root-") + info->name() + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "proc/42");
    std::ofstream(root_ / "proc/42/stat") << "42 (sleep) S 1";
    std::ofstream(root_ / "proc/42/comm") << "sleep\n";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  std::filesystem::path root_;
};

TEST_F(RootedHostFsTest, ReadsBelowRoot) {
  RootedHostFs fs(root_.string() + "/");
  auto stat = fs.ReadFile("/proc/42/stat");
  ASSERT_TRUE(stat.ok()) << stat.status().ToString();
  EXPECT_EQ(*stat, "42 (sleep) S 1");
  auto dir = fs.ListDir("/proc/42");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*dir, (std::vector<std::string>{"comm", "stat"}));
  EXPECT_TRUE(fs.Exists("/proc/42"));
  EXPECT_FALSE(fs.Exists("/proc/43"));
  EXPECT_EQ(fs.ReadFile("/proc/43/stat").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs.ReadFile("/proc/42/stat", 4).status().code(), StatusCode::kOutOfRange);
  EXPECT_FALSE(fs.ReadFile("/proc/42/../42/stat").ok());
  EXPECT_EQ(fs.Describe("/proc/42/stat"), root_.string() + "/proc/42/stat");
}

TEST(FakeHostFsTest, FilesAndDirectories) {
  FakeHostFs fs;
  fs.SetFile("/sys/class/powercap/intel-rapl:0/energy_uj", "123\n");
  fs.SetFile("/sys/class/powercap/intel-rapl:0/name", "package-0\n");
  fs.SetFile("/sys/class/powercap/intel-rapl:1/name", "package-1\n");
  EXPECT_EQ(*fs.ReadFile("/sys/class/powercap/intel-rapl:0/energy_uj"), "123\n");
  EXPECT_EQ(*fs.ListDir("/sys/class/powercap"),
            (std::vector<std::string>{"intel-rapl:0", "intel-rapl:1"}));
  EXPECT_TRUE(fs.Exists("/sys/class"));
  fs.RemoveFile("/sys/class/powercap/intel-rapl:1/name");
  EXPECT_EQ(fs.ListDir("/sys/class/powercap")->size(), 1u);
  EXPECT_FALSE(fs.ListDir("/nope").ok());
}

TEST(FaultInjectingHostFsTest, FailsChosenReads) {
  FakeHostFs base;
  base.SetFile("/proc/1/stat", "1 (init)");
  base.SetFile("/proc/2/stat", "2 (kthreadd)");
  FaultInjectingHostFs fs(base);
  fs.FailPath("/proc/1/stat", Status::IoError("EIO"));
  EXPECT_EQ(fs.ReadFile("/proc/1/stat").status().code(), StatusCode::kIoError);
  EXPECT_TRUE(fs.ReadFile("/proc/2/stat").ok());
  fs.ClearFaults();
  fs.FailNthRead(2, Status::NotFound("vanished"));
  EXPECT_TRUE(fs.ReadFile("/proc/1/stat").ok());
  EXPECT_EQ(fs.ReadFile("/proc/1/stat").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(fs.ReadFile("/proc/1/stat").ok());
}

std::string Reread(HostFileHandle& h) {
  std::string out = "stale";
  Status s = h.Reread(&out, HostFs::kDefaultMaxBytes);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST_F(RootedHostFsTest, HandleRereadsTheOpenFile) {
  RootedHostFs fs(root_.string());
  auto h = fs.OpenForReread("/proc/42/stat");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(Reread(**h), "42 (sleep) S 1");
  // Rewritten in place (as the kernel "rewrites" /proc/<pid>/stat): the new content, shorter too.
  std::ofstream(root_ / "proc/42/stat", std::ios::trunc) << "42 (sleep) R";
  EXPECT_EQ(Reread(**h), "42 (sleep) R");
  // Larger than one page: read on past the first buffer.
  const std::string big(10000, 'x');
  std::ofstream(root_ / "proc/42/stat", std::ios::trunc) << big;
  EXPECT_EQ(Reread(**h), big);
  std::string out;
  EXPECT_EQ((*h)->Reread(&out, 100).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(fs.OpenForReread("/proc/43/stat").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs.OpenForReread("/proc/../etc/shadow").ok());
}

TEST_F(RootedHostFsTest, HandleOfARemovedOrReplacedFileIsGone) {
  RootedHostFs fs(root_.string());
  auto h = fs.OpenForReread("/proc/42/stat");
  ASSERT_TRUE(h.ok());
  // Replaced by rename (an atomic writer): the handle must not keep reading the old file.
  std::ofstream(root_ / "proc/42/stat.tmp") << "42 (new) S 1";
  std::filesystem::rename(root_ / "proc/42/stat.tmp", root_ / "proc/42/stat");
  std::string out;
  EXPECT_EQ((*h)->Reread(&out, 4096).code(), StatusCode::kNotFound);
  auto again = fs.OpenForReread("/proc/42/stat");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Reread(**again), "42 (new) S 1");
  std::filesystem::remove_all(root_ / "proc/42");
  EXPECT_EQ((*again)->Reread(&out, 4096).code(), StatusCode::kNotFound);
}

TEST(RootedHostFsProcTest, HandleOfAnExitedProcessIsGone) {
  // The real /proc: a child's stat reads while it lives and gives ESRCH (kNotFound) once reaped.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  RootedHostFs fs("/");
  auto h = fs.OpenForReread("/proc/" + std::to_string(child) + "/stat");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(Reread(**h).rfind(std::to_string(child) + " (", 0), 0u);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  std::string out;
  EXPECT_EQ((*h)->Reread(&out, 4096).code(), StatusCode::kNotFound);
}

TEST(FakeHostFsTest, HandleFollowsOneFileInstance) {
  FakeHostFs fs;
  fs.SetFile("/proc/7/stat", "7 (a) S");
  auto h = fs.OpenForReread("/proc/7/stat");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(fs.open_handles(), 1u);
  EXPECT_EQ(Reread(**h), "7 (a) S");
  fs.SetFile("/proc/7/stat", "7 (a) R");  // rewritten: the same file
  EXPECT_EQ(Reread(**h), "7 (a) R");
  std::string out;
  EXPECT_EQ((*h)->Reread(&out, 3).code(), StatusCode::kOutOfRange);
  fs.RemoveFile("/proc/7/stat");
  EXPECT_EQ((*h)->Reread(&out, 4096).code(), StatusCode::kNotFound);
  fs.SetFile("/proc/7/stat", "7 (b) S");  // the pid recycled: a new file
  EXPECT_EQ((*h)->Reread(&out, 4096).code(), StatusCode::kNotFound);
  auto fresh = fs.OpenForReread("/proc/7/stat");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(Reread(**fresh), "7 (b) S");
  EXPECT_EQ(fs.open_handles(), 2u);
  h->reset();
  EXPECT_EQ(fs.open_handles(), 1u);
  EXPECT_EQ(fs.OpenForReread("/proc/8/stat").status().code(), StatusCode::kNotFound);
}

TEST(FaultInjectingHostFsTest, HandlesSeeFaultsInjectedAfterOpening) {
  FakeHostFs base;
  base.SetFile("/proc/1/stat", "1 (init)");
  base.SetFile("/proc/2/stat", "2 (kthreadd)");
  FaultInjectingHostFs fs(base);
  auto one = fs.OpenForReread("/proc/1/stat");
  auto two = fs.OpenForReread("/proc/2/stat");
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(Reread(**one), "1 (init)");
  fs.FailPath("/proc/1/stat", Status::IoError("EIO"));
  std::string out;
  EXPECT_EQ((*one)->Reread(&out, 4096).code(), StatusCode::kIoError);
  EXPECT_EQ(fs.OpenForReread("/proc/1/stat").status().code(), StatusCode::kIoError);
  EXPECT_EQ(Reread(**two), "2 (kthreadd)");
  fs.ClearFaults();
  EXPECT_EQ(Reread(**one), "1 (init)");
  // A reread counts as a read for FailNthRead.
  fs.FailNthRead(2, Status::IoError("EIO"));
  EXPECT_EQ(Reread(**one), "1 (init)");
  EXPECT_EQ((*two)->Reread(&out, 4096).code(), StatusCode::kIoError);
  EXPECT_EQ(Reread(**two), "2 (kthreadd)");
  // The base file vanishing shows through.
  base.RemoveFile("/proc/2/stat");
  EXPECT_EQ((*two)->Reread(&out, 4096).code(), StatusCode::kNotFound);
}

// A HostFs that only implements the required reads gets the default, path-following handle.
class MinimalHostFs final : public HostFs {
 public:
  std::string content = "x";
  Result<std::vector<std::string>> ListDir(std::string_view) const override {
    return std::vector<std::string>{};
  }
  bool Exists(std::string_view path) const override { return path == "/f"; }
  std::string Describe(std::string_view path) const override { return std::string(path); }

 protected:
  Result<std::string> DoReadFile(std::string_view path, std::size_t) const override {
    if (path != "/f") return Status::NotFound("no");
    return content;
  }
};

TEST(HostFsTest, DefaultHandleRereadsByPath) {
  MinimalHostFs fs;
  auto h = fs.OpenForReread("/f");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(Reread(**h), "x");
  fs.content = "y";
  EXPECT_EQ(Reread(**h), "y");
  EXPECT_EQ(fs.OpenForReread("/g").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace wattson
