// The live web page served at "/": one self-contained HTML document (inline CSS and JS, no
// external assets) that polls api/v1/snapshot and shows node power by zone with its provenance,
// a hand-drawn chart of recent node power, and the top pods, containers, processes and VMs.
#pragma once

#include <string_view>

namespace wattson::exporter {

std::string_view IndexHtml();

}  // namespace wattson::exporter
