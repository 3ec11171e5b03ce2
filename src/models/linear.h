// Linear family: y = intercept + Σ coef_i · x_i + Σ_k categorical[name_k][value_k]. Used for
// Kepler SGD/linear weights, scikit-learn LinearRegression/SGDRegressor/Ridge, and polynomial
// regression (a polynomial transform followed by this).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/regressor.h"

namespace wattson {

// system feature name -> value -> weight; a value not listed contributes 0.
using CategoricalWeights = std::map<std::string, std::map<std::string, double>>;

class LinearRegressor final : public Regressor {
 public:
  static Result<std::unique_ptr<LinearRegressor>> Create(double intercept, std::vector<double> coef,
                                                         CategoricalWeights categorical = {});
  static Result<std::unique_ptr<LinearRegressor>> FromJson(const Json& j, std::string_view ctx);

  std::string_view family() const override { return "linear"; }
  std::size_t input_size() const override { return coef_.size(); }
  double Predict(std::span<const double> x, const SystemFeatures& system) const override;
  Json ToJson() const override;

  double intercept() const { return intercept_; }
  const std::vector<double>& coef() const { return coef_; }
  const CategoricalWeights& categorical() const { return categorical_; }

 private:
  LinearRegressor(double intercept, std::vector<double> coef, CategoricalWeights categorical)
      : intercept_(intercept), coef_(std::move(coef)), categorical_(std::move(categorical)) {}
  double intercept_;
  std::vector<double> coef_;
  CategoricalWeights categorical_;
};

}  // namespace wattson
