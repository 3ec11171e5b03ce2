// The estimator's reply, byte-compatible with what Kepler v0.7.11's Go client decodes
// ({"powers": {component: [W per row]}, "msg": ""}; errors in "msg" with empty powers), and the
// legacy kepler-estimator's list form ({"powers": [W per row], "msg": ""}).
#pragma once

#include <string>
#include <string_view>

#include "models/types.h"

namespace wattson::estimator {

// Appends {"powers": {...}, "msg": ""} (or the list form) for a prediction. Components appear in
// the order package, core, uncore, dram, platform; numbers are the shortest text that reads back
// as the same double.
void AppendPowersReply(const PowerPrediction& prediction, bool list_reply, std::string* out);

// Appends {"powers": {}, "msg": "<message>"} (or "powers": [] in the list form).
void AppendErrorReply(std::string_view message, bool list_reply, std::string* out);

// JSON text helpers.
void AppendJsonString(std::string_view s, std::string* out);
void AppendJsonNumber(double v, std::string* out);  // NaN/Inf (never produced) become 0

}  // namespace wattson::estimator
