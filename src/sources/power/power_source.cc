#include "sources/power/power_source.h"

namespace wattson {

bool IsKnownZone(std::string_view zone) {
  return zone == "package" || zone == "core" || zone == "uncore" || zone == "dram" ||
         zone == "psys" || zone == "platform" || zone == "gpu";
}

}  // namespace wattson
