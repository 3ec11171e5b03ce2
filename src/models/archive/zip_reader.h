// Reads every member of a zip archive held in memory, with libzip, after checking the central
// directory against ZipLimits: no path that could escape a folder (zip-slip), no duplicate names,
// no encrypted or unsupported members, and no member or total whose declared size or compression
// ratio looks like a zip bomb. Sizes are checked before anything is inflated, and inflation stops
// at the declared size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace wattson::archive {

struct ZipLimits {
  std::size_t max_entries = 256;
  std::size_t max_name_bytes = 255;
  std::size_t max_member_bytes = std::size_t{256} << 20;  // one member, uncompressed
  std::size_t max_total_bytes = std::size_t{512} << 20;   // all members, uncompressed
  // A member larger than ratio_floor_bytes may be at most max_ratio times its compressed size.
  std::size_t max_ratio = 200;
  std::size_t ratio_floor_bytes = std::size_t{1} << 20;
};

// Member name -> content. Directory entries are left out.
using ZipMembers = std::map<std::string, std::vector<std::uint8_t>, std::less<>>;

// True if the bytes start like a zip archive (a local file header or an empty archive's end
// record).
bool LooksLikeZip(std::span<const std::uint8_t> bytes);

// `what` names the archive in errors, e.g. "archive rapl-sysfs/.../SGDRegressorTrainer_0.zip".
Result<ZipMembers> ReadZipMembers(std::span<const std::uint8_t> zip, std::string_view what,
                                  const ZipLimits& limits = {});

// Why a member name is unsafe to use as a file name inside a folder ("" if it is safe): empty,
// absolute, a drive letter, a backslash, a "." or ".." component, or a control character.
std::string UnsafeMemberNameReason(std::string_view name);

}  // namespace wattson::archive
