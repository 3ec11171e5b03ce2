// Test support for the end-to-end tests of `wattson agent`: free ports, child processes started
// with posix_spawn and always killed (RAII), HTTP GET, a driver that makes a copied fake host
// tree look busy, and launchers for the agent binary and a real Prometheus server.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/json_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "httplib.h"

extern char** environ;

namespace wattson::integration {

namespace fs = std::filesystem;
using SteadyTime = std::chrono::steady_clock::time_point;

inline double SecondsSince(SteadyTime start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline void SleepSeconds(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

inline std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes text to a sibling temporary file and renames it over p, so a concurrent reader sees
// either the old or the new contents, never half a file.
inline Status WriteTextAtomically(const fs::path& p, const std::string& text) {
  const fs::path tmp = p.string() + ".wattson-tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) return Status::IoError(fmt::format("cannot write {}", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) return Status::IoError(fmt::format("rename {}: {}", p.string(), ec.message()));
  return Status::Ok();
}

// The last max_bytes of a log file, for failure messages.
inline std::string TailOf(const fs::path& p, std::size_t max_bytes = 4000) {
  std::string s = ReadText(p);
  if (s.size() > max_bytes) s = "..." + s.substr(s.size() - max_bytes);
  return s;
}

// A fresh folder under the system temp dir, removed with everything in it on destruction
// (unless WATTSON_KEEP_TEST_DIRS=1, to look at logs after a failure).
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "wattson_integ") {
    std::string tmpl = (fs::temp_directory_path() / (std::string(prefix) + ".XXXXXX")).string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    const char* keep = std::getenv("WATTSON_KEEP_TEST_DIRS");
    if (path_.empty() || (keep != nullptr && std::string_view(keep) == "1")) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  bool ok() const { return !path_.empty(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// An executable named `name` on PATH (/usr/bin:/bin if PATH is unset), or nullopt.
inline std::optional<fs::path> FindExecutable(const std::string& name) {
  std::string dirs = "/usr/bin:/bin";
  if (const char* path = std::getenv("PATH"); path != nullptr) dirs = path;
  std::stringstream ss(dirs);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / name;
    if (access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) return candidate;
  }
  return std::nullopt;
}

// WATTSON_SKIP_BROWSER_TESTS=1: tests that need prometheus, promtool or chromium skip instead
// of failing when those are not installed.
inline bool SkipBrowserTests() {
  const char* v = std::getenv("WATTSON_SKIP_BROWSER_TESTS");
  return v != nullptr && std::string_view(v) == "1";
}

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, released).
inline Result<int> PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::IoError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  // NOLINTNEXTLINE: the sockets API takes sockaddr*.
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if (bind(fd, sa, sizeof(addr)) != 0 || getsockname(fd, sa, &len) != 0) {
    close(fd);
    return Status::IoError("cannot bind 127.0.0.1:0");
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// One child process (and its process group) started with posix_spawn; stdout and stderr go to
// files, stdin from a file or /dev/null. The destructor stops it: SIGTERM to the group, then
// SIGKILL after a grace period, so a failing test never leaves a server behind. Where coreutils'
// `timeout` exists the child also runs under it with max_lifetime_s, which bounds its life even
// if this test process is killed outright.
class ChildProcess {
 public:
  struct Options {
    std::vector<std::string> argv;  // argv[0] is the executable's path
    fs::path stdout_path;
    fs::path stderr_path;
    fs::path stdin_path;                 // empty: /dev/null
    std::vector<std::string> extra_env;  // "KEY=VALUE", added to (and overriding) this env
    double max_lifetime_s = 300.0;
  };

  ChildProcess() = default;
  ~ChildProcess() { Stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  Status Start(const Options& options) {
    if (pid_ > 0) return Status::FailedPrecondition("child already started");
    if (options.argv.empty()) return Status::InvalidArgument("empty argv");
    std::vector<std::string> args;
    if (auto timeout = FindExecutable("timeout"); timeout.has_value()) {
      // --foreground: timeout stays in our process group and passes a signal on to the child
      // alone, exactly once (without it the child gets SIGTERM twice: direct and via the group).
      args = {timeout->string(), "--foreground", "--kill-after=5",
              fmt::format("{}s", static_cast<long long>(std::ceil(options.max_lifetime_s)))};
    }
    args.insert(args.end(), options.argv.begin(), options.argv.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::map<std::string, std::string> env_map;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view kv(*e);
      const auto eq = kv.find('=');
      if (eq != std::string_view::npos) env_map[std::string(kv.substr(0, eq))] = kv.substr(eq + 1);
    }
    for (const std::string& kv : options.extra_env) {
      const auto eq = kv.find('=');
      if (eq != std::string::npos) env_map[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    std::vector<std::string> env_storage;
    for (const auto& [k, v] : env_map) env_storage.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (std::string& kv : env_storage) envp.push_back(kv.data());
    envp.push_back(nullptr);

    const std::string in = options.stdin_path.empty() ? "/dev/null" : options.stdin_path.string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, options.stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, options.stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);  // its own group: Stop() reaches its children too
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      return Status::IoError(fmt::format("posix_spawn {}: {}", args[0], std::strerror(rc)));
    }
    pid_ = pid;
    exit_status_.reset();
    return Status::Ok();
  }

  pid_t pid() const { return pid_; }

  // True while the child runs; reaps it (and records its exit status) once it has ended.
  bool Running() {
    if (pid_ <= 0) return false;
    if (exit_status_.has_value()) return false;
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == 0) return true;
    exit_status_ = r == pid_ ? Decode(status) : -1;
    return false;
  }

  // The exit code (128 + signal when killed by a signal) once the child has ended.
  std::optional<int> exit_status() const { return exit_status_; }

  // Waits up to timeout_s for the child to end; returns its exit status.
  Result<int> Wait(double timeout_s) {
    const SteadyTime start = std::chrono::steady_clock::now();
    while (Running()) {
      if (SecondsSince(start) > timeout_s) {
        return Status::Unavailable(
            fmt::format("process {} still running after {:.1f} s", pid_, timeout_s));
      }
      SleepSeconds(0.01);
    }
    if (!exit_status_.has_value()) return Status::FailedPrecondition("no child started");
    return *exit_status_;
  }

  // One SIGTERM to the child (through coreutils' timeout, which passes it on), SIGKILL to the
  // whole group after grace_s; idempotent. Returns the exit status, if the child had one.
  std::optional<int> Stop(double grace_s = 3.0) {
    if (pid_ <= 0) return exit_status_;
    if (Running()) {
      kill(pid_, SIGTERM);
      if (!Wait(grace_s).ok()) {
        kill(-pid_, SIGKILL);
        (void)Wait(10.0);
      }
    }
    // Whatever the leader left behind in its group (a browser's helpers) goes too.
    kill(-pid_, SIGKILL);
    pid_ = -1;
    return exit_status_;
  }

 private:
  static int Decode(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
  }

  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

struct HttpReply {
  int status = 0;  // 0 when no reply came
  std::string body;
  std::string error;  // why no reply came
};

// GET http://127.0.0.1:<port><path>?<params> with short timeouts.
inline HttpReply HttpGet(int port, const std::string& path, const httplib::Params& params = {},
                         int timeout_s = 5) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(timeout_s, 0);
  client.set_read_timeout(timeout_s, 0);
  HttpReply reply;
  httplib::Result r = client.Get(path, params, httplib::Headers{});
  if (!r) {
    reply.error = httplib::to_string(r.error());
    return reply;
  }
  reply.status = r->status;
  reply.body = r->body;
  return reply;
}

// How busy one fake process is: CPU-seconds per second (1.0 = one core).
struct ProcessLoad {
  int pid = 0;
  double cores = 0.0;
};

// Makes a copied fake host tree look alive: every interval it rewrites, in the copy,
// /proc/<pid>/stat (utime, stime: 80 % user, 20 % system) and /proc/<pid>/schedstat so that each
// loaded process has used `cores` CPU-seconds per second since Start(), and /proc/stat and
// /proc/uptime so that node busy time grows by Σ cores + extra_system_cores and the rest of the
// node's CPUs are idle. USER_HZ is 100. Files are replaced atomically (write + rename).
class FakeHostDriver {
 public:
  // Copies source (a host tree holding /proc and /sys) to dest, which must not exist yet.
  static Result<std::unique_ptr<FakeHostDriver>> Create(const fs::path& source,
                                                        const fs::path& dest,
                                                        std::vector<ProcessLoad> load,
                                                        double extra_system_cores = 0.05,
                                                        double interval_s = 0.2) {
    std::error_code ec;
    fs::copy(source, dest, fs::copy_options::recursive, ec);
    if (ec) {
      return Status::IoError(
          fmt::format("copy {} -> {}: {}", source.string(), dest.string(), ec.message()));
    }
    std::unique_ptr<FakeHostDriver> d(new FakeHostDriver(dest, extra_system_cores, interval_s));
    for (const ProcessLoad& l : load) {
      WATTSON_RETURN_IF_ERROR(d->AddProcess(l));
    }
    WATTSON_RETURN_IF_ERROR(d->ReadNodeFiles());
    return d;
  }

  ~FakeHostDriver() { Stop(); }
  FakeHostDriver(const FakeHostDriver&) = delete;
  FakeHostDriver& operator=(const FakeHostDriver&) = delete;

  const fs::path& root() const { return root_; }

  // Writes the files once (elapsed 0), then keeps rewriting them from a thread until Stop().
  Status Start() {
    start_ = std::chrono::steady_clock::now();
    WATTSON_RETURN_IF_ERROR(Step(0.0));
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        SleepSeconds(interval_s_);
        const Status s = Step(SecondsSince(start_));
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu_);
          if (error_.ok()) error_ = s;
        }
      }
    });
    return Status::Ok();
  }

  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  int steps() const { return steps_.load(); }
  Status error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

  // Rewrites every file for `elapsed` seconds since start (public for tests of the driver).
  Status Step(double elapsed) {
    double busy_cores = extra_system_cores_;
    for (const Proc& p : procs_) {
      busy_cores += p.cores;
      const double cpu_s = p.cores * elapsed;
      const auto utime = p.utime + static_cast<std::uint64_t>(std::llround(cpu_s * 80.0));
      const auto stime = p.stime + static_cast<std::uint64_t>(std::llround(cpu_s * 20.0));
      std::string stat = p.stat_head;
      for (std::size_t i = 0; i < p.stat_fields.size(); ++i) {
        stat += ' ';
        if (i == kUtimeField) {
          stat += std::to_string(utime);
        } else if (i == kStimeField) {
          stat += std::to_string(stime);
        } else {
          stat += p.stat_fields[i];
        }
      }
      stat += '\n';
      const fs::path dir = root_ / "proc" / std::to_string(p.pid);
      WATTSON_RETURN_IF_ERROR(WriteTextAtomically(dir / "stat", stat));
      const auto ns = p.schedstat_ns + static_cast<std::uint64_t>(std::llround(cpu_s * 1e9));
      WATTSON_RETURN_IF_ERROR(
          WriteTextAtomically(dir / "schedstat", fmt::format("{} {}\n", ns, p.schedstat_rest)));
    }
    const double ncpu = static_cast<double>(cpu_lines_.size());
    const double idle_cores = std::max(0.0, ncpu - busy_cores);
    std::string stat;
    auto cpu_line = [&](const std::string& name, const std::vector<std::uint64_t>& base,
                        double share) {
      std::vector<std::uint64_t> v = base;
      v[0] += static_cast<std::uint64_t>(std::llround(busy_cores * 0.8 * elapsed * 100 * share));
      v[2] += static_cast<std::uint64_t>(std::llround(busy_cores * 0.2 * elapsed * 100 * share));
      v[3] += static_cast<std::uint64_t>(std::llround(idle_cores * elapsed * 100 * share));
      std::string line = name + (name == "cpu" ? " " : "");
      for (std::uint64_t x : v) line += " " + std::to_string(x);
      return line + "\n";
    };
    stat += cpu_line("cpu", cpu_total_, 1.0);
    for (const auto& [name, base] : cpu_lines_) stat += cpu_line(name, base, 1.0 / ncpu);
    stat += stat_rest_;
    WATTSON_RETURN_IF_ERROR(WriteTextAtomically(root_ / "proc" / "stat", stat));
    WATTSON_RETURN_IF_ERROR(WriteTextAtomically(
        root_ / "proc" / "uptime",
        fmt::format("{:.2f} {:.2f}\n", uptime_ + elapsed, uptime_idle_ + idle_cores * elapsed)));
    steps_.fetch_add(1);
    return Status::Ok();
  }

 private:
  // Indexes into the fields after "pid (comm)": state=0 ... utime=11, stime=12.
  static constexpr std::size_t kUtimeField = 11;
  static constexpr std::size_t kStimeField = 12;

  struct Proc {
    int pid = 0;
    double cores = 0.0;
    std::string stat_head;  // "pid (comm)"
    std::vector<std::string> stat_fields;
    std::uint64_t utime = 0, stime = 0, schedstat_ns = 0;
    std::string schedstat_rest;
  };

  FakeHostDriver(fs::path root, double extra_system_cores, double interval_s)
      : root_(std::move(root)), extra_system_cores_(extra_system_cores), interval_s_(interval_s) {}

  static Result<std::uint64_t> ToU64(std::string_view s, std::string_view what) {
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) {
      return Status::InvalidArgument(fmt::format("{}: '{}' is not a number", what, s));
    }
    return v;
  }

  static std::vector<std::string> Split(std::string_view s) {
    std::vector<std::string> out;
    std::stringstream ss{std::string(s)};
    std::string w;
    while (ss >> w) out.push_back(w);
    return out;
  }

  Status AddProcess(const ProcessLoad& load) {
    const fs::path dir = root_ / "proc" / std::to_string(load.pid);
    const std::string stat = ReadText(dir / "stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) {
      return Status::InvalidArgument(fmt::format("{}/stat: no ')'", dir.string()));
    }
    Proc p;
    p.pid = load.pid;
    p.cores = load.cores;
    p.stat_head = stat.substr(0, close + 1);
    p.stat_fields = Split(std::string_view(stat).substr(close + 1));
    if (p.stat_fields.size() <= kStimeField) {
      return Status::InvalidArgument(fmt::format("{}/stat: too few fields", dir.string()));
    }
    WATTSON_ASSIGN_OR_RETURN(p.utime, ToU64(p.stat_fields[kUtimeField], "utime"));
    WATTSON_ASSIGN_OR_RETURN(p.stime, ToU64(p.stat_fields[kStimeField], "stime"));
    const std::vector<std::string> ss = Split(ReadText(dir / "schedstat"));
    if (ss.size() != 3) {
      return Status::InvalidArgument(fmt::format("{}/schedstat: expected 3 fields", dir.string()));
    }
    WATTSON_ASSIGN_OR_RETURN(p.schedstat_ns, ToU64(ss[0], "schedstat"));
    p.schedstat_rest = ss[1] + " " + ss[2];
    procs_.push_back(std::move(p));
    return Status::Ok();
  }

  Status ReadNodeFiles() {
    std::stringstream in(ReadText(root_ / "proc" / "stat"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("cpu", 0) != 0) {
        stat_rest_ += line + "\n";
        continue;
      }
      std::vector<std::string> f = Split(line);
      if (f.size() < 5) return Status::InvalidArgument("/proc/stat: short cpu line");
      std::vector<std::uint64_t> v;
      for (std::size_t i = 1; i < f.size(); ++i) {
        WATTSON_ASSIGN_OR_RETURN(std::uint64_t x, ToU64(f[i], "/proc/stat"));
        v.push_back(x);
      }
      if (f[0] == "cpu") {
        cpu_total_ = std::move(v);
      } else {
        cpu_lines_.emplace_back(f[0], std::move(v));
      }
    }
    if (cpu_total_.empty() || cpu_lines_.empty()) {
      return Status::InvalidArgument("/proc/stat: needs a 'cpu' line and 'cpuN' lines");
    }
    const std::vector<std::string> up = Split(ReadText(root_ / "proc" / "uptime"));
    if (up.size() != 2) return Status::InvalidArgument("/proc/uptime: expected 2 fields");
    uptime_ = std::strtod(up[0].c_str(), nullptr);
    uptime_idle_ = std::strtod(up[1].c_str(), nullptr);
    return Status::Ok();
  }

  fs::path root_;
  double extra_system_cores_;
  double interval_s_;
  std::vector<Proc> procs_;
  std::vector<std::uint64_t> cpu_total_;
  std::vector<std::pair<std::string, std::vector<std::uint64_t>>> cpu_lines_;
  std::string stat_rest_;
  double uptime_ = 0.0, uptime_idle_ = 0.0;
  SteadyTime start_{};
  std::atomic<bool> stop_{false};
  std::atomic<int> steps_{0};
  mutable std::mutex mu_;
  Status error_;
  std::thread thread_;
};

// The wattson binary under test: WATTSON_AGENT_BIN if set (e.g. an installed binary), else the
// one CMake built (WATTSON_BIN).
inline std::string WattsonBinary() {
  if (const char* b = std::getenv("WATTSON_AGENT_BIN"); b != nullptr && *b != '\0') return b;
#ifdef WATTSON_BIN
  return WATTSON_BIN;
#else
  return "wattson";
#endif
}

inline fs::path TestdataDir() {
  if (const char* d = std::getenv("WATTSON_TESTDATA_DIR"); d != nullptr && *d != '\0') return d;
#ifdef WATTSON_TESTDATA_DIR
  return WATTSON_TESTDATA_DIR;
#else
  return "testdata";
#endif
}

// The scenario of testdata/hosts/agent-integration (see its README.md): how busy each process
// is, in cores. Pods: shop/web (containerd: nginx 1201+1202, envoy 1215), shop/cache (CRI-O:
// redis 1301, its conmon 1300), jobs/batch (Docker: worker 1401+1402); system: 1, 2 (kernel
// thread), 612 containerd, 700 kubelet.
inline std::vector<ProcessLoad> AgentIntegrationLoad() {
  return {{1, 0.01},   {2, 0.0},     {612, 0.03},  {700, 0.05}, {1201, 0.3}, {1202, 0.5},
          {1215, 0.1}, {1300, 0.01}, {1301, 0.25}, {1401, 0.6}, {1402, 0.15}};
}

// `wattson agent` over a fake host: Start() spawns the binary with --host-root, --pod-list-file,
// --listen 127.0.0.1:0 --port-file --period --meters none, waits for the port file and a
// healthy /healthz, and fails with the agent's stderr if it exits or never gets there.
class AgentProcess {
 public:
  struct Options {
    fs::path work_dir;  // logs and the port file go here
    fs::path host_root;
    fs::path pod_list_file;
    double period_s = 0.5;
    std::string node_name = "integration-node";
    std::vector<std::string> extra_args;
    double startup_timeout_s = 30.0;
  };

  Status Start(const Options& o) {
    options_ = o;
    const fs::path port_file = o.work_dir / "agent.port";
    const std::string bin = WattsonBinary();
    if (access(bin.c_str(), X_OK) != 0) {
      return Status::NotFound(fmt::format("wattson binary '{}' is not an executable", bin));
    }
    ChildProcess::Options po;
    po.argv = {bin,
               "agent",
               "--host-root",
               o.host_root.string(),
               "--pod-list-file",
               o.pod_list_file.string(),
               "--listen",
               "127.0.0.1:0",
               "--port-file",
               port_file.string(),
               "--period",
               fmt::format("{}", o.period_s),
               "--meters",
               "none",
               "--node-name",
               o.node_name};
    po.argv.insert(po.argv.end(), o.extra_args.begin(), o.extra_args.end());
    po.stdout_path = o.work_dir / "agent.stdout";
    po.stderr_path = o.work_dir / "agent.stderr";
    po.max_lifetime_s = 240.0;
    WATTSON_RETURN_IF_ERROR(proc_.Start(po));

    const SteadyTime start = std::chrono::steady_clock::now();
    while (port_ == 0) {
      if (!proc_.Running()) return Exited("before writing its port file");
      const std::string text = ReadText(port_file);
      int port = 0;
      const char* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, port);
      if (ec == std::errc() && port > 0 && port < 65536 &&
          (ptr == end || *ptr == '\n' || *ptr == ' ')) {
        port_ = port;
        break;
      }
      if (SecondsSince(start) > o.startup_timeout_s) {
        return Status::Unavailable(
            fmt::format("`wattson agent` wrote no port to {} within {:.0f} s; its output:\n{}",
                        port_file.string(), o.startup_timeout_s, Logs()));
      }
      SleepSeconds(0.05);
    }
    std::string last;
    while (true) {
      if (!proc_.Running()) return Exited("before /healthz said ok");
      const HttpReply r = HttpGet(port_, "/healthz", {}, 2);
      if (r.status == 200) return Status::Ok();
      last = r.status == 0 ? r.error : fmt::format("HTTP {}: {}", r.status, r.body);
      if (SecondsSince(start) > o.startup_timeout_s) {
        return Status::Unavailable(
            fmt::format("`wattson agent` on port {} not healthy within {:.0f} s (last: {}); "
                        "its output:\n{}",
                        port_, o.startup_timeout_s, last, Logs()));
      }
      SleepSeconds(0.1);
    }
  }

  int port() const { return port_; }
  bool Running() { return proc_.Running(); }
  std::optional<int> Stop() { return proc_.Stop(); }

  std::string Logs() const {
    return fmt::format("--- stderr ---\n{}\n--- stdout ---\n{}",
                       TailOf(options_.work_dir / "agent.stderr"),
                       TailOf(options_.work_dir / "agent.stdout"));
  }

 private:
  Status Exited(std::string_view when) {
    const std::string err =
        ReadText(options_.work_dir / "agent.stderr") + ReadText(options_.work_dir / "agent.stdout");
    std::string hint;
    // CLI11's words for an unknown subcommand: the binary predates issue 5's agent command.
    if (err.find("agent") != std::string::npos &&
        (err.find("xtras") != std::string::npos || err.find("not expected") != std::string::npos ||
         err.find("nknown") != std::string::npos || err.find("not found") != std::string::npos)) {
      hint = " — this binary has no `agent` command yet (issue 5)";
    }
    return Status::Internal(fmt::format("`{} agent` exited with status {} {}{}; its output:\n{}",
                                        WattsonBinary(), proc_.exit_status().value_or(-1), when,
                                        hint, Logs()));
  }

  Options options_;
  ChildProcess proc_;
  int port_ = 0;
};

// A real Prometheus server (Debian's `prometheus`) on 127.0.0.1:<free port> with its own config
// and TSDB folder, scraping one target every scrape_interval_s. Killed when destroyed.
class PrometheusServer {
 public:
  Status Start(const fs::path& binary, const fs::path& dir, int target_port,
               double scrape_interval_s = 1.0) {
    dir_ = dir;
    WATTSON_ASSIGN_OR_RETURN(port_, PickFreePort());
    const std::string interval = fmt::format("{}ms", std::llround(scrape_interval_s * 1000));
    const std::string config = fmt::format(
        "global:\n"
        "  scrape_interval: {0}\n"
        "  scrape_timeout: {0}\n"
        "  evaluation_interval: {0}\n"
        "scrape_configs:\n"
        "  - job_name: wattson\n"
        "    static_configs:\n"
        "      - targets: ['127.0.0.1:{1}']\n",
        interval, target_port);
    std::ofstream(dir / "prometheus.yml") << config;
    fs::create_directories(dir / "tsdb");
    ChildProcess::Options po;
    po.argv = {binary.string(), "--config.file=" + (dir / "prometheus.yml").string(),
               "--storage.tsdb.path=" + (dir / "tsdb").string(),
               fmt::format("--web.listen-address=127.0.0.1:{}", port_), "--log.level=warn"};
    po.stdout_path = dir / "prometheus.stdout";
    po.stderr_path = dir / "prometheus.stderr";
    po.max_lifetime_s = 180.0;
    WATTSON_RETURN_IF_ERROR(proc_.Start(po));
    const SteadyTime start = std::chrono::steady_clock::now();
    while (true) {
      if (!proc_.Running()) {
        return Status::Internal(fmt::format("prometheus exited with status {}:\n{}",
                                            proc_.exit_status().value_or(-1), Logs()));
      }
      if (HttpGet(port_, "/-/ready", {}, 2).status == 200) return Status::Ok();
      if (SecondsSince(start) > 20.0) {
        return Status::Unavailable("prometheus not ready within 20 s:\n" + Logs());
      }
      SleepSeconds(0.1);
    }
  }

  int port() const { return port_; }
  void Stop() { proc_.Stop(); }

  std::string Logs() const {
    return fmt::format("--- prometheus stderr ---\n{}", TailOf(dir_ / "prometheus.stderr"));
  }

  // GET /api/v1/<endpoint>; returns the reply's "data" once its status is "success".
  Result<Json> Api(const std::string& endpoint, const httplib::Params& params) const {
    const HttpReply r = HttpGet(port_, "/api/v1/" + endpoint, params, 10);
    if (r.status == 0) return Status::IoError("prometheus " + endpoint + ": " + r.error);
    WATTSON_ASSIGN_OR_RETURN(Json j, ParseJson(r.body, "prometheus " + endpoint + " reply"));
    if (r.status != 200 || !j.is_object() || j.value("status", "") != "success") {
      return Status::InvalidArgument(
          fmt::format("prometheus {} answered HTTP {}: {}", endpoint, r.status, r.body));
    }
    if (!j.contains("data")) return Status::InvalidArgument("prometheus reply without data");
    return j["data"];
  }

  // An instant query (at unix time `at`, default now); returns data.result, checked to be a
  // vector or scalar result.
  Result<Json> Query(const std::string& expr, std::optional<double> at = std::nullopt) const {
    httplib::Params params{{"query", expr}};
    if (at.has_value()) params.emplace("time", fmt::format("{:.3f}", *at));
    WATTSON_ASSIGN_OR_RETURN(Json data, Api("query", params));
    const std::string type = data.value("resultType", "");
    if (type != "vector" && type != "scalar") {
      return Status::InvalidArgument(fmt::format("query {}: result type '{}'", expr, type));
    }
    return data["result"];
  }

  // Waits until the target has been scraped successfully at least n times.
  Status WaitForScrapes(int n, double timeout_s) const {
    const SteadyTime start = std::chrono::steady_clock::now();
    std::string last = "no answer";
    while (SecondsSince(start) < timeout_s) {
      auto r = Query("sum_over_time(up{job=\"wattson\"}[5m])");
      if (r.ok() && r->is_array() && !r->empty()) {
        const Json& v = (*r)[0]["value"];
        const double ups = std::strtod(v[1].get<std::string>().c_str(), nullptr);
        if (ups >= n) return Status::Ok();
        last = fmt::format("{} successful scrapes", ups);
      } else if (!r.ok()) {
        last = r.status().ToString();
      }
      SleepSeconds(0.25);
    }
    auto targets = Api("targets", {});
    return Status::Unavailable(
        fmt::format("fewer than {} successful scrapes within {:.0f} s ({}); targets: {}\n{}", n,
                    timeout_s, last, targets.ok() ? targets->dump() : "?", Logs()));
  }

 private:
  fs::path dir_;
  int port_ = 0;
  ChildProcess proc_;
};

// Unix time now, in seconds.
inline double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace wattson::integration
