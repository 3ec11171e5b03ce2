// FakeHost: a FakeHostFs plus a FakeClock that behave like a small Linux host for the agent's
// tests and benchmark: processes (/proc/<pid>/{stat,schedstat,cgroup}) that a test makes run,
// start and exit, /proc/stat and /proc/uptime that advance with the clock, and powercap/hwmon
// files a test rewrites. Can start from a tree under testdata/hosts/. Test support only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/host_fs.h"
#include "fmt/format.h"

namespace wattson::agent::testing {

class FakeHost {
 public:
  explicit FakeHost(int cpus = 4) : cpus_(cpus) {
    fs.SetFile("/sys/devices/system/cpu/online", fmt::format("0-{}\n", cpus - 1));
    WriteNode();
  }

  // Adds every file of a testdata tree (e.g. WATTSON_TESTDATA_DIR "/hosts/rapl-2socket") at the
  // same host path. /proc/stat and /proc/uptime are then this FakeHost's own.
  void LoadTree(const std::string& dir) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      const std::string rel = std::filesystem::relative(e.path(), dir).generic_string();
      if (rel == "README.md") continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      fs.SetFile("/" + rel, ss.str());
    }
    WriteNode();
  }

  // A process started now (start time = the current uptime) with the given cgroup file content.
  void AddProcess(int pid, const std::string& comm, const std::string& cgroup,
                  std::uint64_t cpu_ticks = 0, int threads = 1, bool schedstat = true) {
    const std::uint64_t start = static_cast<std::uint64_t>(uptime_ * 100.0);
    fs.SetFile(fmt::format("/proc/{}/stat", pid),
               fmt::format("{} ({}) S 1 {} {} 0 -1 4194560 100 0 0 0 {} 0 0 0 20 0 {} 0 {} "
                           "1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 "
                           "0 0 0 0 0 0 0 0 0 0\n",
                           pid, comm, pid, pid, cpu_ticks, threads, start));
    if (schedstat) {
      fs.SetFile(fmt::format("/proc/{}/schedstat", pid),
                 fmt::format("{} 0 0\n", cpu_ticks * 10'000'000ull));
    }
    fs.SetFile(fmt::format("/proc/{}/cgroup", pid), cgroup);
  }

  void RemoveProcess(int pid) {
    for (const char* f : {"stat", "schedstat", "cgroup", "comm"}) {
      fs.RemoveFile(fmt::format("/proc/{}/{}", pid, f));
    }
  }

  // Lets pid run for cpu_ticks clock ticks (10 ms each) of user time before the next Advance().
  void RunProcess(int pid, std::uint64_t cpu_ticks) {
    const std::string path = fmt::format("/proc/{}/stat", pid);
    auto text = fs.ReadFile(path);
    if (!text.ok()) return;
    const std::string& s = *text;
    const auto close = s.rfind(')');
    std::vector<std::string> fields;
    std::istringstream rest(s.substr(close + 2));
    for (std::string f; rest >> f;) fields.push_back(f);
    // fields[0] is field 3 (state); utime is field 14 → index 11.
    fields[11] = std::to_string(std::stoull(fields[11]) + cpu_ticks);
    std::string out = s.substr(0, close + 1);
    for (const auto& f : fields) out += " " + f;
    fs.SetFile(path, out + "\n");
    const std::string sched = fmt::format("/proc/{}/schedstat", pid);
    if (auto st = fs.ReadFile(sched); st.ok()) {
      std::istringstream in(*st);
      std::uint64_t ns = 0, a = 0, b = 0;
      in >> ns >> a >> b;
      fs.SetFile(sched, fmt::format("{} {} {}\n", ns + cpu_ticks * 10'000'000ull, a, b));
    }
    pending_busy_ticks_ += cpu_ticks;
  }

  // Moves time forward: the clock, /proc/uptime and /proc/stat (the busy ticks run since the last
  // Advance, the rest of cpus × dt idle).
  void Advance(double seconds) {
    clock.Advance(Seconds(seconds));
    uptime_ += seconds;
    const std::uint64_t total = static_cast<std::uint64_t>(seconds * 100.0 * cpus_);
    user_ticks_ += pending_busy_ticks_;
    idle_ticks_ += total > pending_busy_ticks_ ? total - pending_busy_ticks_ : 0;
    pending_busy_ticks_ = 0;
    WriteNode();
  }

  // Adds energy to a powercap counter file, wrapping at max_range_uj (0: no wrap).
  void AddEnergyUj(const std::string& path, std::uint64_t uj, std::uint64_t max_range_uj) {
    std::uint64_t now = 0;
    if (auto t = fs.ReadFile(path); t.ok()) now = std::stoull(*t);
    now += uj;
    if (max_range_uj > 0) now %= (max_range_uj + 1);
    fs.SetFile(path, std::to_string(now) + "\n");
  }

  double uptime() const { return uptime_; }
  int cpus() const { return cpus_; }

  FakeHostFs fs;
  FakeClock clock;

 private:
  void WriteNode() {
    std::string stat = fmt::format("cpu  {} 0 0 {} 0 0 0 0 0 0\n", user_ticks_, idle_ticks_);
    for (int c = 0; c < cpus_; ++c) {
      stat +=
          fmt::format("cpu{} {} 0 0 {} 0 0 0 0 0 0\n", c, user_ticks_ / cpus_, idle_ticks_ / cpus_);
    }
    fs.SetFile("/proc/stat", stat);
    fs.SetFile("/proc/uptime", fmt::format("{:.2f} {:.2f}\n", uptime_, uptime_ * cpus_));
  }

  int cpus_;
  double uptime_ = 7000.0;
  std::uint64_t user_ticks_ = 100000;
  std::uint64_t idle_ticks_ = 2000000;
  std::uint64_t pending_busy_ticks_ = 0;
};

}  // namespace wattson::agent::testing
