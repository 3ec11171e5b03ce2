#include "sources/usage/procfs.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wattson::usage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string HostDir(const std::string& scenario) {
  return std::string(WATTSON_TESTDATA_DIR) + "/hosts/" + scenario;
}

const ProcessSample* Find(const ProcScan& scan, int pid) {
  for (const auto& p : scan.processes) {
    if (p.pid == pid) return &p;
  }
  return nullptr;
}

// A full 52-field stat line with the given comm and counters.
std::string StatLine(int pid, const std::string& comm, unsigned long utime, unsigned long stime,
                     int threads = 1, unsigned long start = 100, unsigned long flags = 0x400100) {
  return std::to_string(pid) + " (" + comm + ") S 1 1 1 0 -1 " + std::to_string(flags) +
         " 0 0 0 0 " + std::to_string(utime) + " " + std::to_string(stime) + " 0 0 20 0 " +
         std::to_string(threads) + " 0 " + std::to_string(start) +
         " 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
}

TEST(ParseProcStatTest, Plain) {
  auto st = ParseProcStat(StatLine(42, "bash", 150, 25, 3, 987));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->pid, 42);
  EXPECT_EQ(st->comm, "bash");
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 1);
  EXPECT_EQ(st->utime_ticks, 150u);
  EXPECT_EQ(st->stime_ticks, 25u);
  EXPECT_EQ(st->num_threads, 3);
  EXPECT_EQ(st->start_time_ticks, 987u);
  EXPECT_EQ(st->flags, 0x400100u);
}

TEST(ParseProcStatTest, CommWithSpacesAndParensUsesLastParen) {
  for (const std::string& comm :
       std::vector<std::string>{"my prog) (x", "(sd-pam)", ") S 1 2 3", "a b c", "", "))))"}) {
    auto st = ParseProcStat(StatLine(7, comm, 11, 22, 1, 5));
    ASSERT_TRUE(st.ok()) << comm << ": " << st.status().ToString();
    EXPECT_EQ(st->comm, comm);
    EXPECT_EQ(st->utime_ticks, 11u) << comm;
    EXPECT_EQ(st->stime_ticks, 22u) << comm;
    EXPECT_EQ(st->start_time_ticks, 5u) << comm;
  }
}

TEST(ParseProcStatTest, RejectsMalformed) {
  for (const std::string& bad : std::vector<std::string>{
           "", "garbage", "12 (x", "12 x) S 1", "12 (x) S 1 2 3",
           "abc (x) S 1 1 1 0 -1 0 0 0 0 0 1 1", "-5 (x) " + StatLine(1, "y", 1, 1).substr(6),
           "9 (z) S 1 1 1 0 -1 0 0 0 0 0 x 1 0 0 20 0 1 0 5 1 1"}) {
    EXPECT_FALSE(ParseProcStat(bad).ok()) << bad;
  }
}

TEST(ParseSchedstatTest, FirstField) {
  auto ns = ParseSchedstat("53212345678 1234567 890\n");
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(*ns, 53212345678u);
  EXPECT_FALSE(ParseSchedstat("").ok());
  EXPECT_FALSE(ParseSchedstat("x 1 2").ok());
  EXPECT_FALSE(ParseSchedstat("-1 1 2").ok());
}

TEST(SelectCgroupPathTest, Rules) {
  EXPECT_EQ(SelectCgroupPath("0::/system.slice/sshd.service\n"), "/system.slice/sshd.service");
  // v1: the cpu hierarchy wins over name=systemd and the unified line (hybrid mode).
  EXPECT_EQ(SelectCgroupPath("12:pids:/p\n4:cpu,cpuacct:/kubepods/x\n1:name=systemd:/s\n0::/s\n"),
            "/kubepods/x");
  EXPECT_EQ(SelectCgroupPath("3:cpuacct,cpu:/c\n1:name=systemd:/s\n"), "/c");
  EXPECT_EQ(SelectCgroupPath("5:cpuacct:/acct\n"), "/acct");
  // No cpu hierarchy: unified, then name=systemd, then the first line.
  EXPECT_EQ(SelectCgroupPath("1:name=systemd:/s\n0::/u\n"), "/u");
  EXPECT_EQ(SelectCgroupPath("2:memory:/m\n1:name=systemd:/s\n"), "/s");
  EXPECT_EQ(SelectCgroupPath("2:memory:/m\n3:pids:/p\n"), "/m");
  // Paths may contain ':'.
  EXPECT_EQ(SelectCgroupPath("0::/a:b/c\n"), "/a:b/c");
  // Garbage gives "".
  EXPECT_EQ(SelectCgroupPath(""), "");
  EXPECT_EQ(SelectCgroupPath("nonsense\n::\nx:y:z\n0::relative\n"), "");
}

TEST(ParseProcStatCpuTest, AggregateLine) {
  auto n = ParseProcStatCpu(
      "cpu  100 20 30 400 5 6 7 8 9 10\ncpu0 1 1 1 1 1 1 1 1\ncpu1 1 1 1 1\n"
      "intr 1\n",
      100.0);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_DOUBLE_EQ(n->user.value(), 1.0);
  EXPECT_DOUBLE_EQ(n->idle.value(), 4.0);
  EXPECT_DOUBLE_EQ(n->steal.value(), 0.08);
  EXPECT_DOUBLE_EQ(n->Busy().value(), (100 + 20 + 30 + 6 + 7) / 100.0);
  EXPECT_EQ(n->cpu_count, 2);
  // Old kernels have fewer fields.
  auto old = ParseProcStatCpu("cpu 1 2 3 4\n", 100.0);
  ASSERT_TRUE(old.ok());
  EXPECT_DOUBLE_EQ(old->steal.value(), 0.0);
  EXPECT_FALSE(ParseProcStatCpu("intr 1\n", 100.0).ok());
  EXPECT_FALSE(ParseProcStatCpu("cpu 1 2\n", 100.0).ok());
  EXPECT_FALSE(ParseProcStatCpu("cpu 1 2 x 4\n", 100.0).ok());
  EXPECT_FALSE(ParseProcStatCpu("cpu 1 2 3 4\n", 0.0).ok());
}

TEST(ScanProcessesTest, CgroupV2Tree) {
  RootedHostFs fs(HostDir("procfs-cgroupv2"));
  FakeClock clock;
  auto scan = ScanProcesses(fs, clock);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->processes.size(), 13u);
  EXPECT_EQ(scan->read_errors, 0);
  EXPECT_EQ(scan->vanished, 0);
  EXPECT_TRUE(scan->unreadable_pids.empty());
  EXPECT_TRUE(std::is_sorted(scan->processes.begin(), scan->processes.end(),
                             [](const auto& a, const auto& b) { return a.pid < b.pid; }));
  EXPECT_EQ(scan->taken_at, clock.Now());

  const ProcessSample* odd = Find(*scan, 2001);
  ASSERT_NE(odd, nullptr);
  EXPECT_EQ(odd->comm, "my prog) (x");
  EXPECT_FALSE(odd->schedstat_cpu_time.has_value());  // no schedstat file
  EXPECT_DOUBLE_EQ(odd->cpu_time.value(), 1.75);      // (150 + 25) ticks at 100 Hz
  EXPECT_EQ(odd->start_time_ticks, 3500u);
  EXPECT_EQ(odd->cgroup_path, "/user.slice/user-1000.slice/session-3.scope");

  const ProcessSample* nginx = Find(*scan, 1201);
  ASSERT_NE(nginx, nullptr);
  ASSERT_TRUE(nginx->schedstat_cpu_time.has_value());
  EXPECT_DOUBLE_EQ(nginx->stat_cpu_time.value(), 53.30);
  EXPECT_NEAR(nginx->cpu_time.value(), 53.212345678, 1e-9);  // one thread: schedstat

  const ProcessSample* redis = Find(*scan, 1302);
  ASSERT_NE(redis, nullptr);
  EXPECT_EQ(redis->num_threads, 4);
  EXPECT_DOUBLE_EQ(redis->cpu_time.value(), 113.0);  // four threads: stat, not the leader's 30 s

  const ProcessSample* kthread = Find(*scan, 15);
  ASSERT_NE(kthread, nullptr);
  EXPECT_TRUE(kthread->kernel_thread);
  EXPECT_EQ(kthread->comm, "ksoftirqd/1");
  EXPECT_EQ(kthread->cgroup_path, "/");
  EXPECT_FALSE(Find(*scan, 1)->kernel_thread);

  ASSERT_TRUE(scan->node.has_value());
  EXPECT_EQ(scan->node->cpu_count, 4);
  EXPECT_DOUBLE_EQ(scan->node->user.value(), 1200.0);
  ASSERT_TRUE(scan->uptime.has_value());
  EXPECT_DOUBLE_EQ(scan->uptime->value(), 6500.25);
}

TEST(ScanProcessesTest, CgroupV1TreeUsesCpuHierarchy) {
  RootedHostFs fs(HostDir("procfs-cgroupv1"));
  FakeClock clock;
  auto scan = ScanProcesses(fs, clock);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->processes.size(), 13u);
  EXPECT_EQ(Find(*scan, 1740)->cgroup_path, "/machine/qemu-2-web-01.libvirt-qemu/emulator");
  EXPECT_EQ(Find(*scan, 1)->cgroup_path, "/");
  EXPECT_EQ(Find(*scan, 1520)->cgroup_path,
            "/docker/a43a9f730a6dfa2b2b6d25e708a33664bc8a9b992729f02b3ba8a2e108755939");
}

TEST(ScanProcessesTest, KernelThreadsCanBeDropped) {
  RootedHostFs fs(HostDir("procfs-cgroupv2"));
  FakeClock clock;
  ScanOptions opts;
  opts.include_kernel_threads = false;
  auto scan = ScanProcesses(fs, clock, opts);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->processes.size(), 11u);
  EXPECT_EQ(Find(*scan, 2), nullptr);
}

TEST(ScanProcessesTest, TicksPerSecondIsConfigurable) {
  RootedHostFs fs(HostDir("procfs-cgroupv2"));
  FakeClock clock;
  ScanOptions opts;
  opts.ticks_per_second = 250;
  opts.read_schedstat = false;
  auto scan = ScanProcesses(fs, clock, opts);
  ASSERT_TRUE(scan.ok());
  EXPECT_DOUBLE_EQ(Find(*scan, 1201)->cpu_time.value(), 5330.0 / 250.0);
  EXPECT_FALSE(Find(*scan, 1201)->schedstat_cpu_time.has_value());
  opts.ticks_per_second = 0;
  EXPECT_FALSE(ScanProcesses(fs, clock, opts).ok());
}

TEST(ScanProcessesTest, EioSkipsOnePidAndCountsIt) {
  RootedHostFs base(HostDir("procfs-cgroupv2"));
  FaultInjectingHostFs fs(base);
  fs.FailPath("/proc/1201/stat", Status::IoError("read /proc/1201/stat: Input/output error"));
  fs.FailPath("/proc/1410/cgroup", Status::IoError("read /proc/1410/cgroup: Input/output error"));
  fs.FailPath("/proc/1302/schedstat", Status::IoError("EIO"));
  FakeClock clock;
  auto scan = ScanProcesses(fs, clock);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->processes.size(), 11u);
  EXPECT_EQ(Find(*scan, 1201), nullptr);
  EXPECT_EQ(Find(*scan, 1410), nullptr);
  EXPECT_THAT(scan->unreadable_pids, ElementsAre(1201, 1410));
  EXPECT_EQ(scan->read_errors, 2);
  EXPECT_EQ(scan->vanished, 0);
  ASSERT_EQ(scan->errors.size(), 2u);
  EXPECT_THAT(scan->errors[0], HasSubstr("Input/output error"));
  // schedstat failing is not an error: stat is enough.
  ASSERT_NE(Find(*scan, 1302), nullptr);
  EXPECT_FALSE(Find(*scan, 1302)->schedstat_cpu_time.has_value());
}

TEST(ScanProcessesTest, VanishedPidsAreSkippedSilently) {
  RootedHostFs base(HostDir("procfs-cgroupv2"));
  FaultInjectingHostFs fs(base);
  fs.FailPath("/proc/1520/stat", Status::NotFound("open: No such process"));
  fs.FailPath("/proc/1630/cgroup", Status::NotFound("open: No such file or directory"));
  FakeClock clock;
  auto scan = ScanProcesses(fs, clock);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->processes.size(), 11u);
  EXPECT_EQ(scan->vanished, 2);
  EXPECT_EQ(scan->read_errors, 0);
  EXPECT_TRUE(scan->unreadable_pids.empty());
}

TEST(ScanProcessesTest, GarbageFilesNeverAbort) {
  FakeHostFs fs;
  fs.SetFile("/proc/10/stat", "total garbage");
  fs.SetFile("/proc/10/cgroup", "0::/\n");
  fs.SetFile("/proc/11/stat", StatLine(11, "ok", 1, 2));
  fs.SetFile("/proc/11/schedstat", "not-a-number");
  fs.SetFile("/proc/11/cgroup", "\x01\x02garbage");
  fs.SetFile("/proc/12x/stat", StatLine(12, "notapid", 1, 2));
  fs.SetFile("/proc/stat", "nothing useful\n");
  fs.SetFile("/proc/uptime", "abc\n");
  FakeClock clock;
  auto scan = ScanProcesses(fs, clock);
  ASSERT_TRUE(scan.ok());
  ASSERT_EQ(scan->processes.size(), 1u);
  EXPECT_EQ(scan->processes[0].pid, 11);
  EXPECT_EQ(scan->processes[0].cgroup_path, "");
  EXPECT_FALSE(scan->processes[0].schedstat_cpu_time.has_value());
  EXPECT_THAT(scan->unreadable_pids, ElementsAre(10));
  EXPECT_FALSE(scan->node.has_value());
  EXPECT_FALSE(scan->uptime.has_value());
  EXPECT_EQ(scan->read_errors, 2);  // pid 10's stat and /proc/stat
}

TEST(ScanProcessesTest, PreviousScanSavesCgroupReadsForABoundedTime) {
  FakeHostFs base;
  base.SetFile("/proc/5/stat", StatLine(5, "a", 1, 1, 1, 100));
  base.SetFile("/proc/5/cgroup", "0::/old.slice\n");
  base.SetFile("/proc/6/stat", StatLine(6, "b", 1, 1, 1, 100));
  base.SetFile("/proc/6/cgroup", "0::/six.slice\n");
  FaultInjectingHostFs fs(base);
  FakeClock clock;
  ScanOptions opts;
  opts.cgroup_recheck_scans = 3;
  auto first = ScanProcesses(fs, clock, opts);
  ASSERT_TRUE(first.ok());
  // The process moves; pid 6 is now a different process.
  base.SetFile("/proc/5/cgroup", "0::/new.slice\n");
  base.SetFile("/proc/6/stat", StatLine(6, "c", 1, 1, 1, 900));
  base.SetFile("/proc/6/cgroup", "0::/reused.slice\n");
  ProcScan prev = std::move(*first);
  std::vector<std::string> seen;
  for (int i = 0; i < 4; ++i) {
    opts.previous = &prev;
    auto next = ScanProcesses(fs, clock, opts);
    ASSERT_TRUE(next.ok());
    ASSERT_EQ(next->processes.size(), 2u);
    seen.push_back(next->processes[0].cgroup_path);
    EXPECT_EQ(next->processes[1].cgroup_path, "/reused.slice");  // new start time: read again
    prev = std::move(*next);
  }
  EXPECT_THAT(seen, ElementsAre("/old.slice", "/old.slice", "/new.slice", "/new.slice"));
}

TEST(ScanProcessesTest, UnlistableProcIsAnError) {
  FakeHostFs empty;
  FakeClock clock;
  EXPECT_FALSE(ScanProcesses(empty, clock).ok());
  RootedHostFs base(HostDir("procfs-cgroupv2"));
  FaultInjectingHostFs fs(base);
  fs.FailPath("/proc", Status::IoError("EIO"));
  auto scan = ScanProcesses(fs, clock);
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace wattson::usage
