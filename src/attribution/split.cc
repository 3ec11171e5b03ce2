#include "attribution/split.h"

#include <cmath>
#include <cstddef>

namespace wattson::attribution {

double CompensatedSum(std::span<const double> values) {
  double sum = 0.0;
  double c = 0.0;
  for (double v : values) {
    const double t = sum + v;
    if (std::fabs(sum) >= std::fabs(v)) {
      c += (sum - t) + v;
    } else {
      c += (v - t) + sum;
    }
    sum = t;
  }
  return sum + c;
}

bool SplitProportionally(double total, std::span<const double> weights, std::span<double> out) {
  for (double& o : out) o = 0.0;
  if (!std::isfinite(total) || total <= 0.0 || weights.size() != out.size()) return false;
  const double w_sum = CompensatedSum(weights);
  if (!std::isfinite(w_sum) || w_sum <= 0.0) return false;
  std::size_t largest = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    out[i] = total * (weights[i] / w_sum);
    if (weights[i] > weights[largest]) largest = i;
  }
  const double remainder = total - CompensatedSum(out);
  out[largest] += remainder;
  if (out[largest] < 0.0) out[largest] = 0.0;
  return true;
}

}  // namespace wattson::attribution
