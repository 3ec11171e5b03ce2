#include "sources/usage/procfs.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <iterator>
#include <memory>
#include <utility>

#include "fmt/format.h"

namespace wattson::usage {

namespace {

constexpr std::size_t kMaxProcFileBytes = 64u << 10;  // stat, schedstat, cgroup are far smaller
constexpr std::size_t kMaxKeptErrors = 8;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Splits on runs of whitespace.
std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    std::size_t j = i;
    while (j < s.size() && !IsSpace(s[j])) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool IsPidName(std::string_view name) {
  if (name.empty() || name.size() > 10) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Seconds Ticks(std::uint64_t ticks, double ticks_per_second) {
  return Seconds(static_cast<double>(ticks) / ticks_per_second);
}

// Why reading one pid's file failed: exited (skip silently) or a real error.
bool IsGone(const Status& s) { return s.code() == StatusCode::kNotFound; }

void NoteError(ProcScan& scan, std::string message) {
  ++scan.read_errors;
  if (scan.errors.size() < kMaxKeptErrors) scan.errors.push_back(std::move(message));
}

// The same process (pid and start time) in the previous scan, if one was given.
const ProcessSample* FindPrevious(const ScanOptions& options, int pid, std::uint64_t start) {
  if (options.previous == nullptr) return nullptr;
  const auto& prev = options.previous->processes;
  auto it = std::lower_bound(prev.begin(), prev.end(), pid,
                             [](const ProcessSample& s, int p) { return s.pid < p; });
  if (it == prev.end() || it->pid != pid || it->start_time_ticks != start) return nullptr;
  return &*it;
}

// The pids listed in /proc, sorted.
std::vector<int> PidsOf(const std::vector<std::string>& names) {
  std::vector<int> pids;
  pids.reserve(names.size());
  for (const auto& name : names) {
    int pid = 0;
    if (IsPidName(name) && ParseNumber(name, pid) && pid > 0) pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

void ParseNode(const Result<std::string>& stat, ProcScan& scan, double ticks_per_second) {
  if (!stat.ok()) {
    NoteError(scan, stat.status().ToString());
    return;
  }
  auto node = ParseProcStatCpu(*stat, ticks_per_second);
  if (node.ok()) {
    scan.node = *node;
  } else {
    NoteError(scan, node.status().ToString());
  }
}

void ParseUptime(const Result<std::string>& up, ProcScan& scan) {
  if (!up.ok()) return;
  const auto f = Fields(*up);
  double s = 0;
  if (!f.empty() && ParseNumber(f[0], s) && std::isfinite(s) && s >= 0) scan.uptime = Seconds(s);
}

// A sample from a parsed stat (everything but schedstat and the cgroup).
ProcessSample SampleOf(int pid, const ProcStat& st, const ScanOptions& options) {
  ProcessSample p;
  p.pid = pid;
  p.ppid = st.ppid;
  p.comm = st.comm;
  p.stat_cpu_time = Ticks(st.utime_ticks + st.stime_ticks, options.ticks_per_second);
  p.num_threads = st.num_threads;
  p.start_time_ticks = st.start_time_ticks;
  p.kernel_thread = (st.flags & kPfKthread) != 0;
  p.cpu_time = p.stat_cpu_time;
  return p;
}

// Reads schedstat if asked to; missing (no CONFIG_SCHED_INFO) or unreadable schedstat just leaves
// it absent: stat is enough.
void AddSchedstat(const HostFs& fs, const std::string& dir, const ScanOptions& options,
                  ProcessSample& p) {
  if (!options.read_schedstat) return;
  if (auto ss = fs.ReadFile(dir + "/schedstat", kMaxProcFileBytes); ss.ok()) {
    if (auto ns = ParseSchedstat(*ss); ns.ok()) {
      p.schedstat_cpu_time = Seconds(static_cast<double>(*ns) * 1e-9);
    }
  }
  p.cpu_time =
      (p.schedstat_cpu_time && p.num_threads == 1) ? *p.schedstat_cpu_time : p.stat_cpu_time;
}

// Reads a node-wide file (/proc/stat, /proc/uptime) through a handle kept open; a handle whose
// file is gone (replaced) is reopened at once, one that fails otherwise is reopened next time.
Result<std::string> ReadWithHandle(const HostFs& fs, std::unique_ptr<HostFileHandle>& handle,
                                   std::string_view path, std::size_t max_bytes) {
  std::string out;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reopened = handle == nullptr;
    if (reopened) {
      auto opened = fs.OpenForReread(path);
      if (!opened.ok()) {
        if (IsGone(opened.status())) return opened.status();
        return fs.ReadFile(path, max_bytes);  // cannot keep it open (EMFILE, ...): read it plainly
      }
      handle = std::move(opened).value();
    }
    Status s = handle->Reread(&out, max_bytes);
    if (s.ok()) return out;
    handle.reset();
    if (reopened || !IsGone(s)) return s;
  }
  return Status::NotFound(std::string(path));
}

}  // namespace

Result<ProcStat> ParseProcStat(std::string_view text) {
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return Status::InvalidArgument("stat: no '(comm)'");
  }
  ProcStat st;
  std::string_view pid_text = text.substr(0, open);
  while (!pid_text.empty() && IsSpace(pid_text.back())) pid_text.remove_suffix(1);
  if (!ParseNumber(pid_text, st.pid) || st.pid < 0) {
    return Status::InvalidArgument("stat: bad pid field");
  }
  st.comm = std::string(text.substr(open + 1, close - open - 1));
  // Fields after comm start with field 3 (state): field i + 3 is the i-th after comm. Walked in
  // place (no vector of fields: this runs for every process every tick).
  // Bytes up to ' ' count as separators (the kernel writes single spaces and a final newline).
  std::string_view f[20];
  std::size_t count = 0;
  const char* p = text.data() + close + 1;
  const char* const end = text.data() + text.size();
  auto separator = [](char c) { return static_cast<unsigned char>(c) <= ' '; };
  while (p != end && count < 20) {
    while (p != end && separator(*p)) ++p;
    const char* q = p;
    while (q != end && !separator(*q)) ++q;
    if (q != p) f[count++] = std::string_view(p, static_cast<std::size_t>(q - p));
    p = q;
  }
  if (count < 20) {
    return Status::InvalidArgument(fmt::format("stat: {} fields after comm, need 20", count));
  }
  if (f[0].size() != 1) return Status::InvalidArgument("stat: bad state field");
  st.state = f[0][0];
  if (!ParseNumber(f[1], st.ppid) || !ParseNumber(f[6], st.flags) ||
      !ParseNumber(f[11], st.utime_ticks) || !ParseNumber(f[12], st.stime_ticks) ||
      !ParseNumber(f[17], st.num_threads) || !ParseNumber(f[19], st.start_time_ticks)) {
    return Status::InvalidArgument(
        "stat: a numeric field (ppid, flags, utime, stime, "
        "num_threads or starttime) is not a number");
  }
  return st;
}

Result<std::uint64_t> ParseSchedstat(std::string_view text) {
  const auto fields = Fields(text);
  std::uint64_t ns = 0;
  if (fields.empty() || !ParseNumber(fields[0], ns)) {
    return Status::InvalidArgument("schedstat: first field is not a number");
  }
  return ns;
}

std::string SelectCgroupPath(std::string_view cgroup_file) {
  std::optional<std::string_view> cpu_v1, unified, systemd, first;
  std::size_t pos = 0;
  while (pos < cgroup_file.size()) {
    auto end = cgroup_file.find('\n', pos);
    if (end == std::string_view::npos) end = cgroup_file.size();
    const std::string_view line = cgroup_file.substr(pos, end - pos);
    pos = end + 1;
    // "<id>:<controllers>:<path>"; the path itself may contain ':'.
    const auto c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    const auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, c1);
    const std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    const std::string_view path = line.substr(c2 + 1);
    unsigned hierarchy = 0;
    if (!ParseNumber(id, hierarchy) || path.empty() || path.front() != '/') continue;
    if (!first) first = path;
    if (hierarchy == 0 && controllers.empty()) {
      if (!unified) unified = path;
      continue;
    }
    std::size_t i = 0;
    while (i <= controllers.size()) {
      auto j = controllers.find(',', i);
      if (j == std::string_view::npos) j = controllers.size();
      const std::string_view c = controllers.substr(i, j - i);
      if ((c == "cpu" || c == "cpuacct") && !cpu_v1) cpu_v1 = path;
      if (c == "name=systemd" && !systemd) systemd = path;
      i = j + 1;
    }
  }
  for (const auto* p : {&cpu_v1, &unified, &systemd, &first}) {
    if (*p) return std::string(**p);
  }
  return "";
}

Result<NodeCpuTimes> ParseProcStatCpu(std::string_view text, double ticks_per_second) {
  if (!(ticks_per_second > 0) || !std::isfinite(ticks_per_second)) {
    return Status::InvalidArgument("ticks_per_second must be positive");
  }
  NodeCpuTimes out;
  bool found = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.substr(0, 3) != "cpu") continue;
    const auto f = Fields(line);
    if (f.empty()) continue;
    if (f[0] != "cpu") {
      ++out.cpu_count;
      continue;
    }
    if (f.size() < 5) return Status::InvalidArgument("/proc/stat: short 'cpu' line");
    std::uint64_t v[8] = {};
    for (std::size_t i = 1; i < f.size() && i <= 8; ++i) {
      if (!ParseNumber(f[i], v[i - 1])) {
        return Status::InvalidArgument(
            fmt::format("/proc/stat: 'cpu' field {} is not a number", i));
      }
    }
    out.user = Ticks(v[0], ticks_per_second);
    out.nice = Ticks(v[1], ticks_per_second);
    out.system = Ticks(v[2], ticks_per_second);
    out.idle = Ticks(v[3], ticks_per_second);
    out.iowait = Ticks(v[4], ticks_per_second);
    out.irq = Ticks(v[5], ticks_per_second);
    out.softirq = Ticks(v[6], ticks_per_second);
    out.steal = Ticks(v[7], ticks_per_second);
    found = true;
  }
  if (!found) return Status::InvalidArgument("/proc/stat: no 'cpu' line");
  return out;
}

bool InInitialPidNamespace(const HostFs& fs) {
  auto status = fs.ReadFile("/proc/self/status", kMaxProcFileBytes);
  if (!status.ok()) return false;
  const std::string_view text = *status;
  const auto at = text.find("\nNSpid:");
  if (at == std::string_view::npos) return true;
  std::string_view line = text.substr(at + 7);
  line = line.substr(0, line.find('\n'));
  return Fields(line).size() == 1;
}

Result<ProcScan> ScanProcesses(const HostFs& fs, const Clock& clock, const ScanOptions& options) {
  if (!(options.ticks_per_second > 0) || !std::isfinite(options.ticks_per_second)) {
    return Status::InvalidArgument("ScanOptions.ticks_per_second must be positive");
  }
  WATTSON_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.ListDir("/proc"));
  ProcScan scan;
  scan.taken_at = clock.Now();

  ParseNode(fs.ReadFile("/proc/stat", kMaxProcFileBytes), scan, options.ticks_per_second);
  ParseUptime(fs.ReadFile("/proc/uptime", 4096), scan);

  const std::vector<int> pids = PidsOf(names);
  scan.processes.reserve(pids.size());

  for (int pid : pids) {
    const std::string dir = fmt::format("/proc/{}", pid);
    auto unreadable = [&](const Status& s) {
      scan.unreadable_pids.push_back(pid);
      NoteError(scan, s.ToString());
    };
    auto stat_text = fs.ReadFile(dir + "/stat", kMaxProcFileBytes);
    if (!stat_text.ok()) {
      if (IsGone(stat_text.status())) {
        ++scan.vanished;
      } else {
        unreadable(stat_text.status());
      }
      continue;
    }
    auto st = ParseProcStat(*stat_text);
    if (!st.ok()) {
      unreadable(st.status().WithContext(fs.Describe(dir + "/stat")));
      continue;
    }
    ProcessSample p = SampleOf(pid, *st, options);
    if (p.kernel_thread && !options.include_kernel_threads) continue;
    AddSchedstat(fs, dir, options, p);

    if (const ProcessSample* old = FindPrevious(options, p.pid, p.start_time_ticks);
        old != nullptr && old->cgroup_age + 1 < options.cgroup_recheck_scans) {
      p.cgroup_path = old->cgroup_path;
      p.cgroup_age = old->cgroup_age + 1;
      scan.processes.push_back(std::move(p));
      continue;
    }
    auto cg = fs.ReadFile(dir + "/cgroup", kMaxProcFileBytes);
    if (!cg.ok()) {
      if (IsGone(cg.status())) {
        ++scan.vanished;
      } else {
        unreadable(cg.status());
      }
      continue;
    }
    p.cgroup_path = SelectCgroupPath(*cg);
    scan.processes.push_back(std::move(p));
  }
  return scan;
}

std::size_t OpenFileBudget(std::size_t cap, std::size_t reserve) {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return cap;
  const auto soft = static_cast<std::uint64_t>(rl.rlim_cur);
  // At least a quarter of a small limit stays for everything else (perf counters take three
  // descriptors per CPU, the HTTP server one per connection).
  const std::uint64_t keep = std::max<std::uint64_t>(reserve, soft / 4);
  if (soft <= keep) return 0;
  return static_cast<std::size_t>(std::min<std::uint64_t>(cap, soft - keep));
}

Result<std::uint64_t> RaiseOpenFileLimit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return Status::IoError(fmt::format("getrlimit(RLIMIT_NOFILE): errno {}", errno));
  }
  if (rl.rlim_cur != rl.rlim_max) {
    struct rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      return Status::IoError(fmt::format("setrlimit(RLIMIT_NOFILE, {}): errno {}",
                                         static_cast<std::uint64_t>(rl.rlim_max), errno));
    }
    rl = raised;
  }
  return static_cast<std::uint64_t>(rl.rlim_cur);
}

// What the scanner remembers of one pid between scans.
struct ProcScanner::Known {
  int pid = 0;
  bool have_stat = false;    // stat holds this process's last parsed /proc/<pid>/stat
  bool have_cgroup = false;  // cgroup_path was read for this process
  int cgroup_age = 0;        // scans since cgroup_path was read
  ProcStat stat;
  std::string cgroup_path;
  std::unique_ptr<HostFileHandle> stat_file;  // open /proc/<pid>/stat, or null
  // With an on-CPU source: CPU time = stat_cpu_time + (on-CPU ns now - on_cpu_base_ns), counted
  // from the last read of stat; reported is the last value given (kept from going backwards).
  bool on_cpu_based = false;
  Seconds stat_cpu_time;
  std::uint64_t on_cpu_base_ns = 0;
  std::uint64_t execs = 0;
  Seconds reported;
};

ProcScanner::ProcScanner(const HostFs& fs, const Clock& clock, ScanOptions options,
                         OnCpuTimeSource* on_cpu)
    : fs_(fs), clock_(clock), options_(options), on_cpu_(on_cpu) {
  options_.previous = nullptr;
  if (options_.cgroup_recheck_scans < 1) options_.cgroup_recheck_scans = 1;
  max_open_files_ = OpenFileBudget(options_.max_open_files);
  if (options_.ticks_per_second > 0 && std::isfinite(options_.ticks_per_second)) {
    ns_per_tick_ = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::llround(1e9 / options_.ticks_per_second)));
  }
}

ProcScanner::~ProcScanner() = default;

void ProcScanner::Drop(Known& k) {
  if (k.stat_file != nullptr) {
    k.stat_file.reset();
    --open_files_;
  }
}

Status ProcScanner::ReadStat(Known& k, const std::string& path) {
  if (k.stat_file != nullptr) {
    Status s = k.stat_file->Reread(&stat_buf_, kMaxProcFileBytes);
    if (s.ok() || !IsGone(s)) return s;
    // The file we had is gone (its process exited, or the file was replaced): this pid, if it is
    // still listed, is a new file.
    Drop(k);
  }
  if (open_files_ < max_open_files_) {
    auto opened = fs_.OpenForReread(path);
    if (opened.ok()) {
      k.stat_file = std::move(opened).value();
      ++open_files_;
      return k.stat_file->Reread(&stat_buf_, kMaxProcFileBytes);
    }
    if (IsGone(opened.status())) return opened.status();
    // Any other failure to open (EMFILE: the process ran out of descriptors, ...): read it the
    // plain way below, whose error, if it fails too, is the one reported.
  }
  WATTSON_ASSIGN_OR_RETURN(stat_buf_, fs_.ReadFile(path, kMaxProcFileBytes));
  return Status::Ok();
}

ProcScanner::StatRead ProcScanner::ReadAndParseStat(Known& k, const std::string& path,
                                                    ProcScan& scan) {
  auto failed = [&](const Status& s) {
    if (IsGone(s)) {
      ++scan.vanished;
      Drop(k);
      return StatRead::kGone;
    }
    scan.unreadable_pids.push_back(k.pid);
    NoteError(scan, s.ToString());
    return StatRead::kUnreadable;
  };
  Status read = ReadStat(k, path);
  if (!read.ok()) return failed(read);
  auto st = ParseProcStat(stat_buf_);
  if (!st.ok()) return failed(st.status().WithContext(fs_.Describe(path)));
  if (k.have_stat && k.stat.start_time_ticks != st->start_time_ticks) {
    // A recycled pid: a new process. Its file is opened afresh (a real /proc file of the old
    // process would have read ESRCH above; anything else is stale too).
    Drop(k);
    const int pid = k.pid;
    k = Known{};
    k.pid = pid;
    Status again = ReadStat(k, path);
    if (!again.ok()) return failed(again);
    st = ParseProcStat(stat_buf_);
    if (!st.ok()) return failed(st.status().WithContext(fs_.Describe(path)));
  }
  const bool comm_changed = k.have_stat && k.stat.comm != st->comm;
  k.stat = std::move(st).value();
  k.have_stat = true;
  return comm_changed ? StatRead::kExeced : StatRead::kRead;
}

bool ProcScanner::SameProcess(const ProcessOnCpu* entry, std::uint64_t start_time_ticks) const {
  return entry != nullptr && entry->start_boottime_ns / ns_per_tick_ == start_time_ticks;
}

std::optional<Seconds> ProcScanner::OnCpuTime(const Known& k, const ProcessOnCpu* entry) const {
  if (!k.on_cpu_based || !k.have_stat) return std::nullopt;
  if (entry == nullptr) {
    // Not switched out since the source started: no CPU used, if nothing was dropped.
    if (on_cpu_->complete() && k.on_cpu_base_ns == 0) return k.stat_cpu_time;
    return std::nullopt;
  }
  // A different start time is a recycled pid, more execs a new program: read stat.
  if (!SameProcess(entry, k.stat.start_time_ticks)) return std::nullopt;
  if (entry->execs != k.execs || entry->on_cpu_ns < k.on_cpu_base_ns) return std::nullopt;
  return k.stat_cpu_time + Seconds(static_cast<double>(entry->on_cpu_ns - k.on_cpu_base_ns) * 1e-9);
}

Result<ProcScan> ProcScanner::Scan() {
  if (!(options_.ticks_per_second > 0) || !std::isfinite(options_.ticks_per_second)) {
    return Status::InvalidArgument("ScanOptions.ticks_per_second must be positive");
  }
  WATTSON_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.ListDir("/proc"));
  ProcScan scan;
  scan.taken_at = clock_.Now();
  ++scans_;
  ParseNode(ReadWithHandle(fs_, proc_stat_, "/proc/stat", kMaxProcFileBytes), scan,
            options_.ticks_per_second);
  ParseUptime(ReadWithHandle(fs_, proc_uptime_, "/proc/uptime", 4096), scan);
  bool on_cpu = false;
  if (on_cpu_ != nullptr) {
    Status s = on_cpu_->Refresh();
    on_cpu = s.ok();
    if (!on_cpu)
      NoteError(scan, s.WithContext("on-CPU times (read from /proc instead)").ToString());
  }

  const std::vector<int> pids = PidsOf(names);
  scan.processes.reserve(pids.size());
  std::vector<Known> known;
  known.reserve(pids.size());
  auto old = known_.begin();
  std::string path;
  for (int pid : pids) {
    // Pids below this one that were known are gone: close their files.
    for (; old != known_.end() && old->pid < pid; ++old) Drop(*old);
    Known k;
    if (old != known_.end() && old->pid == pid) {
      k = std::move(*old);
      ++old;
    }
    k.pid = pid;
    path.clear();
    fmt::format_to(std::back_inserter(path), "/proc/{}/stat", pid);
    const std::string_view dir = std::string_view(path).substr(0, path.size() - 5);

    const ProcessOnCpu* entry = on_cpu ? on_cpu_->Find(pid) : nullptr;
    const std::optional<Seconds> on_cpu_time = on_cpu ? OnCpuTime(k, entry) : std::nullopt;
    bool execed = false;
    ProcessSample p;
    if (on_cpu_time) {
      p = SampleOf(pid, k.stat, options_);
      p.stat_cpu_time = p.cpu_time = *on_cpu_time;
      ++scan.on_cpu_samples;
    } else {
      const bool was_on_cpu = k.on_cpu_based;
      const StatRead r = ReadAndParseStat(k, path, scan);
      if (r == StatRead::kGone) continue;
      if (r == StatRead::kUnreadable) {
        known.push_back(std::move(k));  // keeps what it knew (and its file) for the next scan
        continue;
      }
      const bool same_process = SameProcess(entry, k.stat.start_time_ticks);
      // An exec the source counted rereads the cgroup even when the program kept its comm.
      execed = r == StatRead::kExeced ||
               (was_on_cpu && k.on_cpu_based && same_process && entry->execs != k.execs);
      p = SampleOf(pid, k.stat, options_);
      if (!(p.kernel_thread && !options_.include_kernel_threads)) {
        AddSchedstat(fs_, std::string(dir), options_, p);
      }
      if (on_cpu) {
        // Count from this read of stat; the file need not stay open (it is read again only for
        // an exec or a recycled pid).
        k.on_cpu_based = true;
        k.stat_cpu_time = p.stat_cpu_time;
        k.on_cpu_base_ns = same_process ? entry->on_cpu_ns : 0;
        k.execs = same_process ? entry->execs : 0;
        if (!was_on_cpu) k.reported = Seconds(0);
        Drop(k);
      } else {
        k.on_cpu_based = false;
      }
    }
    if (k.on_cpu_based) {
      // stat (tick resolution) read again after on-CPU times may be a little behind them.
      p.stat_cpu_time = p.cpu_time = std::max(p.cpu_time, k.reported);
      k.reported = p.cpu_time;
    }
    if (p.kernel_thread && !options_.include_kernel_threads) {
      known.push_back(std::move(k));
      continue;
    }

    const auto period = static_cast<std::uint64_t>(options_.cgroup_recheck_scans);
    const bool refresh = options_.cgroup_recheck_scans > 1
                             ? (static_cast<std::uint64_t>(pid) + scans_) % period == 0
                             : true;
    if (k.have_cgroup && !execed && !refresh) {
      ++k.cgroup_age;
    } else {
      auto cg = fs_.ReadFile(std::string(dir) + "/cgroup", kMaxProcFileBytes);
      if (!cg.ok()) {
        if (IsGone(cg.status())) {
          ++scan.vanished;
          Drop(k);
          continue;
        }
        scan.unreadable_pids.push_back(pid);
        NoteError(scan, cg.status().ToString());
        k.have_cgroup = false;
        known.push_back(std::move(k));
        continue;
      }
      k.cgroup_path = SelectCgroupPath(*cg);
      k.have_cgroup = true;
      k.cgroup_age = 0;
    }
    p.cgroup_path = k.cgroup_path;
    p.cgroup_age = k.cgroup_age;
    scan.processes.push_back(std::move(p));
    known.push_back(std::move(k));
  }
  for (; old != known_.end(); ++old) Drop(*old);
  known_ = std::move(known);
  if (on_cpu) on_cpu_->Retain(pids);
  return scan;
}

}  // namespace wattson::usage
