// Building blocks shared by the power sources. CounterAccumulator turns a raw cumulative hardware
// counter (which may wrap) into a monotonic count since the first sample; PowerIntegrator turns
// power samples into cumulative energy by the trapezoid rule over measured time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "common/units.h"

namespace wattson {

// Accumulates a raw unsigned counter (µJ, mJ, ...) that wraps to 0 after max_range. A sample lower
// than the last one is a wrap and adds max_range − last + now, unless the range is unknown (0) or
// either sample lies beyond the range; such an interval, and one whose increase exceeds the
// caller's plausibility bound, is dropped: nothing is added and the new sample becomes the base.
class CounterAccumulator {
 public:
  enum class Outcome { kFirst, kAdvanced, kWrapped, kDropped };
  struct Update {
    Outcome outcome = Outcome::kFirst;
    std::uint64_t added = 0;
    std::string why;  // for kDropped: the reason, for a log line
  };

  explicit CounterAccumulator(std::uint64_t max_range = 0) : max_range_(max_range) {}

  // max_increase: the largest believable increase for this interval (none if unset).
  Update Add(std::uint64_t raw, std::optional<std::uint64_t> max_increase = std::nullopt);
  std::uint64_t total() const { return total_; }
  std::uint64_t max_range() const { return max_range_; }
  bool started() const { return last_.has_value(); }

 private:
  std::uint64_t max_range_;
  std::optional<std::uint64_t> last_;
  std::uint64_t total_ = 0;
};

// Integrates power samples taken at measured instants: each interval adds
// (p_prev + p_now) / 2 × Δt. An interval longer than max_gap (the meter was unreadable for long) is
// dropped rather than guessed; an interval whose time does not advance adds nothing.
class PowerIntegrator {
 public:
  struct Update {
    Joules added;
    bool dropped = false;  // the interval exceeded max_gap
  };

  explicit PowerIntegrator(Seconds max_gap) : max_gap_(max_gap) {}

  // p must be finite and non-negative (checked: InvalidArgument otherwise).
  Result<Update> Add(Clock::MonoTime at, Watts p);
  Joules total() const { return total_; }

 private:
  Seconds max_gap_;
  std::optional<Clock::MonoTime> last_at_;
  Watts last_p_;
  Joules total_;
};

// Parses a sysfs integer attribute ("123456\n") as an unsigned 64-bit number.
Result<std::uint64_t> ParseSysfsUint(std::string_view text, std::string_view what);

}  // namespace wattson
