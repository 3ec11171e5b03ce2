#include "models/curve_fit.h"

#include <cmath>

#include "fmt/format.h"

namespace wattson {

std::string_view CurveKindName(CurveKind k) {
  switch (k) {
    case CurveKind::kLogarithmic:
      return "logarithmic";
    case CurveKind::kExponential:
      return "exponential";
    case CurveKind::kLogistic:
      return "logistic";
  }
  return "unknown";
}

Result<CurveKind> ParseCurveKind(std::string_view name) {
  for (CurveKind k : {CurveKind::kLogarithmic, CurveKind::kExponential, CurveKind::kLogistic}) {
    if (CurveKindName(k) == name) return k;
  }
  return Status::InvalidArgument(
      fmt::format("unknown curve '{}' (logarithmic, exponential, logistic)", name));
}

std::size_t CurveParamCount(CurveKind k) { return k == CurveKind::kLogistic ? 4 : 3; }

Result<std::unique_ptr<CurveFitRegressor>> CurveFitRegressor::Create(CurveKind kind,
                                                                     std::vector<double> params,
                                                                     std::size_t input_size,
                                                                     std::size_t feature_index) {
  if (params.size() != CurveParamCount(kind)) {
    return Status::InvalidArgument(fmt::format("curve_fit {}: {} parameters, expected {}",
                                               CurveKindName(kind), params.size(),
                                               CurveParamCount(kind)));
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!std::isfinite(params[i])) {
      return Status::InvalidArgument(fmt::format("curve_fit: parameter {} is not finite", i));
    }
  }
  if (feature_index >= input_size) {
    return Status::InvalidArgument(fmt::format(
        "curve_fit: feature index {} is outside the {} inputs", feature_index, input_size));
  }
  return std::unique_ptr<CurveFitRegressor>(
      new CurveFitRegressor(kind, std::move(params), input_size, feature_index));
}

double CurveFitRegressor::Evaluate(CurveKind kind, const std::vector<double>& p, double x) {
  switch (kind) {
    case CurveKind::kLogarithmic:
      return p[0] * std::log(p[1] * x + 1.0) + p[2];
    case CurveKind::kExponential:
      return p[0] * std::exp(p[1] * x) + p[2];
    case CurveKind::kLogistic:
      return p[0] / (1.0 + std::exp(-p[2] * (x - p[1]))) + p[3];
  }
  return 0.0;
}

double CurveFitRegressor::Predict(std::span<const double> x, const SystemFeatures&) const {
  return Evaluate(kind_, params_, x[feature_index_]);
}

Json CurveFitRegressor::ToJson() const {
  return Json{{"family", "curve_fit"},
              {"curve", CurveKindName(kind_)},
              {"params", params_},
              {"input_size", input_size_},
              {"feature_index", feature_index_}};
}

Result<std::unique_ptr<CurveFitRegressor>> CurveFitRegressor::FromJson(const Json& j,
                                                                       std::string_view ctx) {
  WATTSON_ASSIGN_OR_RETURN(std::string curve, GetString(j, "curve", ctx));
  auto kind = ParseCurveKind(curve);
  if (!kind.ok()) return kind.status().WithContext(JoinPath(ctx, "curve"));
  WATTSON_ASSIGN_OR_RETURN(const Json* p, GetField(j, "params", ctx));
  WATTSON_ASSIGN_OR_RETURN(auto params, AsFiniteNumberArray(*p, JoinPath(ctx, "params"), 8));
  WATTSON_ASSIGN_OR_RETURN(const Json* n, GetField(j, "input_size", ctx));
  WATTSON_ASSIGN_OR_RETURN(long long input_size,
                           AsInteger(*n, JoinPath(ctx, "input_size"), 1, 1 << 20));
  WATTSON_ASSIGN_OR_RETURN(const Json* f, GetField(j, "feature_index", ctx));
  WATTSON_ASSIGN_OR_RETURN(long long index,
                           AsInteger(*f, JoinPath(ctx, "feature_index"), 0, 1 << 20));
  auto r = Create(*kind, std::move(params), static_cast<std::size_t>(input_size),
                  static_cast<std::size_t>(index));
  if (!r.ok()) return r.status().WithContext(ctx);
  return r;
}

}  // namespace wattson
