// procfs scanner: reads per-process CPU time and cgroup membership, and node CPU time, from a
// host's /proc through HostFs. Pure parsing functions, one stateless scan (ScanProcesses), and
// ProcScanner, which keeps files open between scans (the agent's). A pid that vanishes mid-scan is
// skipped; a pid whose files cannot be read is skipped and counted, never aborting the scan. See
// UsageTracker for deltas.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/host_fs.h"
#include "common/status.h"
#include "common/units.h"
#include "sources/usage/on_cpu_time.h"

namespace wattson::usage {

// One process as seen in one scan. Counters are cumulative since the process started.
struct ProcessSample {
  int pid = 0;
  int ppid = 0;
  std::string comm;  // from /proc/<pid>/stat (the same 15-byte task comm as /proc/<pid>/comm)
  // utime + stime from /proc/<pid>/stat: the whole thread group, exited threads included, at
  // clock-tick resolution. With an on-CPU time source (ProcScanner), the value of the last read of
  // stat plus the group's on-CPU time since, in nanoseconds.
  Seconds stat_cpu_time;
  // First field of /proc/<pid>/schedstat: on-CPU nanoseconds of the thread-group leader only.
  // Absent when the file is missing or unreadable.
  std::optional<Seconds> schedstat_cpu_time;
  int num_threads = 1;  // stat field 20 (with an on-CPU time source: as of the last read of stat)
  // The best cumulative CPU time: schedstat where it covers the whole process (one thread), else
  // stat. UsageTracker chooses per delta (see usage_tracker.h); this is for display.
  Seconds cpu_time;
  std::uint64_t start_time_ticks = 0;  // stat field 22: with pid, identifies one process instance
  bool kernel_thread = false;          // PF_KTHREAD in stat field 9 (flags)
  std::string cgroup_path;             // chosen by SelectCgroupPath; "" if none
  int cgroup_age = 0;                  // scans since cgroup_path was read (0 = read in this scan)
};

// Node-wide CPU time from the aggregate "cpu" line of /proc/stat.
struct NodeCpuTimes {
  Seconds user, nice, system, idle, iowait, irq, softirq, steal;
  int cpu_count = 0;  // number of "cpuN" lines
  // Time spent running something (user + nice + system + irq + softirq). guest time is already
  // part of user and is not added again; steal is time the hypervisor ran someone else.
  Seconds Busy() const { return user + nice + system + irq + softirq; }
  Seconds Total() const { return Busy() + idle + iowait + steal; }
};

struct ProcScan;

struct ScanOptions {
  // USER_HZ of the host, as sysconf(_SC_CLK_TCK) reports it (100 on every mainstream Linux ABI).
  double ticks_per_second = 100.0;
  // Skip kernel threads entirely (they are kept and marked by default; Kepler reports them as
  // "kernel_processes").
  bool include_kernel_threads = true;
  // Read /proc/<pid>/schedstat (one more read per process; the agent turns it off: stat's
  // utime + stime at clock-tick resolution are enough over a period of seconds).
  bool read_schedstat = true;
  // The previous scan, if the caller keeps it: a process found there with the same (pid, start
  // time) reuses its cgroup path instead of reading /proc/<pid>/cgroup again, for at most
  // cgroup_recheck_scans - 1 scans in a row. Reading three files per process costs 5-30 us of
  // kernel time each on a VM; cgroup membership rarely changes after exec, so this saves about a
  // third of a scan, at the price of noticing a cgroup move up to cgroup_recheck_scans scans late.
  // ProcScanner ignores `previous` (it keeps its own) and reads the cgroup of a known process
  // again once every cgroup_recheck_scans scans (spread over pids) or when its comm changes.
  const ProcScan* previous = nullptr;
  int cgroup_recheck_scans = 10;
  // ProcScanner only: at most this many /proc/<pid>/stat files kept open between scans (further
  // pids are opened, read and closed each scan); 0 = none. Lowered to OpenFileBudget
  // (RLIMIT_NOFILE's soft limit less max(64, a quarter)) when the scanner is made. Each open /proc
  // file costs about 5 KiB of kernel memory.
  std::size_t max_open_files = 4096;
};

// Everything one scan saw.
struct ProcScan {
  Clock::MonoTime taken_at{};
  std::vector<ProcessSample> processes;  // sorted by pid
  // Pids listed but not readable for a reason other than having exited (EIO, EACCES, parse
  // error). They are not ended: a tracker keeps their previous state.
  std::vector<int> unreadable_pids;
  int vanished = 0;  // pids that exited between listing /proc and reading them
  // Processes whose CPU time came from ProcScanner's on-CPU time source, without reading stat.
  int on_cpu_samples = 0;
  int read_errors = 0;
  std::optional<NodeCpuTimes> node;  // absent if /proc/stat could not be read or parsed
  std::optional<Seconds> uptime;     // first field of /proc/uptime (seconds since boot)
  std::vector<std::string> errors;   // first few error messages, for logs
};

// Scans /proc. Fails only if /proc itself cannot be listed.
Result<ProcScan> ScanProcesses(const HostFs& fs, const Clock& clock,
                               const ScanOptions& options = {});

// ProcScanner: ScanProcesses with memory between scans, for a caller that scans every few seconds.
// Promises the same ProcScan as ScanProcesses would give, at less cost: /proc/<pid>/stat of a known
// process is kept open and reread (one pread instead of open + read + close), for at most
// max_open_files pids; /proc/<pid>/cgroup is read for a process (pid + start time) seen for the
// first time, again when its comm changes (exec, e.g. a container's init becoming its workload)
// and otherwise once every cgroup_recheck_scans scans; a pid's file is closed when the pid
// disappears, its process exits (the old file reads ESRCH) or the pid is reused (start time
// differs). Not thread-safe; fs and clock must outlive it.
//
// With an on-CPU time source (on_cpu, which must outlive the scanner and see the same processes:
// the host's real /proc), each scan refreshes it once and a known process's stat is not read at
// all: its CPU time is stat's value at the last read plus the source's on-CPU time since, kept
// from going backwards. stat is read (and not kept open) for a new process, on an exec or a
// recycled pid the source reports, when the source has no entry for it but might have dropped one
// (complete() false), and for every process in a scan whose Refresh fails (that error is in
// ProcScan::errors). Processes that have gone are then forgotten by the source (Retain). A pid
// recycled by a process that has not yet been switched out keeps the old process's values until it
// is: at most one scan.
class ProcScanner {
 public:
  ProcScanner(const HostFs& fs, const Clock& clock, ScanOptions options = {},
              OnCpuTimeSource* on_cpu = nullptr);
  ~ProcScanner();
  ProcScanner(const ProcScanner&) = delete;
  ProcScanner& operator=(const ProcScanner&) = delete;

  // One scan. Fails only if /proc itself cannot be listed (or the options are invalid).
  Result<ProcScan> Scan();

  std::size_t open_files() const { return open_files_; }          // kept open now
  std::size_t max_open_files() const { return max_open_files_; }  // after the RLIMIT_NOFILE bound

 private:
  struct Known;
  enum class StatRead { kRead, kExeced, kGone, kUnreadable };
  // Reads /proc/<pid>/stat into stat_buf_ through k's handle (opened, reopened or closed as
  // needed) or, past the open-file bound, ReadFile.
  Status ReadStat(Known& k, const std::string& path);
  // ReadStat and parse into k.stat; a different start time resets k (a recycled pid) and reads
  // again. kExeced: the comm changed. kGone and kUnreadable are counted in scan.
  StatRead ReadAndParseStat(Known& k, const std::string& path, ProcScan& scan);
  // Whether the source's entry (may be null) is the process that started at start_time_ticks.
  bool SameProcess(const ProcessOnCpu* entry, std::uint64_t start_time_ticks) const;
  // k's CPU time from the source's entry, or nullopt when stat must be read.
  std::optional<Seconds> OnCpuTime(const Known& k, const ProcessOnCpu* entry) const;
  void Drop(Known& k);

  const HostFs& fs_;
  const Clock& clock_;
  ScanOptions options_;
  OnCpuTimeSource* on_cpu_;
  std::uint64_t ns_per_tick_ = 10'000'000;  // start_boottime ns per stat start-time tick
  std::size_t max_open_files_ = 0;
  std::size_t open_files_ = 0;
  std::uint64_t scans_ = 0;
  std::vector<Known> known_;  // by pid
  std::unique_ptr<HostFileHandle> proc_stat_, proc_uptime_;
  std::string stat_buf_;
};

// How many files a scanner may keep open: the soft RLIMIT_NOFILE less what the rest of the
// process needs (reserve, or a quarter of the limit if that is more), at most cap.
std::size_t OpenFileBudget(std::size_t cap, std::size_t reserve = 64);
// Raises the soft RLIMIT_NOFILE to the hard limit (for a process that keeps /proc files open).
// Returns the soft limit now in force.
Result<std::uint64_t> RaiseOpenFileLimit();

// Parsed fields of /proc/<pid>/stat.
struct ProcStat {
  int pid = 0;
  std::string comm;
  char state = '?';
  int ppid = 0;
  std::uint64_t flags = 0;
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  int num_threads = 0;
  std::uint64_t start_time_ticks = 0;
};

// Parses /proc/<pid>/stat. comm is everything between the first '(' and the LAST ')', so names
// holding spaces or parentheses ("(sd-pam)", "my prog) (x") parse correctly.
Result<ProcStat> ParseProcStat(std::string_view text);

// First field of /proc/<pid>/schedstat (on-CPU time in ns).
Result<std::uint64_t> ParseSchedstat(std::string_view text);

// Chooses one path from /proc/<pid>/cgroup, documented rule:
//   1. a cgroup v1 line whose controller list holds "cpu" or "cpuacct" (the hierarchy that
//      accounts CPU, which is what wattson attributes);
//   2. else the cgroup v2 line "0::<path>" (pure v2, or hybrid without a cpu hierarchy);
//   3. else the "name=systemd" line;
//   4. else the first well-formed line.
// Returns "" when no line is well formed.
std::string SelectCgroupPath(std::string_view cgroup_file);

// Whether this process is in the initial pid namespace (the kernel's pids are the ones its /proc
// lists), from the NSpid line of /proc/self/status, which lists one pid per namespace level.
// Without the line (Linux before 4.1) there is no telling: true. Unreadable: false.
bool InInitialPidNamespace(const HostFs& fs);

// Parses /proc/stat's aggregate "cpu" line; fields missing on old kernels count as zero.
Result<NodeCpuTimes> ParseProcStatCpu(std::string_view text, double ticks_per_second);

// PF_KTHREAD from include/linux/sched.h.
inline constexpr std::uint64_t kPfKthread = 0x00200000;

}  // namespace wattson::usage
