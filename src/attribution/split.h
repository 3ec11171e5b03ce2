// Exact proportional splitting: a total shared over non-negative weights so that the parts add up
// to the total (compensated summation; the rounding remainder goes to the largest part).
#pragma once

#include <span>

namespace wattson::attribution {

// Neumaier-compensated sum of values.
double CompensatedSum(std::span<const double> values);

// Writes total · w_i / Σw into out[i] (out.size() == weights.size()). Returns false and writes
// zeros when Σw is zero or not finite, or when total is not finite and positive; then nothing
// is attributed. Weights must be finite and >= 0 (callers sanitise). Every out[i] >= 0.
bool SplitProportionally(double total, std::span<const double> weights, std::span<double> out);

}  // namespace wattson::attribution
