// Curve-fit family (Kepler's Logarithmic/Exponential/Logistic trainers): a one-variable function
// of the input at feature_index, with parameters in Kepler's CurveFit_Weights order:
//   logarithmic  y = a·ln(b·x + 1) + c          params [a, b, c]
//   exponential  y = a·exp(b·x) + c             params [a, b, c]
//   logistic     y = A / (1 + exp(-k·(x - x0))) + off   params [A, x0, k, off]
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "models/regressor.h"

namespace wattson {

enum class CurveKind { kLogarithmic, kExponential, kLogistic };
std::string_view CurveKindName(CurveKind k);
Result<CurveKind> ParseCurveKind(std::string_view name);
std::size_t CurveParamCount(CurveKind k);

class CurveFitRegressor final : public Regressor {
 public:
  static Result<std::unique_ptr<CurveFitRegressor>> Create(CurveKind kind,
                                                           std::vector<double> params,
                                                           std::size_t input_size,
                                                           std::size_t feature_index);
  static Result<std::unique_ptr<CurveFitRegressor>> FromJson(const Json& j, std::string_view ctx);

  std::string_view family() const override { return "curve_fit"; }
  std::size_t input_size() const override { return input_size_; }
  double Predict(std::span<const double> x, const SystemFeatures& system) const override;
  Json ToJson() const override;

  CurveKind kind() const { return kind_; }
  const std::vector<double>& params() const { return params_; }
  std::size_t feature_index() const { return feature_index_; }
  // The one-variable function itself.
  static double Evaluate(CurveKind kind, const std::vector<double>& params, double x);

 private:
  CurveFitRegressor(CurveKind kind, std::vector<double> params, std::size_t input_size,
                    std::size_t feature_index)
      : kind_(kind),
        params_(std::move(params)),
        input_size_(input_size),
        feature_index_(feature_index) {}
  CurveKind kind_;
  std::vector<double> params_;
  std::size_t input_size_;
  std::size_t feature_index_;
};

}  // namespace wattson
