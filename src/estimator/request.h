// The estimator's request: what Kepler v0.7.11's sidecar client (pkg/model/estimator/sidecar)
// sends over the unix socket, or the older kepler-estimator shape with "model_name" (reference
// spec §3.2, §3.7), parsed by a strict, bounded, schema-driven JSON reader. Errors name the field
// and, for syntax errors, the byte offset; the parser never crashes on any input (it is fuzzed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "models/types.h"

namespace wattson::estimator {

// Which client shape a request has. kKepler: v0.7.11 (metrics, values, output_type, source,
// system_features, system_values, trainer_name, filter). kLegacy: kepler-estimator HEAD 44714ae
// (model_name instead of source/trainer_name, output types such as AbsComponentPower).
enum class RequestShape { kKepler, kLegacy };

struct EstimateRequest {
  RequestShape shape = RequestShape::kKepler;
  std::vector<std::string> metrics;  // column names, unique, in the client's order
  std::size_t rows = 0;
  std::vector<double> values;  // rows × metrics.size(), row-major, every value finite
  OutputType output_type = OutputType::kAbsPower;
  std::string source;  // normalised energy source: "rapl-sysfs", "acpi", ...
  std::vector<std::string> system_features;
  std::vector<std::string> system_values;  // same length as system_features
  std::string trainer_name;
  std::string filter;
  std::string model_name;  // legacy only
  // Legacy total-power output types (AbsPower, DynPower) reply with a bare list of watts.
  bool legacy_list_reply = false;

  double at(std::size_t r, std::size_t c) const { return values[r * metrics.size() + c]; }
};

struct RequestLimits {
  std::size_t max_metrics = 4096;       // columns
  std::size_t max_name_bytes = 256;     // one metric or system feature name
  std::size_t max_string_bytes = 4096;  // trainer_name, filter, system values, ...
  std::size_t max_system_features = 64;
};

// Parses one complete JSON document. On error the message is suitable for the reply's "msg".
Result<EstimateRequest> ParseEstimateRequest(std::string_view text,
                                             const RequestLimits& limits = {});

// The checks every request encoding shares (the JSON parser and the framed protocol's binary
// payloads): metric names present and unique, at least one row, rows as wide as metrics, system
// features matching their values, unique and not also metrics.
Status ValidateRequestShape(const EstimateRequest& request);
// Sets a Kepler-shaped request's output type ("AbsPower" or "DynPower") and normalised energy
// source from their wire strings; source_null: the JSON source was null (kepler-model-server
// reads that as rapl-sysfs).
Status SetKeplerTypeAndSource(std::string_view output_type, std::string_view source,
                              bool source_null, EstimateRequest* out);

// Finds where one JSON object ends in a byte stream that arrives in pieces (Kepler's protocol has
// no framing: the document is complete when its outermost braces close). Tracks strings, escapes
// and bracket nesting only; the parser validates the rest. Feed() may be called with any split of
// the bytes, down to one byte at a time.
class DocumentScanner {
 public:
  enum class State { kNeedMore, kComplete, kError };

  // Scans bytes that follow everything fed so far. On kComplete, end() is the offset (from the
  // first byte ever fed) just past the closing brace; bytes after it are not examined.
  State Feed(std::string_view bytes);
  State state() const { return state_; }
  std::size_t end() const { return end_; }
  // Why the scan failed (kError only).
  const std::string& error() const { return error_; }
  // True once a non-whitespace byte has been seen.
  bool started() const { return started_; }
  void Reset() { *this = DocumentScanner(); }

  static constexpr int kMaxDepth = 64;

 private:
  State Fail(std::string message);
  State state_ = State::kNeedMore;
  std::size_t offset_ = 0;  // bytes consumed so far
  std::size_t end_ = 0;
  bool started_ = false;
  bool in_string_ = false;
  bool escape_ = false;
  int depth_ = 0;
  std::uint64_t array_bits_ = 0;  // bit d set: nesting level d is an array
  std::string error_;
};

// A short, printable rendering of untrusted text for error messages: at most max_bytes bytes,
// control and non-ASCII bytes as \xNN, "..." when cut.
std::string Printable(std::string_view text, std::size_t max_bytes = 64);

}  // namespace wattson::estimator
