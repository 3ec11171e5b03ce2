#include "common/host_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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

}  // namespace

RootedHostFs::RootedHostFs(std::string root) : root_(std::move(root)) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

std::string RootedHostFs::Describe(std::string_view path) const {
  return root_ + std::string(path);
}

Result<std::string> RootedHostFs::DoReadFile(std::string_view path, std::size_t max_bytes) const {
  WATTSON_ASSIGN_OR_RETURN(std::string norm, NormaliseHostPath(path));
  const std::string real = root_ + norm;
  int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC);
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

void FakeHostFs::SetFile(std::string path, std::string content) {
  std::lock_guard lock(mu_);
  files_[std::move(path)] = std::move(content);
}

void FakeHostFs::RemoveFile(const std::string& path) {
  std::lock_guard lock(mu_);
  files_.erase(path);
}

std::string FakeHostFs::Describe(std::string_view path) const {
  return "fake:" + std::string(path);
}

Result<std::string> FakeHostFs::DoReadFile(std::string_view path, std::size_t max_bytes) const {
  WATTSON_ASSIGN_OR_RETURN(std::string norm, NormaliseHostPath(path));
  std::lock_guard lock(mu_);
  auto it = files_.find(norm);
  if (it == files_.end()) return Status::NotFound(fmt::format("{}: no such file", Describe(norm)));
  if (it->second.size() > max_bytes) {
    return Status::OutOfRange(fmt::format("{} is larger than {} bytes", Describe(norm), max_bytes));
  }
  return it->second;
}

Result<std::vector<std::string>> FakeHostFs::ListDir(std::string_view path) const {
  WATTSON_ASSIGN_OR_RETURN(std::string norm, NormaliseHostPath(path));
  const std::string prefix = norm == "/" ? "/" : norm + "/";
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  for (auto it = files_.lower_bound(prefix); it != files_.end(); ++it) {
    const std::string_view p = it->first;
    if (p.substr(0, prefix.size()) != prefix) break;
    const std::string_view rest = p.substr(prefix.size());
    const std::string_view name = rest.substr(0, rest.find('/'));
    if (!name.empty() && (names.empty() || names.back() != name)) names.emplace_back(name);
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

Result<std::string> FaultInjectingHostFs::DoReadFile(std::string_view path,
                                                     std::size_t max_bytes) const {
  {
    std::lock_guard lock(mu_);
    if (auto it = failing_paths_.find(path); it != failing_paths_.end()) return it->second;
    if (reads_until_fault_ > 0 && --reads_until_fault_ == 0) return nth_status_;
  }
  return base_.ReadFile(path, max_bytes);
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
