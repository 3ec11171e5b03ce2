// Small ASCII string helpers used across wattson (configuration keys, sysfs attributes, names).
#pragma once

#include <string>
#include <string_view>

namespace wattson {

// s without leading and trailing ASCII whitespace.
std::string_view Trim(std::string_view s);
// s with ASCII letters lower-cased.
std::string Lower(std::string_view s);

}  // namespace wattson
