// HostFs: every read of the host (/proc, /sys, /etc) goes through this interface. RootedHostFs
// reads below a configurable root ("/" in production, a testdata tree in tests); FakeHostFs is an
// in-memory tree; FaultInjectingHostFs wraps another HostFs and fails chosen reads. A file read
// over and over (/proc/<pid>/stat every tick) can be kept open as a HostFileHandle.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace wattson {

// One host file kept open for repeated whole reads (RootedHostFs: a real fd read with pread, so a
// reread costs one system call instead of open + read + close). Like an fd it stays bound to the
// file it opened: once that file is removed (or, under /proc, its process has exited) Reread gives
// kNotFound, even if a new file or process now has the same path. Must not outlive its HostFs.
class HostFileHandle {
 public:
  virtual ~HostFileHandle() = default;
  // Reads the whole file from offset 0 into *out, replacing its contents (its capacity is reused).
  // kNotFound: the file or its process is gone; kOutOfRange: larger than max_bytes; kIoError:
  // any other failure.
  virtual Status Reread(std::string* out, std::size_t max_bytes) = 0;
};

class HostFs {
 public:
  virtual ~HostFs() = default;
  // Reads a whole file given by an absolute host path such as "/proc/1/stat". Files larger than
  // max_bytes give kOutOfRange.
  Result<std::string> ReadFile(std::string_view path,
                               std::size_t max_bytes = kDefaultMaxBytes) const {
    return DoReadFile(path, max_bytes);
  }
  // Opens a file for HostFileHandle::Reread (which does the reading: opening reads nothing).
  // kNotFound if it does not exist. Every implementation has one: the default rereads by path.
  Result<std::unique_ptr<HostFileHandle>> OpenForReread(std::string_view path) const {
    return DoOpenForReread(path);
  }
  // Names of the entries of a directory (no "." or ".."), sorted.
  virtual Result<std::vector<std::string>> ListDir(std::string_view path) const = 0;
  virtual bool Exists(std::string_view path) const = 0;
  // Where the path really is, for error messages (e.g. "/srv/fake/proc/1/stat").
  virtual std::string Describe(std::string_view path) const = 0;

  static constexpr std::size_t kDefaultMaxBytes = 16u << 20;

 protected:
  virtual Result<std::string> DoReadFile(std::string_view path, std::size_t max_bytes) const = 0;
  // Default: a handle that calls ReadFile(path) on each Reread (so it follows the path, not the
  // file it found first); implementations override it with a real open file.
  virtual Result<std::unique_ptr<HostFileHandle>> DoOpenForReread(std::string_view path) const;
};

// Checks that path is absolute and has no "." or ".." components; returns it normalised (no
// repeated or trailing slashes).
Result<std::string> NormaliseHostPath(std::string_view path);

class RootedHostFs final : public HostFs {
 public:
  explicit RootedHostFs(std::string root);
  Result<std::vector<std::string>> ListDir(std::string_view path) const override;
  bool Exists(std::string_view path) const override;
  std::string Describe(std::string_view path) const override;

 protected:
  Result<std::string> DoReadFile(std::string_view path, std::size_t max_bytes) const override;
  // An O_RDONLY | O_CLOEXEC fd, reread with pread from offset 0 (a short read is the end of the
  // file). A regular file replaced by rename keeps reading the old one, as an fd does.
  Result<std::unique_ptr<HostFileHandle>> DoOpenForReread(std::string_view path) const override;

 private:
  int OpenNoAtime(const std::string& real) const;

  std::string root_;                         // no trailing slash; "" means "/"
  mutable std::atomic<bool> noatime_{true};  // O_NOATIME not yet refused (EPERM)
};

// In-memory host tree for tests. Directories exist implicitly as prefixes of file paths. A handle
// behaves like an fd on /proc: SetFile on an existing path rewrites the same file (the handle sees
// the new content); RemoveFile ends the file, and a handle opened before gives kNotFound even after
// SetFile creates the path again (a recycled pid is a new process).
class FakeHostFs final : public HostFs {
 public:
  void SetFile(std::string path, std::string content);
  void RemoveFile(const std::string& path);
  // Handles opened and not yet destroyed (for tests of code that keeps files open).
  std::size_t open_handles() const;
  Result<std::vector<std::string>> ListDir(std::string_view path) const override;
  bool Exists(std::string_view path) const override;
  std::string Describe(std::string_view path) const override;

 protected:
  Result<std::string> DoReadFile(std::string_view path, std::size_t max_bytes) const override;
  Result<std::unique_ptr<HostFileHandle>> DoOpenForReread(std::string_view path) const override;

 private:
  class Handle;
  struct File {
    std::string content;
    bool removed = false;  // RemoveFile ended it (handles hold it as an fd holds its file)
  };
  mutable std::mutex mu_;  // guards files_ and every File's fields
  std::map<std::string, std::shared_ptr<File>, std::less<>> files_;
  mutable std::size_t open_handles_ = 0;
};

// Wraps another HostFs and fails selected reads: every read of a given path, or the n-th read.
// OpenForReread of a failing path fails; a handle's Reread counts as a read and fails like
// ReadFile of its path would (so a fault injected after opening still hits it).
class FaultInjectingHostFs final : public HostFs {
 public:
  explicit FaultInjectingHostFs(const HostFs& base) : base_(base) {}
  // Every ReadFile/ListDir of path fails with status from now on.
  void FailPath(std::string path, Status status);
  void ClearFaults();
  // The n-th ReadFile from now (1 = the next one) fails with status.
  void FailNthRead(int n, Status status);

  Result<std::vector<std::string>> ListDir(std::string_view path) const override;
  bool Exists(std::string_view path) const override;
  std::string Describe(std::string_view path) const override;

 protected:
  Result<std::string> DoReadFile(std::string_view path, std::size_t max_bytes) const override;
  Result<std::unique_ptr<HostFileHandle>> DoOpenForReread(std::string_view path) const override;

 private:
  class Handle;
  // The injected failure for one read of path, if any (counts the read for FailNthRead).
  std::optional<Status> FaultFor(std::string_view path) const;

  const HostFs& base_;
  mutable std::mutex mu_;
  std::map<std::string, Status, std::less<>> failing_paths_;
  mutable int reads_until_fault_ = 0;
  Status nth_status_;
};

}  // namespace wattson
