// Fuzzes the Kepler model archive loader end to end: zip directory checks, member reading, JSON
// and pickle members, interpreters and the pipeline. Any input must load or fail with a Status
// (never crash, hang, leak or allocate past the limits); a loaded model must give finite watts
// >= 0 on probe rows (or fail with a Status).
//
// An input starting with "PK" is a zip. Since a mutated zip member fails its CRC, any other input
// is read as a member bundle, so mutations also reach metadata.json, the component map and the
// pickles: members separated by "\n@@\n", each "<name>\n<content>".
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "models/archive/kepler_archive.h"

namespace {

wattson::archive::ZipMembers Bundle(std::string_view text) {
  wattson::archive::ZipMembers members;
  constexpr std::string_view kSeparator = "\n@@\n";
  while (!text.empty()) {
    std::size_t end = text.find(kSeparator);
    std::string_view chunk = text.substr(0, end);
    text =
        end == std::string_view::npos ? std::string_view() : text.substr(end + kSeparator.size());
    const std::size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) continue;
    const std::string_view content = chunk.substr(nl + 1);
    members.emplace(std::string(chunk.substr(0, nl)),
                    std::vector<std::uint8_t>(content.begin(), content.end()));
  }
  return members;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wattson::archive::ArchiveOptions options;
  options.zip.max_member_bytes = size_t{4} << 20;
  options.zip.max_total_bytes = size_t{8} << 20;
  options.pickle.limits.max_array_bytes = size_t{4} << 20;
  const std::span<const uint8_t> bytes(data, size);
  auto archive =
      wattson::archive::LooksLikeZip(bytes)
          ? wattson::archive::KeplerArchiveFromZip(bytes, "fuzz.zip", options)
          : wattson::archive::KeplerArchiveFromMembers(
                Bundle({reinterpret_cast<const char*>(data), size}), "fuzz-bundle", options);
  if (!archive.ok()) {
    if (archive.status().message().empty()) wattson::fuzz::Fail("an error without a message");
    return 0;
  }
  const wattson::FeatureMatrix probe = wattson::fuzz::ProbeRows(archive->model->info());
  auto prediction = archive->model->Predict(probe);
  if (prediction.ok()) wattson::fuzz::CheckPrediction(*prediction, probe.rows());
  return 0;
}
