// The agent's tick on a fake host of 100, 1 000 and 10 000 processes: CPU time per tick and the
// process's resident memory. The host is a tree of real files in a temporary folder read through
// RootedHostFs (the production path: real files, /proc/<pid>/stat kept open and reread with
// pread; on disk, unlike procfs, each reread also checks with fstat that the file was not
// replaced), with a two-socket RAPL powercap
// tree, processes spread over 200 containers in 100 pods (cgroup v2, containerd), a third of them
// running in each tick, 1 % replaced by new processes per tick. The embedded default model
// estimates platform power. Time spent rewriting the tree between ticks is excluded.
// BM_AgentTick/N/1 runs the same host from an in-memory FakeHostFs: the agent's own work without
// the kernel's cost of reading files.
// BM_AgentTickRealHost runs the agent on this machine's own /proc with CPU time from stat or from
// eBPF, BM_ScanRealProc the scan alone, BM_PipeRoundTrip what the eBPF program adds to context
// switches (the eBPF variants skip where the program cannot be loaded).
// scripts/bench-agent.sh runs one size per process (clean RSS) and prints Markdown tables.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/setup.h"
#include "benchmark/benchmark.h"
#include "common/clock.h"
#include "common/host_fs.h"
#include "export/state.h"
#include "fmt/format.h"
#include "sources/usage/ebpf_on_cpu.h"
#include "sources/usage/procfs.h"

namespace {

namespace fs = std::filesystem;
using wattson::Seconds;

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

double StatusMb(const char* key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(std::string(key).size())) / 1024.0;
  }
  return 0;
}

// Where the fake host lives: files on disk read through RootedHostFs (every read a system call,
// as on a real host), or an in-memory FakeHostFs (only the agent's own work is measured).
enum class HostKind { kDisk, kMemory };

// A host tree whose processes a benchmark makes run.
class BenchHost {
 public:
  BenchHost(int processes, int cpus, HostKind kind = HostKind::kDisk)
      : kind_(kind), cpus_(cpus), rng_(42) {
    if (kind_ == HostKind::kDisk) {
      std::string tmpl = (fs::temp_directory_path() / "wattson_agent_bench.XXXXXX").string();
      if (mkdtemp(tmpl.data()) == nullptr) std::abort();
      root_ = tmpl;
      rooted_ = std::make_unique<wattson::RootedHostFs>(root_.string());
    }
    Write(root_ / "sys/devices/system/cpu/online", fmt::format("0-{}\n", cpus - 1));
    for (int s = 0; s < 2; ++s) {
      const fs::path z = root_ / fmt::format("sys/class/powercap/intel-rapl:{}", s);
      Write(z / "name", fmt::format("package-{}\n", s));
      Write(z / "max_energy_range_uj", "262143328850\n");
      Write(z / "energy_uj", "1000000\n");
      const fs::path d = root_ / fmt::format("sys/class/powercap/intel-rapl:{}:0", s);
      Write(d / "name", "dram\n");
      Write(d / "max_energy_range_uj", "65712999613\n");
      Write(d / "energy_uj", "1000000\n");
    }
    for (int i = 0; i < processes; ++i) Add();
    Node();
  }
  ~BenchHost() {
    Bury();
    if (kind_ == HostKind::kDisk) {
      std::error_code ec;
      fs::remove_all(root_, ec);
    }
  }

  const wattson::HostFs& fs() const {
    if (kind_ == HostKind::kDisk) return *rooted_;
    return memory_;
  }

  // One period: a third of the processes run, 1 % are replaced, the meters advance.
  void Step(double seconds) {
    Bury();
    uptime_ += seconds;
    const std::size_t replace = std::max<std::size_t>(1, live_.size() / 100);
    for (std::size_t i = 0; i < replace; ++i) {
      const std::size_t k = rng_() % live_.size();
      // The agent keeps /proc/<pid>/stat open; on disk the inode of a removed file is freed at
      // its last close, which would charge ext4's inode deletion (which procfs does not have) to
      // the agent's tick. The harness holds the file open until the next Step instead.
      RemoveProcess(live_[k].pid);
      live_[k] = live_.back();
      live_.pop_back();
      Add();
    }
    std::uint64_t busy = 0;
    for (auto& p : live_) {
      if (rng_() % 3 != 0) continue;
      const std::uint64_t t = 1 + rng_() % 20;
      p.ticks += t;
      busy += t;
      WriteProcess(p);
    }
    const auto total = static_cast<std::uint64_t>(seconds * 100.0 * cpus_);
    user_ += busy;
    idle_ += total > busy ? total - busy : 0;
    for (int s = 0; s < 2; ++s) {
      pkg_uj_ +=
          static_cast<std::uint64_t>((50.0 + 0.02 * static_cast<double>(busy)) * seconds * 1e6);
      dram_uj_ += static_cast<std::uint64_t>(10.0 * seconds * 1e6);
      Write(root_ / fmt::format("sys/class/powercap/intel-rapl:{}/energy_uj", s),
            std::to_string(pkg_uj_) + "\n");
      Write(root_ / fmt::format("sys/class/powercap/intel-rapl:{}:0/energy_uj", s),
            std::to_string(dram_uj_) + "\n");
    }
    Node();
  }

 private:
  void Write(const fs::path& p, const std::string& text) {
    if (kind_ == HostKind::kDisk) {
      ::Write(p, text);
    } else {
      memory_.SetFile("/" + p.lexically_relative(root_).string(), text);
    }
  }

  void RemoveProcess(int pid) {
    if (kind_ == HostKind::kMemory) {
      for (const char* f : {"stat", "schedstat", "cgroup"}) {
        memory_.RemoveFile(fmt::format("/proc/{}/{}", pid, f));
      }
      return;
    }
    const int fd = ::open((root_ / fmt::format("proc/{}/stat", pid)).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) graveyard_.push_back(fd);
    fs::remove_all(root_ / fmt::format("proc/{}", pid));
  }

  void Bury() {
    for (int fd : graveyard_) ::close(fd);
    graveyard_.clear();
  }

  struct Proc {
    int pid;
    std::uint64_t start;
    std::uint64_t ticks = 0;
  };

  void Add() {
    Proc p{next_pid_++, static_cast<std::uint64_t>(uptime_ * 100.0)};
    const int container = p.pid % 200;
    Write(root_ / fmt::format("proc/{}/cgroup", p.pid),
          fmt::format("0::/kubepods.slice/kubepods-burstable.slice/"
                      "kubepods-burstable-pod{:08x}_1111_2222_3333_444455556666.slice/"
                      "cri-containerd-{:064x}.scope\n",
                      container / 2, container));
    WriteProcess(p);
    live_.push_back(p);
  }

  void WriteProcess(const Proc& p) {
    Write(root_ / fmt::format("proc/{}/stat", p.pid),
          fmt::format("{} (worker-{}) S 1 {} {} 0 -1 4194560 100 0 0 0 {} 0 0 0 20 0 1 0 {} "
                      "1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 "
                      "0 0 0 0 0 0 0\n",
                      p.pid, p.pid % 97, p.pid, p.pid, p.ticks, p.start));
    Write(root_ / fmt::format("proc/{}/schedstat", p.pid),
          fmt::format("{} 0 0\n", p.ticks * 10'000'000ull));
  }

  void Node() {
    std::string stat = fmt::format("cpu  {} 0 0 {} 0 0 0 0 0 0\n", user_, idle_);
    for (int c = 0; c < cpus_; ++c) {
      stat += fmt::format("cpu{} {} 0 0 {} 0 0 0 0 0 0\n", c, user_ / cpus_, idle_ / cpus_);
    }
    Write(root_ / "proc/stat", stat);
    Write(root_ / "proc/uptime", fmt::format("{:.2f} {:.2f}\n", uptime_, uptime_ * cpus_));
  }

  HostKind kind_;
  fs::path root_ = "/";  // kDisk: the temporary folder
  std::unique_ptr<wattson::RootedHostFs> rooted_;
  wattson::FakeHostFs memory_;
  int cpus_;
  std::mt19937 rng_;
  std::vector<Proc> live_;
  std::vector<int> graveyard_;  // removed stat files, held open until the next Step
  int next_pid_ = 1000;
  double uptime_ = 10000.0;
  std::uint64_t user_ = 100000, idle_ = 4000000, pkg_uj_ = 1000000, dram_uj_ = 1000000;
};

// Second argument: 0 the host on disk, 1 in memory.
void BM_AgentTick(benchmark::State& state) {
  const int processes = static_cast<int>(state.range(0));
  BenchHost host(processes, 32, state.range(1) == 0 ? HostKind::kDisk : HostKind::kMemory);
  const wattson::HostFs& hostfs = host.fs();
  wattson::FakeClock clock;
  wattson::exporter::ExportState export_state(clock);
  wattson::agent::AgentConfig config;
  config.meters = {"rapl"};
  auto built = wattson::agent::BuildAgent(config, hostfs, clock, nullptr, export_state, false);
  if (!built.ok()) {
    state.SkipWithError(built.status().ToString().c_str());
    return;
  }
  auto& agent = *built->agent;
  agent.Tick();                  // baseline
  for (int i = 0; i < 3; ++i) {  // warm the caches (identities, ledger series)
    host.Step(3.0);
    clock.Advance(Seconds(3.0));
    agent.Tick();
  }
  std::size_t attributed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    host.Step(3.0);
    clock.Advance(Seconds(3.0));
    state.ResumeTiming();
    auto report = agent.Tick();
    attributed += report.attributed ? 1 : 0;
    benchmark::DoNotOptimize(report);
  }
  if (attributed != static_cast<std::size_t>(state.iterations())) {
    state.SkipWithError("a tick was not attributed");
  }
  state.counters["processes"] = processes;
  state.counters["rss_mb"] = StatusMb("VmRSS:");
  state.counters["peak_rss_mb"] = StatusMb("VmHWM:");
}

// Only the /proc scan of the same host, as the agent does it (ProcScanner with the agent's
// options): the share of a tick spent reading the host.
void BM_ScanOnly(benchmark::State& state) {
  const int processes = static_cast<int>(state.range(0));
  BenchHost host(processes, 32);
  const wattson::HostFs& hostfs = host.fs();
  wattson::FakeClock clock;
  wattson::usage::ProcScanner scanner(hostfs, clock, wattson::agent::DefaultAgentScanOptions());
  auto first = scanner.Scan();
  benchmark::DoNotOptimize(first);
  for (auto _ : state) {
    state.PauseTiming();
    host.Step(3.0);
    state.ResumeTiming();
    auto scan = scanner.Scan();
    benchmark::DoNotOptimize(scan);
    state.PauseTiming();
    scan = wattson::Status::Internal("freed outside the timing");
    state.ResumeTiming();
  }
  state.counters["open_files"] = static_cast<double>(scanner.open_files());
}

// ScanProcesses as a caller without ProcScanner uses it: the previous scan kept for the cgroup
// paths. Scan() times one scan; keeping the result is outside the timing.
class StatelessScanner {
 public:
  StatelessScanner(const wattson::HostFs& fs, const wattson::Clock& clock)
      : fs_(fs), clock_(clock), previous_(wattson::usage::ScanProcesses(fs, clock, opts_)) {}
  void Scan(benchmark::State& state) {
    opts_.previous = previous_.ok() ? &*previous_ : nullptr;
    auto scan = wattson::usage::ScanProcesses(fs_, clock_, opts_);
    benchmark::DoNotOptimize(scan);
    state.PauseTiming();
    previous_ = std::move(scan);
    state.ResumeTiming();
  }

 private:
  const wattson::HostFs& fs_;
  const wattson::Clock& clock_;
  wattson::usage::ScanOptions opts_;
  wattson::Result<wattson::usage::ProcScan> previous_;
};

// The stateless ScanProcesses (open, read, close every file; schedstat read; the cgroup path kept
// from the previous scan for up to 10 scans), for comparison.
void BM_ScanStateless(benchmark::State& state) {
  const int processes = static_cast<int>(state.range(0));
  BenchHost host(processes, 32);
  const wattson::HostFs& hostfs = host.fs();
  wattson::FakeClock clock;
  StatelessScanner scanner(hostfs, clock);
  for (auto _ : state) {
    state.PauseTiming();
    host.Step(3.0);
    state.ResumeTiming();
    scanner.Scan(state);
  }
}

// Loads the eBPF on-CPU time source into *out, or marks the benchmark skipped (with the reason)
// and returns false.
bool LoadEbpf(benchmark::State& state, std::unique_ptr<wattson::usage::EbpfOnCpuTimes>* out) {
  auto loaded = wattson::usage::EbpfOnCpuTimes::Load();
  if (!loaded.ok()) {
    state.SkipWithError(loaded.status().ToString().c_str());
    return false;
  }
  *out = std::move(loaded).value();
  return true;
}

// Sleeping children of the benchmark process, `count` of them, killed when it goes. Wake(k)
// makes k of them (chosen at random) each spin for `spin_us` of CPU and waits until they have.
class Children {
 public:
  explicit Children(long count, int spin_us = 100) : rng_(7) {
    if (::pipe(done_) != 0) std::abort();
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &usr1, &old);  // children inherit it and sigwait for it
    for (long i = 0; i < count; ++i) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        for (;;) {
          int sig = 0;
          sigwait(&usr1, &sig);
          timespec t0 = {};
          timespec t = {};
          ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
          do {
            ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
          } while ((t.tv_sec - t0.tv_sec) * 1'000'000'000L + (t.tv_nsec - t0.tv_nsec) <
                   spin_us * 1000L);
          const char c = 'x';
          (void)!::write(done_[1], &c, 1);
        }
      }
      if (pid < 0) break;
      pids_.push_back(pid);
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  ~Children() {
    for (pid_t pid : pids_) ::kill(pid, SIGKILL);
    for (pid_t pid : pids_) ::waitpid(pid, nullptr, 0);
    ::close(done_[0]);
    ::close(done_[1]);
  }
  void Wake(std::size_t k) {
    k = std::min(k, pids_.size());
    // k different children (the first k after a partial shuffle), each signalled once.
    for (std::size_t i = 0; i < k; ++i) {
      std::swap(pids_[i], pids_[i + rng_() % (pids_.size() - i)]);
      ::kill(pids_[i], SIGUSR1);
    }
    char buf[256];
    std::size_t got = 0;
    while (got < k) {
      struct pollfd pfd {
        done_[0], POLLIN, 0
      };
      if (::poll(&pfd, 1, 5000) <= 0) std::abort();  // a child did not answer
      const ssize_t n = ::read(done_[0], buf, std::min(sizeof(buf), k - got));
      if (n <= 0) std::abort();
      got += static_cast<std::size_t>(n);
    }
  }

 private:
  std::vector<pid_t> pids_;
  int done_[2] = {-1, -1};
  std::mt19937 rng_;
};

// The same scan of this machine's real /proc, with `processes` sleeping children added: what
// procfs itself costs (its stat files are generated on each read; no inodes, no fstat check).
// Second argument: 0 ProcScanner; 1 the stateless ScanProcesses (open, read, close; schedstat);
// 2 ProcScanner with the eBPF on-CPU time source (skipped where it cannot load).
void BM_ScanRealProc(benchmark::State& state) {
  const long mode = state.range(1);
  std::unique_ptr<wattson::usage::EbpfOnCpuTimes> ebpf;
  if (mode == 2 && !LoadEbpf(state, &ebpf)) return;
  Children children(state.range(0));
  wattson::RootedHostFs hostfs("/");
  wattson::RealClock clock;
  wattson::usage::ProcScanner scanner(hostfs, clock, wattson::agent::DefaultAgentScanOptions(),
                                      ebpf.get());
  auto first = scanner.Scan();
  std::size_t seen = first.ok() ? first->processes.size() : 0;
  StatelessScanner stateless_scanner(hostfs, clock);
  double on_cpu_samples = 0;
  for (auto _ : state) {
    if (mode == 1) {
      stateless_scanner.Scan(state);
    } else {
      auto scan = scanner.Scan();
      if (scan.ok()) on_cpu_samples = scan->on_cpu_samples;
      benchmark::DoNotOptimize(scan);
    }
  }
  state.counters["processes"] = static_cast<double>(seen);
  state.counters["open_files"] = static_cast<double>(scanner.open_files());
  state.counters["from_ebpf"] = on_cpu_samples;
}

// The whole agent on this machine (host root /, no meter: the embedded default model estimates
// every zone) with `processes` children added, a third of which run 100 us before each tick.
// Second argument: 0 cpu_time_source procfs, 1 ebpf (skipped where it cannot load).
void BM_AgentTickRealHost(benchmark::State& state) {
  Children children(state.range(0));
  wattson::RootedHostFs hostfs("/");
  wattson::RealClock clock;
  wattson::exporter::ExportState export_state(clock);
  wattson::agent::AgentConfig config;
  config.meters = {};
  config.hw_counters = false;
  config.cpu_time_source = state.range(1) == 0 ? "procfs" : "ebpf";
  auto built =
      wattson::agent::BuildAgent(config, hostfs, clock, nullptr, export_state, /*real_host=*/true);
  if (!built.ok()) {
    state.SkipWithError(built.status().ToString().c_str());
    return;
  }
  auto& agent = *built->agent;
  agent.Tick();  // baseline
  const std::size_t third = static_cast<std::size_t>(state.range(0) / 3);
  for (int i = 0; i < 3; ++i) {
    children.Wake(third);
    agent.Tick();
  }
  std::size_t processes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    children.Wake(third);
    state.ResumeTiming();
    auto report = agent.Tick();
    processes = report.processes;
    benchmark::DoNotOptimize(report);
  }
  state.counters["processes"] = static_cast<double>(processes);
  state.counters["rss_mb"] = StatusMb("VmRSS:");
  state.counters["peak_rss_mb"] = StatusMb("VmHWM:");
}

// What the eBPF program costs every context switch of the machine: a round trip between this
// process and a child over two pipes (two switches each way on one CPU, or wake-ups across two),
// without (0) and with (1) the program loaded. Real time per round trip.
void BM_PipeRoundTrip(benchmark::State& state) {
  std::unique_ptr<wattson::usage::EbpfOnCpuTimes> ebpf;
  if (state.range(0) == 1 && !LoadEbpf(state, &ebpf)) return;
  int to_child[2], to_parent[2];
  if (::pipe(to_child) != 0 || ::pipe(to_parent) != 0) std::abort();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(to_child[1]);  // so that the parent's close ends the loop
    ::close(to_parent[0]);
    char c;
    while (::read(to_child[0], &c, 1) == 1) {
      if (::write(to_parent[1], &c, 1) != 1) break;
    }
    ::_exit(0);
  }
  ::close(to_child[0]);
  ::close(to_parent[1]);
  char c = 'x';
  for (auto _ : state) {
    if (::write(to_child[1], &c, 1) != 1 || ::read(to_parent[0], &c, 1) != 1) std::abort();
  }
  ::close(to_child[1]);
  ::waitpid(pid, nullptr, 0);
  ::close(to_parent[0]);
}

BENCHMARK(BM_PipeRoundTrip)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ScanRealProc)
    ->Args({100, 0})
    ->Args({1000, 0})
    ->Args({1000, 1})
    ->Args({1000, 2})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AgentTickRealHost)->ArgsProduct({{100, 1000}, {0, 1}})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScanOnly)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScanStateless)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AgentTick)->ArgsProduct({{100, 1000, 10000}, {0, 1}})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
