#include "common/host_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "fmt/format.h"

namespace wattson {

Result<std::string> NormaliseHostPath(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return Status::InvalidArgument(fmt::format("host path '{}' is not absolute", path));
  }
  std::string out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part == "." || part == "..") {
      return Status::InvalidArgument(
          fmt::format("host path '{}' has a '{}' component", path, part));
    }
    if (!part.empty()) {
      out += '/';
      out += part;
    }
    i = j;
  }
  if (out.empty()) out = "/";
  return out;
}

namespace {

Status ErrnoStatus(int err, const std::string& what) {
  std::string msg = fmt::format("{}: {}", what, std::strerror(err));
  if (err == ENOENT || err == ENOTDIR || err == ESRCH) return Status::NotFound(std::move(msg));
  return Status::IoError(std::move(msg));
}

// Rereads by path through ReadFile (HostFs's default handle).
class PathHandle final : public HostFileHandle {
 public:
  PathHandle(const HostFs& fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  Status Reread(std::string* out, std::size_t max_bytes) override {
    WATTSON_ASSIGN_OR_RETURN(*out, fs_.ReadFile(path_, max_bytes));
    return Status::Ok();
  }

 private:
  const HostFs& fs_;
  std::string path_;
};

constexpr long kProcSuperMagic = 0x9fa0;  // PROC_SUPER_MAGIC from linux/magic.h

// An open fd, reread with pread from offset 0. Outside procfs (test trees on disk), a file that
// was removed or replaced by rename since it was opened reads as gone, as a /proc file of an
// exited process does (ESRCH); procfs needs no such check.
class FdHandle final : public HostFileHandle {
 public:
  FdHandle(int fd, std::string real) : fd_(fd), real_(std::move(real)) {
    struct statfs sfs {};
    check_unlinked_ = ::fstatfs(fd_, &sfs) != 0 || static_cast<long>(sfs.f_type) != kProcSuperMagic;
  }
  ~FdHandle() override { ::close(fd_); }
  FdHandle(const FdHandle&) = delete;
  FdHandle& operator=(const FdHandle&) = delete;

  Status Reread(std::string* out, std::size_t max_bytes) override {
    // One pread into the string's own storage; a short read is the end of the file (procfs and
    // regular files return everything there is up to the size asked for), so a small file costs
    // one system call. A full buffer grows and reads on.
    constexpr std::size_t kFirstRead = 4096;
    out->resize(std::max(out->capacity(), kFirstRead));
    std::size_t have = 0;
    for (;;) {
      const std::size_t want = out->size() - have;
      const ssize_t n = ::pread(fd_, out->data() + have, want, static_cast<off_t>(have));
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        out->clear();
        return ErrnoStatus(err, "read " + real_);
      }
      have += static_cast<std::size_t>(n);
      if (have > max_bytes) {
        out->clear();
        return Status::OutOfRange(fmt::format("{} is larger than {} bytes", real_, max_bytes));
      }
      if (static_cast<std::size_t>(n) < want) break;
      out->resize(out->size() * 2);
    }
    out->resize(have);
    if (check_unlinked_) {
      struct stat st {};
      if (::fstat(fd_, &st) != 0) {
        const int err = errno;
        out->clear();
        return ErrnoStatus(err, "fstat " + real_);
      }
      if (st.st_nlink == 0) {
        out->clear();
        return Status::NotFound(fmt::format("{}: removed or replaced since it was opened", real_));
      }
    }
    return Status::Ok();
  }

 private:
  int fd_;
  std::string real_;
  bool check_unlinked_ = true;
};

}  // namespace

Result<std::unique_ptr<HostFileHandle>> HostFs::DoOpenForReread(std::string_view path) const {
  WATTSON_ASSIGN_OR_RETURN(std::string norm, NormaliseHostPath(path));
  if (!Exists(norm)) return Status::NotFound(fmt::format("{}: no such file", Describe(norm)));
  return std::unique_ptr<HostFileHandle>(std::make_unique<PathHandle>(*this, std::move(norm)));
}

RootedHostFs::RootedHostFs(std::string root) : root_(std::move(root)) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

int RootedHostFs::OpenNoAtime(const std::string& real) const {
  // Reading the host must not dirty its inodes (on disk, an atime update is a journal write).
  // O_NOATIME needs the file's owner or CAP_FOWNER: after one EPERM, plain opens only.
  if (noatime_.load(std::memory_order_relaxed)) {
    const int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME);
    if (fd >= 0 || errno != EPERM) return fd;
    noatime_.store(false, std::memory_order_relaxed);
  }
  return ::open(real.c_str(), O_RDONLY | O_CLOEXEC);
}

std::string RootedHostFs::Describe(std::string_view path) const {
  return root_ + std::string(path);
}

Result<std::string> RootedHostFs::DoReadFile(std::string_view path, std::size_t max_bytes) const {
  WATTSON_ASSIGN_OR_RETURN(std::string norm, NormaliseHostPath(path));
  const std::string real = root_ + norm;
  int fd = OpenNoAtime(real);
  if (fd < 0) return ErrnoStatus(errno, "open " + real);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "read " + real);
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      return Status::OutOfRange(fmt::format("{} is larger than {} bytes", real, max_bytes));
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<std::unique_ptr<HostFileHandle>> RootedHostFs::DoOpenForReread(std::string_view path) const {
  WATTSON_ASSIGN_OR_RETURN(std::string norm, NormaliseHostPath(path));
  std::string real = root_ + norm;
  const int fd = OpenNoAtime(real);
  if (fd < 0) return ErrnoStatus(errno, "open " + real);
  return std::unique_ptr<HostFileHandle>(std::make_unique<FdHandle>(fd, std::move(real)));
}

Result<std::vector<std::string>> RootedHostFs::ListDir(std::string_view path) const {
  WATTSON_ASSIGN_OR_RETURN(std::string norm, NormaliseHostPath(path));
  const std::string real = root_ + norm;
  DIR* dir = ::opendir(real.c_str());
  if (dir == nullptr) return ErrnoStatus(errno, "opendir " + real);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(dir)) {
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

bool RootedHostFs::Exists(std::string_view path) const {
  auto norm = NormaliseHostPath(path);
  if (!norm.ok()) return false;
  struct stat st;
  return ::stat((root_ + *norm).c_str(), &st) == 0;
}

// Rereads one file instance of a FakeHostFs, which it holds as an fd holds its file: gone once
// the path was removed, even if recreated.
class FakeHostFs::Handle final : public HostFileHandle {
 public:
  Handle(const FakeHostFs& fs, std::string path, std::shared_ptr<const File> file)
      : fs_(fs), path_(std::move(path)), file_(std::move(file)) {}
  ~Handle() override {
    std::lock_guard lock(fs_.mu_);
    --fs_.open_handles_;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  Status Reread(std::string* out, std::size_t max_bytes) override {
    std::lock_guard lock(fs_.mu_);
    if (file_->removed) {
      return Status::NotFound(fmt::format("{}: no such process", fs_.Describe(path_)));
    }
    if (file_->content.size() > max_bytes) {
      return Status::OutOfRange(
          fmt::format("{} is larger than {} bytes", fs_.Describe(path_), max_bytes));
    }
    out->assign(file_->content);
    return Status::Ok();
  }

 private:
  const FakeHostFs& fs_;
  std::string path_;
  std::shared_ptr<const File> file_;
};

void FakeHostFs::SetFile(std::string path, std::string content) {
  std::lock_guard lock(mu_);
  auto [it, created] = files_.try_emplace(std::move(path));
  if (created) it->second = std::make_shared<File>();
  it->second->content = std::move(content);
}

std::size_t FakeHostFs::open_handles() const {
  std::lock_guard lock(mu_);
  return open_handles_;
}

Result<std::unique_ptr<HostFileHandle>> FakeHostFs::DoOpenForReread(std::string_view path) const {
  WATTSON_ASSIGN_OR_RETURN(std::string norm, NormaliseHostPath(path));
  std::lock_guard lock(mu_);
  auto it = files_.find(norm);
  if (it == files_.end()) return Status::NotFound(fmt::format("{}: no such file", Describe(norm)));
  ++open_handles_;
  return std::unique_ptr<HostFileHandle>(std::make_unique<Handle>(*this, norm, it->second));
}

void FakeHostFs::RemoveFile(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return;
  it->second->removed = true;  // open handles see it gone
  files_.erase(it);
}

std::string FakeHostFs::Describe(std::string_view path) const {
  return "fake:" + std::string(path);
}

Result<std::string> FakeHostFs::DoReadFile(std::string_view path, std::size_t max_bytes) const {
  WATTSON_ASSIGN_OR_RETURN(std::string norm, NormaliseHostPath(path));
  std::lock_guard lock(mu_);
  auto it = files_.find(norm);
  if (it == files_.end()) return Status::NotFound(fmt::format("{}: no such file", Describe(norm)));
  if (it->second->content.size() > max_bytes) {
    return Status::OutOfRange(fmt::format("{} is larger than {} bytes", Describe(norm), max_bytes));
  }
  return it->second->content;
}

Result<std::vector<std::string>> FakeHostFs::ListDir(std::string_view path) const {
  WATTSON_ASSIGN_OR_RETURN(std::string norm, NormaliseHostPath(path));
  const std::string prefix = norm == "/" ? "/" : norm + "/";
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  std::string next;
  for (auto it = files_.lower_bound(prefix); it != files_.end();) {
    const std::string_view p = it->first;
    if (p.substr(0, prefix.size()) != prefix) break;
    const std::string_view rest = p.substr(prefix.size());
    const std::size_t slash = rest.find('/');
    const std::string_view name = rest.substr(0, slash);
    if (!name.empty() && (names.empty() || names.back() != name)) names.emplace_back(name);
    if (slash == std::string_view::npos) {
      ++it;
      continue;
    }
    // Skip the rest of this subdirectory: every path below it sorts before prefix + name + '0'
    // ('0' follows '/').
    next.assign(prefix).append(name).push_back('/' + 1);
    it = files_.lower_bound(next);
  }
  if (names.empty()) {
    return Status::NotFound(fmt::format("{}: no such directory", Describe(norm)));
  }
  return names;
}

bool FakeHostFs::Exists(std::string_view path) const {
  if (ReadFile(path, kDefaultMaxBytes).ok()) return true;
  return ListDir(path).ok();
}

void FaultInjectingHostFs::FailPath(std::string path, Status status) {
  std::lock_guard lock(mu_);
  failing_paths_[std::move(path)] = std::move(status);
}

void FaultInjectingHostFs::ClearFaults() {
  std::lock_guard lock(mu_);
  failing_paths_.clear();
  reads_until_fault_ = 0;
}

void FaultInjectingHostFs::FailNthRead(int n, Status status) {
  std::lock_guard lock(mu_);
  reads_until_fault_ = n;
  nth_status_ = std::move(status);
}

std::optional<Status> FaultInjectingHostFs::FaultFor(std::string_view path) const {
  std::lock_guard lock(mu_);
  if (auto it = failing_paths_.find(path); it != failing_paths_.end()) return it->second;
  if (reads_until_fault_ > 0 && --reads_until_fault_ == 0) return nth_status_;
  return std::nullopt;
}

Result<std::string> FaultInjectingHostFs::DoReadFile(std::string_view path,
                                                     std::size_t max_bytes) const {
  if (auto fault = FaultFor(path)) return *std::move(fault);
  return base_.ReadFile(path, max_bytes);
}

// A base handle whose rereads first ask the injector for a fault on its path.
class FaultInjectingHostFs::Handle final : public HostFileHandle {
 public:
  Handle(const FaultInjectingHostFs& fs, std::string path, std::unique_ptr<HostFileHandle> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}
  Status Reread(std::string* out, std::size_t max_bytes) override {
    if (auto fault = fs_.FaultFor(path_)) return *std::move(fault);
    return base_->Reread(out, max_bytes);
  }

 private:
  const FaultInjectingHostFs& fs_;
  std::string path_;
  std::unique_ptr<HostFileHandle> base_;
};

Result<std::unique_ptr<HostFileHandle>> FaultInjectingHostFs::DoOpenForReread(
    std::string_view path) const {
  {
    std::lock_guard lock(mu_);
    if (auto it = failing_paths_.find(path); it != failing_paths_.end()) return it->second;
  }
  WATTSON_ASSIGN_OR_RETURN(std::unique_ptr<HostFileHandle> base, base_.OpenForReread(path));
  return std::unique_ptr<HostFileHandle>(
      std::make_unique<Handle>(*this, std::string(path), std::move(base)));
}

Result<std::vector<std::string>> FaultInjectingHostFs::ListDir(std::string_view path) const {
  {
    std::lock_guard lock(mu_);
    if (auto it = failing_paths_.find(path); it != failing_paths_.end()) return it->second;
  }
  return base_.ListDir(path);
}

bool FaultInjectingHostFs::Exists(std::string_view path) const { return base_.Exists(path); }

std::string FaultInjectingHostFs::Describe(std::string_view path) const {
  return base_.Describe(path);
}

}  // namespace wattson
