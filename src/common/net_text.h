// Small text formats shared by wattson's HTTP endpoints: "host:port" bind addresses and
// Prometheus exposition label values.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace wattson {

// Splits "host:port" ("[::1]:9102" for IPv6; port 0..65535). what names the address in errors
// (e.g. "bind address").
Status ParseHostPort(const std::string& address, std::string_view what, std::string* host,
                     int* port);

// A label value escaped for the Prometheus text format: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view value);

}  // namespace wattson
