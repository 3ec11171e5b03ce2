#include "sources/power/energy_counter.h"

#include <charconv>
#include <cmath>

#include "fmt/format.h"

namespace wattson {

CounterAccumulator::Update CounterAccumulator::Add(std::uint64_t raw,
                                                   std::optional<std::uint64_t> max_increase) {
  Update u;
  if (!last_) {
    last_ = raw;
    u.outcome = Outcome::kFirst;
    return u;
  }
  const std::uint64_t last = *last_;
  last_ = raw;
  if (max_range_ > 0 && (raw > max_range_ || last > max_range_)) {
    u.outcome = Outcome::kDropped;
    u.why = fmt::format("counter value {} is beyond its range {}", raw > max_range_ ? raw : last,
                        max_range_);
    return u;
  }
  std::uint64_t added = 0;
  if (raw >= last) {
    added = raw - last;
    u.outcome = Outcome::kAdvanced;
  } else if (max_range_ == 0) {
    u.outcome = Outcome::kDropped;
    u.why = fmt::format("counter went back from {} to {} and has no known wrap range", last, raw);
    return u;
  } else {
    added = (max_range_ - last) + raw;
    u.outcome = Outcome::kWrapped;
  }
  if (max_increase && added > *max_increase) {
    u.outcome = Outcome::kDropped;
    u.why = fmt::format("increase of {} from {} to {} exceeds the plausible {}", added, last, raw,
                        *max_increase);
    return u;
  }
  total_ += added;
  u.added = added;
  return u;
}

Result<PowerIntegrator::Update> PowerIntegrator::Add(Clock::MonoTime at, Watts p) {
  if (!std::isfinite(p.value()) || p.value() < 0) {
    return Status::InvalidArgument(
        fmt::format("power sample {} W is not a finite non-negative "
                    "number",
                    p.value()));
  }
  Update u;
  if (last_at_) {
    const Seconds dt = SecondsBetween(*last_at_, at);
    if (dt > max_gap_) {
      u.dropped = true;
    } else if (dt.value() > 0) {
      u.added = ((last_p_ + p) / 2.0) * dt;
      total_ += u.added;
    }
  }
  if (!last_at_ || at >= *last_at_) {
    last_at_ = at;
    last_p_ = p;
  }
  return u;
}

Result<std::uint64_t> ParseSysfsUint(std::string_view text, std::string_view what) {
  std::size_t b = 0;
  std::size_t e = text.size();
  while (b < e && (text[b] == ' ' || text[b] == '\t')) ++b;
  while (e > b && (text[e - 1] == '\n' || text[e - 1] == ' ' || text[e - 1] == '\t' ||
                   text[e - 1] == '\r')) {
    --e;
  }
  std::uint64_t v = 0;
  const char* first = text.data() + b;
  const char* last = text.data() + e;
  auto [ptr, ec] = std::from_chars(first, last, v);
  if (b == e || ec != std::errc() || ptr != last) {
    std::string shown(text.substr(0, 40));
    for (char& c : shown) {
      if (c < 0x20 || c > 0x7e) c = '?';
    }
    return Status::InvalidArgument(fmt::format("{}: '{}' is not an unsigned integer", what, shown));
  }
  return v;
}

}  // namespace wattson
