// HostFs: every read of the host (/proc, /sys, /etc) goes through this interface. RootedHostFs
// reads below a configurable root ("/" in production, a testdata tree in tests); FakeHostFs is an
// in-memory tree; FaultInjectingHostFs wraps another HostFs and fails chosen reads.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace wattson {

class HostFs {
 public:
  virtual ~HostFs() = default;
  // Reads a whole file given by an absolute host path such as "/proc/1/stat". Files larger than
  // max_bytes give kOutOfRange.
  Result<std::string> ReadFile(std::string_view path,
                               std::size_t max_bytes = kDefaultMaxBytes) const {
    return DoReadFile(path, max_bytes);
  }
  // Names of the entries of a directory (no "." or ".."), sorted.
  virtual Result<std::vector<std::string>> ListDir(std::string_view path) const = 0;
  virtual bool Exists(std::string_view path) const = 0;
  // Where the path really is, for error messages (e.g. "/srv/fake/proc/1/stat").
  virtual std::string Describe(std::string_view path) const = 0;

  static constexpr std::size_t kDefaultMaxBytes = 16u << 20;

 protected:
  virtual Result<std::string> DoReadFile(std::string_view path, std::size_t max_bytes) const = 0;
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

 private:
  std::string root_;  // no trailing slash; "" means "/"
};

// In-memory host tree for tests. Directories exist implicitly as prefixes of file paths.
class FakeHostFs final : public HostFs {
 public:
  void SetFile(std::string path, std::string content);
  void RemoveFile(const std::string& path);
  Result<std::vector<std::string>> ListDir(std::string_view path) const override;
  bool Exists(std::string_view path) const override;
  std::string Describe(std::string_view path) const override;

 protected:
  Result<std::string> DoReadFile(std::string_view path, std::size_t max_bytes) const override;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string, std::less<>> files_;
};

// Wraps another HostFs and fails selected reads: every read of a given path, or the n-th read.
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

 private:
  const HostFs& base_;
  mutable std::mutex mu_;
  std::map<std::string, Status, std::less<>> failing_paths_;
  mutable int reads_until_fault_ = 0;
  Status nth_status_;
};

}  // namespace wattson
