#include "common/host_fs.h"

#include <filesystem>
#include <fstream>

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
    root_ = std::filesystem::path(::testing::TempDir()) / "hostfs-root";
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "proc/42");
    std::ofstream(root_ / "proc/42/stat") << "42 (sleep) S 1";
    std::ofstream(root_ / "proc/42/comm") << "sleep\n";
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
  EXPECT_NE(fs.Describe("/proc/42/stat").find("hostfs-root/proc/42/stat"), std::string::npos);
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

}  // namespace
}  // namespace wattson
