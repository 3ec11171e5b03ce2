#include "train/trainer_xgboost.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <limits>
#include <string_view>

#include "common/json_util.h"
#include "fmt/format.h"

namespace wattson {

namespace {

Status XgbError(std::string_view call) {
  const char* msg = XGBGetLastError();
  return Status::Internal(fmt::format("xgboost {} failed: {}", call, msg ? msg : "unknown error"));
}

// Owns a DMatrixHandle.
class DMatrix {
 public:
  DMatrix() = default;
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  ~DMatrix() {
    if (h_ != nullptr) XGDMatrixFree(h_);
  }
  DMatrixHandle* out() { return &h_; }
  DMatrixHandle get() const { return h_; }

 private:
  DMatrixHandle h_ = nullptr;
};

// Owns a BoosterHandle.
class Booster {
 public:
  Booster() = default;
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;
  ~Booster() {
    if (h_ != nullptr) XGBoosterFree(h_);
  }
  BoosterHandle* out() { return &h_; }
  BoosterHandle get() const { return h_; }

 private:
  BoosterHandle h_ = nullptr;
};

std::string Num(double v) { return fmt::format("{}", v); }

// XGBRegressor(n_estimators=100, learning_rate=0.1), as Kepler trains it.
class XgboostFitTrainer final : public Trainer {
 public:
  std::string_view name() const override { return "XgboostFitTrainer"; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    WATTSON_RETURN_IF_ERROR(ValidateFitInput(in, name()));
    auto ens = FitXgboost(ScaledFeatures(in), in.y, XgboostOptions{}, in.seed);
    if (!ens.ok()) return ens.status().WithContext(name());
    WATTSON_ASSIGN_OR_RETURN(auto scaler, MaxAbsFor(in));
    return AssemblePipeline(in, {scaler}, std::shared_ptr<const Regressor>(std::move(ens).value()),
                            name());
  }
};

}  // namespace

Result<std::unique_ptr<TreeEnsembleRegressor>> FitXgboost(const DenseRows& x,
                                                          const std::vector<double>& y,
                                                          const XgboostOptions& options,
                                                          std::uint64_t seed,
                                                          std::vector<float>* train_predictions) {
  if (x.rows == 0 || x.cols == 0 || y.size() != x.rows) {
    return Status::InvalidArgument("xgboost: no rows, no features or mismatched target");
  }
  if (options.rounds < 1 || options.rounds > 100000) {
    return Status::InvalidArgument("xgboost: rounds must be in 1..100000");
  }
  if (!options.monotone.empty() && options.monotone.size() != x.cols) {
    return Status::InvalidArgument(fmt::format("xgboost: {} monotone constraints for {} features",
                                               options.monotone.size(), x.cols));
  }
  std::vector<float> xf(x.v.size());
  for (std::size_t i = 0; i < x.v.size(); ++i) xf[i] = static_cast<float>(x.v[i]);
  std::vector<float> yf(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) yf[i] = static_cast<float>(y[i]);

  DMatrix dtrain;
  if (XGDMatrixCreateFromMat(xf.data(), x.rows, x.cols, std::numeric_limits<float>::quiet_NaN(),
                             dtrain.out()) != 0) {
    return XgbError("XGDMatrixCreateFromMat");
  }
  if (XGDMatrixSetFloatInfo(dtrain.get(), "label", yf.data(), yf.size()) != 0) {
    return XgbError("XGDMatrixSetFloatInfo");
  }
  Booster booster;
  DMatrixHandle mats[] = {dtrain.get()};
  if (XGBoosterCreate(mats, 1, booster.out()) != 0) return XgbError("XGBoosterCreate");

  std::vector<std::pair<std::string, std::string>> params = {
      {"verbosity", "0"},
      {"nthread", "1"},
      {"objective", options.objective},
      {"eta", Num(options.eta)},
      {"max_depth", fmt::format("{}", options.max_depth)},
      {"min_child_weight", Num(options.min_child_weight)},
      {"lambda", Num(options.lambda)},
      {"alpha", Num(options.alpha)},
      {"gamma", Num(options.gamma)},
      {"subsample", Num(options.subsample)},
      {"colsample_bytree", Num(options.colsample_bytree)},
      // XGBoost's seed is a 32-bit integer; fold the 64-bit seed into it.
      {"seed", fmt::format("{}", static_cast<std::uint32_t>(seed ^ (seed >> 32)))},
  };
  if (!options.tree_method.empty()) params.emplace_back("tree_method", options.tree_method);
  if (options.base_score) params.emplace_back("base_score", Num(*options.base_score));
  if (!options.monotone.empty()) {
    std::string m = "(";
    for (std::size_t i = 0; i < options.monotone.size(); ++i) {
      if (i) m += ",";
      m += fmt::format("{}", options.monotone[i]);
    }
    m += ")";
    params.emplace_back("monotone_constraints", m);
  }
  for (const auto& [k, v] : params) {
    if (XGBoosterSetParam(booster.get(), k.c_str(), v.c_str()) != 0) {
      return XgbError(fmt::format("XGBoosterSetParam({}={})", k, v));
    }
  }
  for (int it = 0; it < options.rounds; ++it) {
    if (XGBoosterUpdateOneIter(booster.get(), it, dtrain.get()) != 0) {
      return XgbError("XGBoosterUpdateOneIter");
    }
  }
  bst_ulong len = 0;
  const char* buf = nullptr;
  if (XGBoosterSaveModelToBuffer(booster.get(), R"({"format": "json"})", &len, &buf) != 0) {
    return XgbError("XGBoosterSaveModelToBuffer");
  }
  // The buffer belongs to the booster; parse it before the booster goes away.
  WATTSON_ASSIGN_OR_RETURN(Json model, ParseJson(std::string_view(buf, len), "xgboost model"));
  std::size_t num_features = 0;
  WATTSON_ASSIGN_OR_RETURN(auto ens,
                           TreeEnsembleFromXgboostJson(model, "xgboost model", &num_features));
  if (num_features != x.cols) {
    return Status::Internal(
        fmt::format("xgboost model has {} features, expected {}", num_features, x.cols));
  }
  if (train_predictions != nullptr) {
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* out = nullptr;
    if (XGBoosterPredictFromDMatrix(
            booster.get(), dtrain.get(),
            R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})",
            &shape, &dim, &out) != 0) {
      return XgbError("XGBoosterPredictFromDMatrix");
    }
    train_predictions->assign(out, out + x.rows);
  }
  return ens;
}

std::unique_ptr<Trainer> NewXgboostFitTrainer() { return std::make_unique<XgboostFitTrainer>(); }

}  // namespace wattson
