// Regressor: one fitted function from a dense feature vector (already transformed) to watts for a
// single component. Implementations are immutable after construction, so Predict is thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include "common/json_util.h"
#include "common/status.h"
#include "models/types.h"

namespace wattson {

class Regressor {
 public:
  virtual ~Regressor() = default;
  // The family name used in the wattson model format: "linear", "curve_fit", "tree_ensemble",
  // "knn", "svr", "mlp".
  virtual std::string_view family() const = 0;
  virtual std::size_t input_size() const = 0;
  // x.size() == input_size(). May return any double; the caller clamps and checks.
  virtual double Predict(std::span<const double> x, const SystemFeatures& system) const = 0;
  // Predicts `out.size()` rows stored one after another in x (x.size() == rows × input_size()).
  // Same results as Predict row by row; families override it where a batch is faster.
  virtual void PredictBatch(std::span<const double> x, const SystemFeatures& system,
                            std::span<double> out) const {
    const std::size_t n = input_size();
    for (std::size_t r = 0; r < out.size(); ++r) out[r] = Predict(x.subspan(r * n, n), system);
  }
  // The regressor's section of the wattson model format (includes "family").
  virtual Json ToJson() const = 0;
};

// Builds any regressor from its wattson-format JSON (dispatch on "family"). ctx names the JSON
// location in errors.
Result<std::unique_ptr<Regressor>> RegressorFromJson(const Json& j, std::string_view ctx);

}  // namespace wattson
