#include "models/regressor.h"

#include "fmt/format.h"
#include "models/curve_fit.h"
#include "models/knn.h"
#include "models/linear.h"
#include "models/mlp.h"
#include "models/svr.h"
#include "models/tree_ensemble.h"

namespace wattson {

namespace {
template <typename T>
Result<std::unique_ptr<Regressor>> Upcast(Result<std::unique_ptr<T>> r) {
  if (!r.ok()) return r.status();
  return std::unique_ptr<Regressor>(std::move(r).value());
}
}  // namespace

Result<std::unique_ptr<Regressor>> RegressorFromJson(const Json& j, std::string_view ctx) {
  WATTSON_ASSIGN_OR_RETURN(std::string family, GetString(j, "family", ctx));
  if (family == "linear") return Upcast(LinearRegressor::FromJson(j, ctx));
  if (family == "curve_fit") return Upcast(CurveFitRegressor::FromJson(j, ctx));
  if (family == "tree_ensemble") return Upcast(TreeEnsembleRegressor::FromJson(j, ctx));
  if (family == "knn") return Upcast(KnnRegressor::FromJson(j, ctx));
  if (family == "svr") return Upcast(SvrRegressor::FromJson(j, ctx));
  if (family == "mlp") return Upcast(MlpRegressor::FromJson(j, ctx));
  return Status::InvalidArgument(
      fmt::format("{}: unknown family '{}' (linear, curve_fit, tree_ensemble, knn, svr, mlp)",
                  JoinPath(ctx, "family"), family));
}

}  // namespace wattson
