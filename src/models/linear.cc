#include "models/linear.h"

#include <cmath>

#include "fmt/format.h"

namespace wattson {

namespace {
constexpr std::size_t kMaxLinearInputs = 1u << 20;
}  // namespace

Result<std::unique_ptr<LinearRegressor>> LinearRegressor::Create(double intercept,
                                                                 std::vector<double> coef,
                                                                 CategoricalWeights categorical) {
  if (!std::isfinite(intercept)) return Status::InvalidArgument("linear: intercept is not finite");
  if (coef.size() > kMaxLinearInputs) return Status::OutOfRange("linear: too many coefficients");
  for (std::size_t i = 0; i < coef.size(); ++i) {
    if (!std::isfinite(coef[i])) {
      return Status::InvalidArgument(fmt::format("linear: coef[{}] is not finite", i));
    }
  }
  for (const auto& [name, values] : categorical) {
    for (const auto& [value, w] : values) {
      if (!std::isfinite(w)) {
        return Status::InvalidArgument(
            fmt::format("linear: categorical weight {}={} is not finite", name, value));
      }
    }
  }
  return std::unique_ptr<LinearRegressor>(
      new LinearRegressor(intercept, std::move(coef), std::move(categorical)));
}

double LinearRegressor::Predict(std::span<const double> x, const SystemFeatures& system) const {
  double y = intercept_;
  for (std::size_t i = 0; i < coef_.size(); ++i) y += coef_[i] * x[i];
  for (const auto& [name, values] : categorical_) {
    auto it = system.find(name);
    if (it == system.end()) continue;
    auto w = values.find(it->second);
    if (w != values.end()) y += w->second;
  }
  return y;
}

Json LinearRegressor::ToJson() const {
  Json j{{"family", "linear"}, {"intercept", intercept_}, {"coef", coef_}};
  if (!categorical_.empty()) j["categorical"] = categorical_;
  return j;
}

Result<std::unique_ptr<LinearRegressor>> LinearRegressor::FromJson(const Json& j,
                                                                   std::string_view ctx) {
  WATTSON_ASSIGN_OR_RETURN(double intercept, GetFiniteNumber(j, "intercept", ctx));
  WATTSON_ASSIGN_OR_RETURN(const Json* c, GetField(j, "coef", ctx));
  WATTSON_ASSIGN_OR_RETURN(auto coef,
                           AsFiniteNumberArray(*c, JoinPath(ctx, "coef"), kMaxLinearInputs));
  CategoricalWeights categorical;
  if (const Json* cat = FindField(j, "categorical")) {
    const std::string cctx = JoinPath(ctx, "categorical");
    if (!cat->is_object()) return Status::InvalidArgument(cctx + ": expected an object");
    for (const auto& [name, values] : cat->items()) {
      const std::string nctx = JoinPath(cctx, name);
      if (!values.is_object()) return Status::InvalidArgument(nctx + ": expected an object");
      for (const auto& [value, w] : values.items()) {
        WATTSON_ASSIGN_OR_RETURN(double weight, AsFiniteNumber(w, JoinPath(nctx, value)));
        categorical[name][value] = weight;
      }
    }
  }
  auto r = Create(intercept, std::move(coef), std::move(categorical));
  if (!r.ok()) return r.status().WithContext(ctx);
  return r;
}

}  // namespace wattson
