#include "sources/usage/procfs.h"

#include <algorithm>
#include <charconv>
#include <cmath>
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
  // Fields after comm start with field 3 (state): rest[i] is field i + 3.
  const auto rest = Fields(text.substr(close + 1));
  if (rest.size() < 20) {
    return Status::InvalidArgument(fmt::format("stat: {} fields after comm, need 20", rest.size()));
  }
  if (rest[0].size() != 1) return Status::InvalidArgument("stat: bad state field");
  st.state = rest[0][0];
  if (!ParseNumber(rest[1], st.ppid) || !ParseNumber(rest[6], st.flags) ||
      !ParseNumber(rest[11], st.utime_ticks) || !ParseNumber(rest[12], st.stime_ticks) ||
      !ParseNumber(rest[17], st.num_threads) || !ParseNumber(rest[19], st.start_time_ticks)) {
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

Result<ProcScan> ScanProcesses(const HostFs& fs, const Clock& clock, const ScanOptions& options) {
  if (!(options.ticks_per_second > 0) || !std::isfinite(options.ticks_per_second)) {
    return Status::InvalidArgument("ScanOptions.ticks_per_second must be positive");
  }
  WATTSON_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.ListDir("/proc"));
  ProcScan scan;
  scan.taken_at = clock.Now();

  if (auto stat = fs.ReadFile("/proc/stat", kMaxProcFileBytes); stat.ok()) {
    auto node = ParseProcStatCpu(*stat, options.ticks_per_second);
    if (node.ok()) {
      scan.node = *node;
    } else {
      NoteError(scan, node.status().ToString());
    }
  } else {
    NoteError(scan, stat.status().ToString());
  }
  if (auto up = fs.ReadFile("/proc/uptime", 4096); up.ok()) {
    const auto f = Fields(*up);
    double s = 0;
    if (!f.empty() && ParseNumber(f[0], s) && std::isfinite(s) && s >= 0) scan.uptime = Seconds(s);
  }

  std::vector<int> pids;
  pids.reserve(names.size());
  for (const auto& name : names) {
    int pid = 0;
    if (IsPidName(name) && ParseNumber(name, pid) && pid > 0) pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
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
    ProcessSample p;
    p.pid = pid;
    p.ppid = st->ppid;
    p.comm = std::move(st->comm);
    p.stat_cpu_time = Ticks(st->utime_ticks + st->stime_ticks, options.ticks_per_second);
    p.num_threads = st->num_threads;
    p.start_time_ticks = st->start_time_ticks;
    p.kernel_thread = (st->flags & kPfKthread) != 0;
    if (p.kernel_thread && !options.include_kernel_threads) continue;

    if (options.read_schedstat) {
      // Missing (no CONFIG_SCHED_INFO) or unreadable schedstat just leaves it absent: stat is
      // enough.
      if (auto ss = fs.ReadFile(dir + "/schedstat", kMaxProcFileBytes); ss.ok()) {
        if (auto ns = ParseSchedstat(*ss); ns.ok()) {
          p.schedstat_cpu_time = Seconds(static_cast<double>(*ns) * 1e-9);
        }
      }
    }
    p.cpu_time =
        (p.schedstat_cpu_time && p.num_threads == 1) ? *p.schedstat_cpu_time : p.stat_cpu_time;

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

}  // namespace wattson::usage
