// Clock: the one source of time in wattson. RealClock reads the OS clocks; FakeClock is advanced by
// tests, so tick arithmetic (energy = power × measured Δt) is deterministic under test.
#pragma once

#include <chrono>
#include <mutex>

#include "common/units.h"

namespace wattson {

class Clock {
 public:
  using MonoTime = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  // Monotonic time: for measuring intervals.
  virtual MonoTime Now() const = 0;
  // Wall-clock time: for timestamps shown to people and written to files.
  virtual WallTime WallNow() const = 0;
};

class RealClock final : public Clock {
 public:
  MonoTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
};

// Thread-safe manual clock. Starts at an arbitrary fixed point; only Advance() moves it.
class FakeClock final : public Clock {
 public:
  FakeClock();
  MonoTime Now() const override;
  WallTime WallNow() const override;
  void Advance(std::chrono::nanoseconds d);
  void Advance(Seconds s);

 private:
  mutable std::mutex mu_;
  MonoTime mono_;
  WallTime wall_;
};

// Seconds between two monotonic instants.
Seconds SecondsBetween(Clock::MonoTime from, Clock::MonoTime to);

}  // namespace wattson
