#include "common/net_text.h"

#include <charconv>

#include "fmt/format.h"

namespace wattson {

Status ParseHostPort(const std::string& address, std::string_view what, std::string* host,
                     int* port) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::InvalidArgument(
        fmt::format("{} '{}': expected host:port, e.g. 0.0.0.0:9102", what, address));
  }
  std::string h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int p = -1;
  const char* first = address.data() + colon + 1;
  const char* last = address.data() + address.size();
  auto [ptr, ec] = std::from_chars(first, last, p);
  if (ec != std::errc() || ptr != last || p < 0 || p > 65535) {
    return Status::InvalidArgument(fmt::format("{} '{}': bad port", what, address));
  }
  *host = h;
  *port = p;
  return Status::Ok();
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace wattson
