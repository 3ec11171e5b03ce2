// Fuzzes the catalogue's text parsers on the same input: ParseJson + ParseNodeTypeIndex (with the
// machine-spec rules SpecCovers and SpecSimilarity on every pair of parsed node types),
// ParseModelFilters and ParsePythonStringList (the metadata CSV's feature cells).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json_util.h"
#include "fuzz_util.h"
#include "models/catalogue.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto json = wattson::ParseJson(text, "fuzz input"); json.ok()) {
    auto index = wattson::ParseNodeTypeIndex(*json, "fuzz input");
    if (index.ok() && index->size() <= 64) {
      for (const auto& [ta, a] : *index) {
        if (!wattson::SpecCovers(a.spec, a.spec)) wattson::fuzz::Fail("SpecCovers not reflexive");
        for (const auto& [tb, b] : *index) {
          const double s = wattson::SpecSimilarity(a.spec, b.spec);
          if (!(s >= 0.0 && s <= 1.0)) wattson::fuzz::Fail("SpecSimilarity outside [0, 1]");
          if (std::fabs(s - wattson::SpecSimilarity(b.spec, a.spec)) > 1e-12) {
            wattson::fuzz::Fail("SpecSimilarity not symmetric");
          }
        }
      }
    }
  }

  if (auto filters = wattson::ParseModelFilters(text); filters.ok()) {
    for (const auto& f : *filters) {
      if (f.key.empty()) wattson::fuzz::Fail("filter with an empty key accepted");
      if (f.key != "features" && !std::isfinite(f.value)) {
        wattson::fuzz::Fail("filter with a non-finite value accepted");
      }
    }
  }

  (void)wattson::ParsePythonStringList(text);
  return 0;
}
