#include "models/archive/zip_reader.h"

#include <fmt/format.h>
#include <zip.h>

#include <memory>
#include <set>

namespace wattson::archive {

namespace {

struct ArchiveCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct FileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ArchivePtr = std::unique_ptr<zip_t, ArchiveCloser>;
using FilePtr = std::unique_ptr<zip_file_t, FileCloser>;

std::string ErrorText(zip_error_t* error) {
  std::string text = zip_error_strerror(error);
  zip_error_fini(error);
  return text;
}

Status Invalid(std::string_view what, std::string_view message) {
  return Status::InvalidArgument(fmt::format("{}: {}", what, message));
}

}  // namespace

bool LooksLikeZip(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 4 || bytes[0] != 'P' || bytes[1] != 'K') return false;
  return (bytes[2] == 3 && bytes[3] == 4) || (bytes[2] == 5 && bytes[3] == 6);
}

std::string UnsafeMemberNameReason(std::string_view name) {
  if (name.empty()) return "an empty name";
  if (name.front() == '/') return "an absolute path";
  if (name.size() >= 2 && name[1] == ':') return "a drive letter";
  for (char c : name) {
    if (c == '\\') return "a backslash";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "a control character";
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view part = name.substr(start, end - start);
    if (part == "." || part == "..") return fmt::format("a '{}' component", part);
    if (part.empty() && end != name.size()) return "an empty component";
    start = end + 1;
  }
  return "";
}

Result<ZipMembers> ReadZipMembers(std::span<const std::uint8_t> zip, std::string_view what,
                                  const ZipLimits& limits) {
  if (!LooksLikeZip(zip)) return Invalid(what, "not a zip archive (no PK signature)");
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(zip.data(), zip.size(), 0, &error);
  if (source == nullptr) return Invalid(what, ErrorText(&error));
  ArchivePtr archive(zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error));
  if (archive == nullptr) {
    zip_source_free(source);
    if (zip_error_code_zip(&error) == ZIP_ER_EXISTS) {
      zip_error_fini(&error);
      return Invalid(what, "two members have the same name");
    }
    return Invalid(what, fmt::format("not a readable zip archive: {}", ErrorText(&error)));
  }
  zip_error_fini(&error);

  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  if (count < 0) return Invalid(what, "cannot count the archive's members");
  if (static_cast<std::size_t>(count) > limits.max_entries) {
    return Invalid(what,
                   fmt::format("{} members, over the limit of {}", count, limits.max_entries));
  }

  // Pass 1: the central directory only. Nothing is inflated until every entry passes.
  struct Entry {
    zip_uint64_t index;
    std::string name;
    std::size_t size;
  };
  std::vector<Entry> entries;
  std::set<std::string, std::less<>> names;
  std::size_t total = 0;
  constexpr zip_uint64_t kNeeded = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE |
                                   ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
  for (zip_int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive.get(), index, ZIP_FL_ENC_RAW, &st) != 0 ||
        (st.valid & kNeeded) != kNeeded) {
      return Invalid(what, fmt::format("member #{}: unreadable directory entry: {}", i,
                                       zip_strerror(archive.get())));
    }
    std::string name = st.name;
    if (name.size() > limits.max_name_bytes) {
      return Invalid(what, fmt::format("member #{}: name of {} bytes, over the limit of {}", i,
                                       name.size(), limits.max_name_bytes));
    }
    if (std::string reason = UnsafeMemberNameReason(name); !reason.empty()) {
      return Invalid(what, fmt::format("member '{}': unsafe name ({})", name, reason));
    }
    if (!names.insert(name).second) {
      return Invalid(what, fmt::format("member '{}' appears twice", name));
    }
    if (name.back() == '/') {
      if (st.size != 0) return Invalid(what, fmt::format("directory '{}' has content", name));
      continue;
    }
    if (st.encryption_method != ZIP_EM_NONE) {
      return Invalid(what, fmt::format("member '{}' is encrypted", name));
    }
    if (zip_compression_method_supported(st.comp_method, 0) == 0) {
      return Invalid(what, fmt::format("member '{}': unsupported compression method {}", name,
                                       st.comp_method));
    }
    if (st.size > limits.max_member_bytes) {
      return Invalid(what, fmt::format("member '{}' declares {} bytes, over the limit of {}", name,
                                       st.size, limits.max_member_bytes));
    }
    const auto size = static_cast<std::size_t>(st.size);
    if (size > limits.ratio_floor_bytes &&
        (st.comp_size == 0 || size / limits.max_ratio > st.comp_size)) {
      return Invalid(what, fmt::format("member '{}' inflates {} bytes to {} (ratio over {}): "
                                       "refused as a possible zip bomb",
                                       name, st.comp_size, size, limits.max_ratio));
    }
    total += size;
    if (total > limits.max_total_bytes) {
      return Invalid(what, fmt::format("members declare over {} bytes in all, the limit",
                                       limits.max_total_bytes));
    }
    entries.push_back(Entry{index, std::move(name), size});
  }

  // Pass 2: inflate each member into a buffer of its declared size, and no further.
  ZipMembers members;
  for (const Entry& e : entries) {
    FilePtr file(zip_fopen_index(archive.get(), e.index, 0));
    if (file == nullptr) {
      return Invalid(
          what, fmt::format("member '{}': cannot open: {}", e.name, zip_strerror(archive.get())));
    }
    std::vector<std::uint8_t> data(e.size);
    std::size_t got = 0;
    while (got < data.size()) {
      const zip_int64_t n = zip_fread(file.get(), data.data() + got, data.size() - got);
      if (n < 0) {
        return Invalid(what, fmt::format("member '{}': {}", e.name, zip_file_strerror(file.get())));
      }
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got != data.size()) {
      return Invalid(
          what, fmt::format("member '{}' is truncated: {} of {} bytes", e.name, got, data.size()));
    }
    std::uint8_t extra = 0;
    const zip_int64_t more = zip_fread(file.get(), &extra, 1);
    if (more != 0) {
      return Invalid(
          what, more < 0 ? fmt::format("member '{}': {}", e.name, zip_file_strerror(file.get()))
                         : fmt::format("member '{}' inflates past its declared {} bytes", e.name,
                                       data.size()));
    }
    members.emplace(e.name, std::move(data));
  }
  return members;
}

}  // namespace wattson::archive
