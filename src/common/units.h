// Physical quantities as distinct types, so that watts, joules and seconds cannot be mixed up.
// Each holds a double in SI units; only dimensionally valid arithmetic compiles.
#pragma once

#include <compare>

namespace wattson {

template <typename Tag>
class Quantity {
 public:
  constexpr Quantity() = default;
  constexpr explicit Quantity(double v) : v_(v) {}
  constexpr double value() const { return v_; }

  constexpr Quantity operator+(Quantity o) const { return Quantity(v_ + o.v_); }
  constexpr Quantity operator-(Quantity o) const { return Quantity(v_ - o.v_); }
  constexpr Quantity operator*(double k) const { return Quantity(v_ * k); }
  constexpr Quantity operator/(double k) const { return Quantity(v_ / k); }
  constexpr double operator/(Quantity o) const { return v_ / o.v_; }
  constexpr Quantity& operator+=(Quantity o) {
    v_ += o.v_;
    return *this;
  }
  constexpr Quantity& operator-=(Quantity o) {
    v_ -= o.v_;
    return *this;
  }
  constexpr auto operator<=>(const Quantity&) const = default;

 private:
  double v_ = 0.0;
};

template <typename Tag>
constexpr Quantity<Tag> operator*(double k, Quantity<Tag> q) {
  return q * k;
}

struct WattsTag {};
struct JoulesTag {};
struct SecondsTag {};

using Watts = Quantity<WattsTag>;
using Joules = Quantity<JoulesTag>;
using Seconds = Quantity<SecondsTag>;

constexpr Joules operator*(Watts p, Seconds t) { return Joules(p.value() * t.value()); }
constexpr Joules operator*(Seconds t, Watts p) { return p * t; }
constexpr Watts operator/(Joules e, Seconds t) { return Watts(e.value() / t.value()); }

constexpr Joules MicrojoulesToJoules(double uj) { return Joules(uj * 1e-6); }
constexpr Joules MillijoulesToJoules(double mj) { return Joules(mj * 1e-3); }
constexpr Watts MicrowattsToWatts(double uw) { return Watts(uw * 1e-6); }

}  // namespace wattson
