#include "sources/usage/procfs.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <span>
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

TEST(InInitialPidNamespaceTest, FromNSpid) {
  FakeHostFs fs;
  EXPECT_FALSE(InInitialPidNamespace(fs));  // unreadable
  fs.SetFile("/proc/self/status", "Name:\twattson\nPid:\t812\nNSpid:\t812\nNSpgid:\t812\n");
  EXPECT_TRUE(InInitialPidNamespace(fs));
  fs.SetFile("/proc/self/status", "Name:\twattson\nNSpid:\t23015\t1\nNSpgid:\t23015\t1\n");
  EXPECT_FALSE(InInitialPidNamespace(fs));  // a container's pid 1
  fs.SetFile("/proc/self/status", "Name:\twattson\nPid:\t812\n");
  EXPECT_TRUE(InInitialPidNamespace(fs));  // Linux < 4.1: no NSpid line
}

// ProcScanner

ScanOptions ScannerOptions() {
  ScanOptions o;
  o.read_schedstat = false;
  o.cgroup_recheck_scans = 1000;  // no periodic refresh unless a test asks for one
  return o;
}

// Adds a process (and /proc/stat, without which a scan counts an error).
void AddProc(FakeHostFs& fs, int pid, const std::string& comm, unsigned long utime,
             unsigned long start, const std::string& cgroup) {
  fs.SetFile("/proc/stat", "cpu  1 2 3 4 5 6 7 8\n");
  fs.SetFile("/proc/" + std::to_string(pid) + "/stat", StatLine(pid, comm, utime, 0, 1, start));
  fs.SetFile("/proc/" + std::to_string(pid) + "/cgroup", cgroup);
}

void RemoveProc(FakeHostFs& fs, int pid) {
  fs.RemoveFile("/proc/" + std::to_string(pid) + "/stat");
  fs.RemoveFile("/proc/" + std::to_string(pid) + "/cgroup");
}

TEST(ProcScannerTest, SameResultAsScanProcessesOnTestdataTrees) {
  for (const char* tree : {"procfs-cgroupv2", "procfs-cgroupv1"}) {
    for (bool schedstat : {false, true}) {
      RootedHostFs fs(HostDir(tree));
      FakeClock clock;
      ScanOptions opts;
      opts.read_schedstat = schedstat;
      opts.cgroup_recheck_scans = 1000;
      auto want = ScanProcesses(fs, clock, opts);
      ASSERT_TRUE(want.ok());
      ProcScanner scanner(fs, clock, opts);
      for (int i = 0; i < 3; ++i) {  // first scan opens, the next ones reread
        auto got = scanner.Scan();
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        ASSERT_EQ(got->processes.size(), want->processes.size()) << tree;
        for (std::size_t k = 0; k < got->processes.size(); ++k) {
          const ProcessSample& a = got->processes[k];
          const ProcessSample& b = want->processes[k];
          EXPECT_EQ(a.pid, b.pid);
          EXPECT_EQ(a.comm, b.comm);
          EXPECT_EQ(a.cgroup_path, b.cgroup_path) << tree << " pid " << a.pid;
          EXPECT_DOUBLE_EQ(a.cpu_time.value(), b.cpu_time.value()) << a.pid;
          EXPECT_EQ(a.schedstat_cpu_time.has_value(), b.schedstat_cpu_time.has_value());
          EXPECT_EQ(a.start_time_ticks, b.start_time_ticks);
          EXPECT_EQ(a.kernel_thread, b.kernel_thread);
          EXPECT_EQ(a.cgroup_age, i);
        }
        ASSERT_TRUE(got->node.has_value());
        EXPECT_DOUBLE_EQ(got->node->user.value(), want->node->user.value());
        EXPECT_EQ(got->uptime.has_value(), want->uptime.has_value());
        EXPECT_GE(scanner.open_files(), want->processes.size());
      }
    }
  }
}

TEST(ProcScannerTest, KeepsStatOpenAndClosesItWhenThePidGoes) {
  FakeHostFs fs;
  AddProc(fs, 10, "a", 5, 100, "0::/a.slice\n");
  AddProc(fs, 11, "b", 7, 100, "0::/b.slice\n");
  FakeClock clock;
  ProcScanner scanner(fs, clock, ScannerOptions());
  ASSERT_TRUE(scanner.Scan().ok());
  EXPECT_EQ(scanner.open_files(), 2u);
  EXPECT_EQ(fs.open_handles(), 3u);  // + /proc/stat
  // New counters are read through the open file.
  fs.SetFile("/proc/10/stat", StatLine(10, "a", 50, 0, 1, 100));
  auto scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_DOUBLE_EQ(Find(*scan, 10)->stat_cpu_time.value(), 0.5);
  EXPECT_EQ(fs.open_handles(), 3u);
  RemoveProc(fs, 11);
  scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->processes.size(), 1u);
  EXPECT_EQ(scanner.open_files(), 1u);
  EXPECT_EQ(fs.open_handles(), 2u);
  RemoveProc(fs, 10);
  ASSERT_TRUE(scanner.Scan().ok());
  EXPECT_EQ(scanner.open_files(), 0u);
  EXPECT_EQ(fs.open_handles(), 1u);
}

TEST(ProcScannerTest, ReusedPidIsANewProcessWithItsOwnFileAndCgroup) {
  FakeHostFs fs;
  AddProc(fs, 20, "old", 5, 100, "0::/old.slice\n");
  FakeClock clock;
  ProcScanner scanner(fs, clock, ScannerOptions());
  ASSERT_TRUE(scanner.Scan().ok());
  // The process exits and the pid is recycled between two scans: the old file reads gone.
  RemoveProc(fs, 20);
  AddProc(fs, 20, "new", 1, 900, "0::/new.slice\n");
  auto scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  ASSERT_EQ(scan->processes.size(), 1u);
  EXPECT_EQ(scan->processes[0].start_time_ticks, 900u);
  EXPECT_EQ(scan->processes[0].cgroup_path, "/new.slice");
  EXPECT_EQ(scan->processes[0].cgroup_age, 0);
  EXPECT_EQ(scan->vanished, 0);
  EXPECT_EQ(fs.open_handles(), 2u);  // the new pid 20 and /proc/stat: the old handle was closed
  // A file rewritten in place with another start time (no ESRCH): still a new process.
  AddProc(fs, 20, "newer", 1, 950, "0::/newer.slice\n");
  scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->processes[0].start_time_ticks, 950u);
  EXPECT_EQ(scan->processes[0].cgroup_path, "/newer.slice");
  EXPECT_EQ(fs.open_handles(), 2u);
}

TEST(ProcScannerTest, CgroupReadForNewProcessesOnExecAndOnASlowRotation) {
  FakeHostFs base;
  AddProc(base, 33, "a", 1, 100, "0::/a.slice\n");
  AddProc(base, 31, "runc:[2:INIT]", 1, 100, "0::/runtime.slice\n");
  FaultInjectingHostFs fs(base);
  FakeClock clock;
  ScanOptions opts = ScannerOptions();
  opts.cgroup_recheck_scans = 4;
  ProcScanner scanner(fs, clock, opts);
  ASSERT_TRUE(scanner.Scan().ok());
  // A known process's cgroup is not read again until its refresh ((pid + scan) % 4 == 0: not
  // this scan for pid 33): a failing cgroup file is not even noticed.
  fs.FailPath("/proc/33/cgroup", Status::IoError("EIO"));
  base.SetFile("/proc/31/cgroup", "0::/kubepods/pod1/ctr.scope\n");
  base.SetFile("/proc/31/stat", StatLine(31, "nginx", 1, 0, 1, 100));  // exec: comm changes
  auto scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  ASSERT_EQ(scan->processes.size(), 2u);
  EXPECT_EQ(scan->read_errors, 0);
  EXPECT_EQ(Find(*scan, 33)->cgroup_path, "/a.slice");
  EXPECT_EQ(Find(*scan, 33)->cgroup_age, 1);
  EXPECT_EQ(Find(*scan, 31)->cgroup_path, "/kubepods/pod1/ctr.scope");  // re-read on exec
  EXPECT_EQ(Find(*scan, 31)->cgroup_age, 0);
  // A move without exec is seen within cgroup_recheck_scans scans.
  fs.ClearFaults();
  base.SetFile("/proc/33/cgroup", "0::/moved.slice\n");
  int scans = 0;
  std::string path;
  while (path != "/moved.slice" && scans < 10) {
    auto s = scanner.Scan();
    ASSERT_TRUE(s.ok());
    path = Find(*s, 33)->cgroup_path;
    ++scans;
  }
  EXPECT_EQ(path, "/moved.slice");
  EXPECT_LE(scans, 4);
}

TEST(ProcScannerTest, FailingRereadIsUnreadableThenRecovers) {
  FakeHostFs base;
  AddProc(base, 40, "a", 1, 100, "0::/a\n");
  AddProc(base, 41, "b", 1, 100, "0::/b\n");
  FaultInjectingHostFs fs(base);
  FakeClock clock;
  ProcScanner scanner(fs, clock, ScannerOptions());
  ASSERT_TRUE(scanner.Scan().ok());
  fs.FailPath("/proc/40/stat", Status::IoError("read /proc/40/stat: Input/output error"));
  auto scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->processes.size(), 1u);
  EXPECT_THAT(scan->unreadable_pids, ElementsAre(40));
  EXPECT_EQ(scan->read_errors, 1);
  EXPECT_THAT(scan->errors[0], HasSubstr("Input/output error"));
  EXPECT_EQ(scanner.open_files(), 2u);  // the file stays open
  fs.ClearFaults();
  base.SetFile("/proc/40/stat", StatLine(40, "a", 9, 0, 1, 100));
  scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  ASSERT_NE(Find(*scan, 40), nullptr);
  EXPECT_DOUBLE_EQ(Find(*scan, 40)->stat_cpu_time.value(), 0.09);
  EXPECT_EQ(Find(*scan, 40)->cgroup_path, "/a");
  EXPECT_EQ(base.open_handles(), 3u);  // 40, 41 and /proc/stat
}

TEST(ProcScannerTest, PidThatVanishesMidScanIsSkippedSilently) {
  FakeHostFs base;
  AddProc(base, 50, "a", 1, 100, "0::/a\n");
  AddProc(base, 51, "b", 1, 100, "0::/b\n");
  FaultInjectingHostFs fs(base);
  FakeClock clock;
  ProcScanner scanner(fs, clock, ScannerOptions());
  ASSERT_TRUE(scanner.Scan().ok());
  // Listed, but its process has exited by the time its stat is read (reread and reopen: ESRCH).
  fs.FailPath("/proc/50/stat", Status::NotFound("read: No such process"));
  auto scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->processes.size(), 1u);
  EXPECT_EQ(scan->vanished, 1);
  EXPECT_EQ(scan->read_errors, 0);
  EXPECT_EQ(scanner.open_files(), 1u);
  EXPECT_EQ(base.open_handles(), 2u);  // 51 and /proc/stat
  // A new pid whose cgroup file is gone before it is read: vanished too, nothing kept open.
  AddProc(base, 52, "c", 1, 100, "0::/c\n");
  fs.FailPath("/proc/52/cgroup", Status::NotFound("open: No such file or directory"));
  scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->vanished, 2);
  EXPECT_EQ(Find(*scan, 52), nullptr);
  EXPECT_EQ(scanner.open_files(), 1u);
}

TEST(ProcScannerTest, OpenFilesAreCappedAndTheRestReadByPath) {
  FakeHostFs fs;
  for (int pid = 60; pid < 65; ++pid) AddProc(fs, pid, "p", 1, 100, "0::/x\n");
  FakeClock clock;
  ScanOptions opts = ScannerOptions();
  opts.max_open_files = 2;
  ProcScanner scanner(fs, clock, opts);
  EXPECT_EQ(scanner.max_open_files(), 2u);
  for (int round = 0; round < 3; ++round) {
    for (int pid = 60; pid < 65; ++pid) {
      fs.SetFile("/proc/" + std::to_string(pid) + "/stat",
                 StatLine(pid, "p", static_cast<unsigned long>(10 * round + pid), 0, 1, 100));
    }
    auto scan = scanner.Scan();
    ASSERT_TRUE(scan.ok());
    ASSERT_EQ(scan->processes.size(), 5u);
    for (int pid = 60; pid < 65; ++pid) {
      EXPECT_DOUBLE_EQ(Find(*scan, pid)->stat_cpu_time.value(), (10 * round + pid) / 100.0);
    }
    EXPECT_EQ(scanner.open_files(), 2u);
    EXPECT_EQ(fs.open_handles(), 3u);  // + /proc/stat
  }
  // A freed slot goes to a pid that had none.
  RemoveProc(fs, 60);
  ASSERT_TRUE(scanner.Scan().ok());
  EXPECT_EQ(scanner.open_files(), 2u);
  opts.max_open_files = 0;
  ProcScanner none(fs, clock, opts);
  auto scan = none.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->processes.size(), 4u);
  EXPECT_EQ(none.open_files(), 0u);
}

// Reads files but cannot keep any open (as when the process is out of descriptors).
class NoHandlesHostFs final : public HostFs {
 public:
  explicit NoHandlesHostFs(const HostFs& base) : base_(base) {}
  Result<std::vector<std::string>> ListDir(std::string_view path) const override {
    return base_.ListDir(path);
  }
  bool Exists(std::string_view path) const override { return base_.Exists(path); }
  std::string Describe(std::string_view path) const override { return base_.Describe(path); }

 protected:
  Result<std::string> DoReadFile(std::string_view path, std::size_t max_bytes) const override {
    return base_.ReadFile(path, max_bytes);
  }
  Result<std::unique_ptr<HostFileHandle>> DoOpenForReread(std::string_view) const override {
    return Status::IoError("open: Too many open files");
  }

 private:
  const HostFs& base_;
};

TEST(ProcScannerTest, FileThatCannotBeKeptOpenIsReadByPath) {
  FakeHostFs base;
  AddProc(base, 70, "a", 5, 100, "0::/a\n");
  NoHandlesHostFs fs(base);
  FakeClock clock;
  ProcScanner scanner(fs, clock, ScannerOptions());
  for (int i = 0; i < 2; ++i) {
    auto scan = scanner.Scan();
    ASSERT_TRUE(scan.ok());
    ASSERT_EQ(scan->processes.size(), 1u);
    EXPECT_EQ(scan->read_errors, 0);
    EXPECT_EQ(scan->processes[0].cgroup_path, "/a");
    EXPECT_EQ(scanner.open_files(), 0u);
  }
}

TEST(ProcScannerTest, OpenFileBudgetFollowsRlimit) {
  struct rlimit rl {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  EXPECT_EQ(OpenFileBudget(3), 3u);
  if (rl.rlim_cur != RLIM_INFINITY) {
    const auto soft = static_cast<std::size_t>(rl.rlim_cur);
    const std::size_t keep = std::max<std::size_t>(64, soft / 4);
    EXPECT_EQ(OpenFileBudget(soft * 2), soft - keep);
    EXPECT_EQ(OpenFileBudget(soft * 2, soft + 1), 0u);
    FakeHostFs fs;
    FakeClock clock;
    ScanOptions opts;
    opts.max_open_files = soft * 2;
    EXPECT_EQ(ProcScanner(fs, clock, opts).max_open_files(), soft - keep);
  }
  auto raised = RaiseOpenFileLimit();
  ASSERT_TRUE(raised.ok()) << raised.status().ToString();
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  EXPECT_EQ(rl.rlim_cur, rl.rlim_max);
  EXPECT_EQ(*raised, static_cast<std::uint64_t>(rl.rlim_cur));
}

TEST(ProcScannerTest, UnlistableProcIsAnError) {
  FakeHostFs empty;
  FakeClock clock;
  ProcScanner scanner(empty, clock);
  EXPECT_FALSE(scanner.Scan().ok());
  ScanOptions bad;
  bad.ticks_per_second = 0;
  ProcScanner invalid(empty, clock, bad);
  EXPECT_EQ(invalid.Scan().status().code(), StatusCode::kInvalidArgument);
}

// ProcScanner with an on-CPU time source

// An OnCpuTimeSource whose entries a test sets.
class FakeOnCpu final : public OnCpuTimeSource {
 public:
  std::string_view name() const override { return "fake"; }
  Status Refresh() override {
    ++refreshes;
    if (!refresh_status.ok()) return refresh_status;
    return Status::Ok();
  }
  const ProcessOnCpu* Find(int tgid) const override {
    auto it = entries.find(tgid);
    return it == entries.end() ? nullptr : &it->second;
  }
  bool complete() const override { return is_complete; }
  void Retain(std::span<const int> listed) override {
    retained.assign(listed.begin(), listed.end());
    std::erase_if(entries, [&](const auto& e) {
      return !std::binary_search(listed.begin(), listed.end(), e.first);
    });
  }
  // The process (tgid, start in stat ticks of 10 ms) has run `seconds` since the source started.
  void Set(int tgid, unsigned long start_ticks, double seconds, std::uint64_t execs = 0) {
    entries[tgid] = {tgid, start_ticks * 10'000'000ull,
                     static_cast<std::uint64_t>(std::llround(seconds * 1e9)), execs};
  }

  std::map<int, ProcessOnCpu> entries;
  bool is_complete = true;
  Status refresh_status = Status::Ok();
  int refreshes = 0;
  std::vector<int> retained;
};

TEST(ProcScannerOnCpuTest, KnownProcessesTakeTheSourcesTimeWithoutReadingStat) {
  FakeHostFs base;
  AddProc(base, 50, "busy", 100, 100, "0::/a\n");  // 1 s of CPU at the first scan
  AddProc(base, 51, "idle", 300, 100, "0::/b\n");  // 3 s, and no CPU since the source started
  FaultInjectingHostFs fs(base);
  FakeClock clock;
  FakeOnCpu on_cpu;
  on_cpu.Set(50, 100, 4.0);  // the source's count at the first scan (since it started)
  ProcScanner scanner(fs, clock, ScannerOptions(), &on_cpu);
  auto scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->on_cpu_samples, 0);  // first sight: stat read
  EXPECT_DOUBLE_EQ(Find(*scan, 50)->cpu_time.value(), 1.0);
  EXPECT_EQ(scanner.open_files(), 0u);  // stat files are not kept open
  // Reading stat now would fail: it is not read.
  fs.FailPath("/proc/50/stat", Status::IoError("EIO"));
  fs.FailPath("/proc/51/stat", Status::IoError("EIO"));
  on_cpu.Set(50, 100, 4.25);
  scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->read_errors, 0);
  EXPECT_EQ(scan->on_cpu_samples, 2);
  EXPECT_DOUBLE_EQ(Find(*scan, 50)->cpu_time.value(), 1.25);
  EXPECT_DOUBLE_EQ(Find(*scan, 50)->stat_cpu_time.value(), 1.25);
  EXPECT_DOUBLE_EQ(Find(*scan, 51)->cpu_time.value(), 3.0);
  EXPECT_EQ(Find(*scan, 50)->comm, "busy");
  EXPECT_EQ(Find(*scan, 50)->start_time_ticks, 100u);
  EXPECT_EQ(Find(*scan, 50)->cgroup_path, "/a");
  EXPECT_EQ(on_cpu.refreshes, 2);
  EXPECT_THAT(on_cpu.retained, ElementsAre(50, 51));
}

TEST(ProcScannerOnCpuTest, ExecRecycledPidAndIncompleteSourceReadStat) {
  FakeHostFs base;
  AddProc(base, 60, "runc:[2:INIT]", 10, 100, "0::/runtime\n");
  AddProc(base, 61, "old", 10, 100, "0::/old\n");
  AddProc(base, 62, "quiet", 10, 100, "0::/q\n");
  FakeClock clock;
  FakeOnCpu on_cpu;
  on_cpu.Set(60, 100, 0.5);
  on_cpu.Set(61, 100, 0.5);
  ProcScanner scanner(base, clock, ScannerOptions(), &on_cpu);
  ASSERT_TRUE(scanner.Scan().ok());
  // 60 execs its workload in a container's cgroup; 61's pid is recycled; 62 ran but the source
  // dropped its entry (full table).
  AddProc(base, 60, "nginx", 12, 100, "0::/kubepods/pod1/ctr\n");
  on_cpu.Set(60, 100, 0.52, /*execs=*/1);
  AddProc(base, 61, "new", 3, 900, "0::/new\n");
  on_cpu.Set(61, 900, 0.03);
  AddProc(base, 62, "quiet", 40, 100, "0::/q\n");
  on_cpu.is_complete = false;
  auto scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->on_cpu_samples, 0);
  EXPECT_EQ(Find(*scan, 60)->comm, "nginx");
  EXPECT_EQ(Find(*scan, 60)->cgroup_path, "/kubepods/pod1/ctr");
  EXPECT_DOUBLE_EQ(Find(*scan, 60)->cpu_time.value(), 0.12);
  EXPECT_EQ(Find(*scan, 61)->start_time_ticks, 900u);
  EXPECT_EQ(Find(*scan, 61)->comm, "new");
  EXPECT_DOUBLE_EQ(Find(*scan, 61)->cpu_time.value(), 0.03);
  EXPECT_DOUBLE_EQ(Find(*scan, 62)->cpu_time.value(), 0.4);
  // An exec that keeps the comm (a program re-executing itself) still rereads the cgroup.
  base.SetFile("/proc/60/cgroup", "0::/kubepods/pod1/ctr2\n");
  on_cpu.is_complete = true;
  on_cpu.Set(60, 100, 0.52, /*execs=*/2);
  scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(Find(*scan, 60)->comm, "nginx");
  EXPECT_EQ(Find(*scan, 60)->cgroup_path, "/kubepods/pod1/ctr2");
  EXPECT_DOUBLE_EQ(Find(*scan, 60)->cpu_time.value(), 0.12);
  // From here the new counts are the base: 60 runs 0.1 s more, without a stat read.
  on_cpu.Set(60, 100, 0.62, 2);
  scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->on_cpu_samples, 3);
  EXPECT_NEAR(Find(*scan, 60)->cpu_time.value(), 0.22, 1e-12);
}

TEST(ProcScannerOnCpuTest, FailingRefreshReadsStatAndTimeNeverGoesBackwards) {
  FakeHostFs base;
  AddProc(base, 70, "a", 100, 100, "0::/a\n");
  FakeClock clock;
  FakeOnCpu on_cpu;
  ProcScanner scanner(base, clock, ScannerOptions(), &on_cpu);
  ASSERT_TRUE(scanner.Scan().ok());
  on_cpu.Set(70, 100, 0.557);
  auto scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_NEAR(Find(*scan, 70)->cpu_time.value(), 1.557, 1e-12);
  // The source fails for a scan: stat is read (truncated to 10 ms ticks: 1.55 s), the error is
  // reported, and the time stays at what was reported.
  base.SetFile("/proc/70/stat", StatLine(70, "a", 155, 0, 1, 100));
  on_cpu.refresh_status = Status::IoError("bpf: Operation not permitted");
  scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->on_cpu_samples, 0);
  EXPECT_THAT(scan->errors, ElementsAre(HasSubstr("Operation not permitted")));
  EXPECT_DOUBLE_EQ(Find(*scan, 70)->cpu_time.value(), 1.55);
  // Back: counted again from a read of stat (1.56 s, the source at 0.567 s).
  on_cpu.refresh_status = Status::Ok();
  base.SetFile("/proc/70/stat", StatLine(70, "a", 156, 0, 1, 100));
  on_cpu.Set(70, 100, 0.567);
  scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_DOUBLE_EQ(Find(*scan, 70)->cpu_time.value(), 1.56);
  on_cpu.Set(70, 100, 0.577);
  scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->on_cpu_samples, 1);
  EXPECT_NEAR(Find(*scan, 70)->cpu_time.value(), 1.57, 1e-12);
  // An exec makes stat be read again; it lags the on-CPU count (1.565 < 1.57): held at 1.57.
  base.SetFile("/proc/70/stat", StatLine(70, "b", 156, 0, 1, 100));
  on_cpu.Set(70, 100, 0.578, 1);
  scan = scanner.Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(Find(*scan, 70)->comm, "b");
  EXPECT_NEAR(Find(*scan, 70)->cpu_time.value(), 1.57, 1e-12);
}

TEST(ProcScannerOnCpuTest, SameTimesAsStatOverChurn) {
  // Processes run, exec, exit and are replaced; stat and the source count the same CPU time
  // (the source in exact ticks): the scanner with the source reports what stat says, while
  // reading stat for new and exec'd processes only.
  FakeHostFs fs;
  FakeClock clock;
  FakeOnCpu on_cpu;
  std::mt19937 rng(7);
  struct P {
    unsigned long ticks, start;
    std::uint64_t execs;
    std::string comm;
    unsigned long before_source = 0;  // ticks used before the source started
  };
  std::map<int, P> live;
  int next_pid = 100;
  auto write = [&](int pid, const P& p) {
    AddProc(fs, pid, p.comm, p.ticks, p.start, "0::/c" + std::to_string(pid % 7) + "\n");
  };
  for (int i = 0; i < 40; ++i, ++next_pid) {
    const unsigned long ticks = rng() % 500;
    live[next_pid] = {ticks, 50, 0, "p", ticks};
    write(next_pid, live[next_pid]);
  }
  ProcScanner with(fs, clock, ScannerOptions(), &on_cpu);
  ProcScanner without(fs, clock, ScannerOptions());
  int on_cpu_samples = 0;
  for (int round = 0; round < 30; ++round) {
    auto a = with.Scan();
    auto b = without.Scan();
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->processes.size(), b->processes.size());
    for (std::size_t i = 0; i < a->processes.size(); ++i) {
      const ProcessSample& x = a->processes[i];
      const ProcessSample& y = b->processes[i];
      ASSERT_EQ(x.pid, y.pid);
      EXPECT_EQ(x.start_time_ticks, y.start_time_ticks) << x.pid;
      EXPECT_EQ(x.comm, y.comm) << x.pid;
      EXPECT_EQ(x.cgroup_path, y.cgroup_path) << x.pid;
      EXPECT_NEAR(x.cpu_time.value(), y.cpu_time.value(), 1e-9) << x.pid << " round " << round;
    }
    on_cpu_samples += a->on_cpu_samples;
    // Next period: some run, one execs, one exits and its pid may be reused.
    for (auto& [pid, p] : live) {
      if (rng() % 3 == 0) p.ticks += 1 + rng() % 30;
      if (rng() % 25 == 0) {
        ++p.execs;
        p.comm = "exec" + std::to_string(p.execs);
      }
    }
    auto victim = std::next(live.begin(), static_cast<long>(rng() % live.size()));
    const int gone = victim->first;
    live.erase(victim);
    RemoveProc(fs, gone);
    on_cpu.entries.erase(gone);
    const int pid = rng() % 2 == 0 ? gone : next_pid++;
    live[pid] = {rng() % 20, 60ul + static_cast<unsigned long>(round), 0, "n"};
    for (auto& [q, p] : live) {
      write(q, p);
      // The source counts the same ticks from when it started; every process has run at least
      // once (its start), so each has an entry.
      on_cpu.Set(q, p.start, static_cast<double>(p.ticks - p.before_source) * 0.01, p.execs);
    }
  }
  EXPECT_GT(on_cpu_samples, 30 * 30);  // most processes most scans came from the source
}

}  // namespace
}  // namespace wattson::usage
