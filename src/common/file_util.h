// Reading and writing whole local files (model files, data sets, reports) with size limits and
// clear errors. Host state (/proc, /sys) is read through HostFs instead.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace wattson {

inline constexpr std::size_t kMaxLocalFileBytes = 1ull << 30;

Result<std::string> ReadLocalFile(const std::string& path,
                                  std::size_t max_bytes = kMaxLocalFileBytes);

// Writes content to path through a temporary file and rename, so a reader never sees half a file
// and a failed write leaves the old file intact.
Status WriteLocalFileAtomic(const std::string& path, std::string_view content);

}  // namespace wattson
