#include "common/clock.h"

namespace wattson {

FakeClock::FakeClock()
    : mono_(std::chrono::steady_clock::time_point(std::chrono::hours(1000))),
      wall_(std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000))) {}

Clock::MonoTime FakeClock::Now() const {
  std::lock_guard lock(mu_);
  return mono_;
}

Clock::WallTime FakeClock::WallNow() const {
  std::lock_guard lock(mu_);
  return wall_;
}

void FakeClock::Advance(std::chrono::nanoseconds d) {
  std::lock_guard lock(mu_);
  mono_ += d;
  wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
}

void FakeClock::Advance(Seconds s) {
  Advance(std::chrono::nanoseconds(static_cast<long long>(s.value() * 1e9)));
}

Seconds SecondsBetween(Clock::MonoTime from, Clock::MonoTime to) {
  return Seconds(std::chrono::duration<double>(to - from).count());
}

}  // namespace wattson
