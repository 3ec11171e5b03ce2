#include "models/archive/sklearn_interpreters.h"

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "models/curve_fit.h"
#include "models/knn.h"
#include "models/linear.h"
#include "models/svr.h"
#include "models/tree_ensemble.h"

namespace wattson::archive {

namespace {

Status Unsupported(std::string_view what, const PyNode& object, std::string_view reason) {
  return Status::InvalidArgument(fmt::format("{}: {}: {}", what, object.ClassName(), reason));
}

// The class's own name (after the last '.'), e.g. "MaxAbsScaler".
std::string_view ShortName(const PyNode& object) {
  const PyNode* cls = object.kind == PyKind::kObject ? object.cls : &object;
  if (cls == nullptr || cls->kind != PyKind::kGlobal) return {};
  return cls->name;
}

Result<const PyNode*> Field(const PyNode& object, std::string_view key, std::string_view what) {
  const PyNode* n = object.Get(key);
  if (n == nullptr) {
    return Unsupported(what, object, fmt::format("no '{}' in its state (not fitted?)", key));
  }
  return n;
}

// A numeric array, list or tuple of numbers, or one number, flattened in C order. Every value
// must be finite.
Result<std::vector<double>> Numbers(const PyNode& object, std::string_view key,
                                    std::string_view what) {
  WATTSON_ASSIGN_OR_RETURN(const PyNode* n, Field(object, key, what));
  std::vector<double> out;
  if (n->kind == PyKind::kArray) {
    auto values = n->array->ToDoubles();
    if (!values.ok()) return values.status().WithContext(fmt::format("{}: {}", what, key));
    out = std::move(values).value();
  } else if (n->kind == PyKind::kList || n->kind == PyKind::kTuple) {
    for (const PyNode* item : n->items) {
      auto v = item->AsDouble();
      if (!v.ok()) return v.status().WithContext(fmt::format("{}: {}", what, key));
      out.push_back(*v);
    }
  } else {
    auto v = n->AsDouble();
    if (!v.ok()) return v.status().WithContext(fmt::format("{}: {}", what, key));
    out.push_back(*v);
  }
  for (double v : out) {
    if (!std::isfinite(v)) {
      return Unsupported(what, object, fmt::format("'{}' holds a non-finite value", key));
    }
  }
  return out;
}

Result<double> Number(const PyNode& object, std::string_view key, std::string_view what) {
  WATTSON_ASSIGN_OR_RETURN(auto values, Numbers(object, key, what));
  if (values.size() != 1) {
    return Unsupported(
        what, object, fmt::format("'{}' has {} values where one was expected", key, values.size()));
  }
  return values[0];
}

Result<int64_t> Integer(const PyNode& object, std::string_view key, std::string_view what) {
  WATTSON_ASSIGN_OR_RETURN(const PyNode* n, Field(object, key, what));
  auto v = n->AsInt();
  if (!v.ok()) return v.status().WithContext(fmt::format("{}: {}", what, key));
  return *v;
}

Result<std::string> Text(const PyNode& object, std::string_view key, std::string_view what) {
  WATTSON_ASSIGN_OR_RETURN(const PyNode* n, Field(object, key, what));
  auto v = n->AsStr();
  if (!v.ok()) return v.status().WithContext(fmt::format("{}: {}", what, key));
  return *v;
}

// An array's shape, or an error if `key` is not an array.
Result<std::vector<size_t>> Shape(const PyNode& object, std::string_view key,
                                  std::string_view what) {
  WATTSON_ASSIGN_OR_RETURN(const PyNode* n, Field(object, key, what));
  if (n->kind != PyKind::kArray) {
    return Unsupported(what, object,
                       fmt::format("'{}' is a {}, not an array", key, KindName(n->kind)));
  }
  return n->array->shape;
}

// Fitted estimators record how many columns they were fitted on; it must match the pipeline.
Status CheckFeatureCount(const PyNode& object, std::size_t input_size, std::string_view what) {
  const PyNode* n = object.Get("n_features_in_");
  if (n == nullptr) return Status::Ok();
  auto v = n->AsInt();
  if (!v.ok()) return v.status().WithContext(fmt::format("{}: n_features_in_", what));
  if (*v < 0 || static_cast<std::size_t>(*v) != input_size) {
    return Unsupported(
        what, object,
        fmt::format("fitted on {} features, but the pipeline gives it {}", *v, input_size));
  }
  return Status::Ok();
}

Status CheckSize(const PyNode& object, std::string_view key, std::size_t got, std::size_t want,
                 std::string_view what) {
  if (got == want) return Status::Ok();
  return Unsupported(what, object, fmt::format("'{}' has {} values, expected {}", key, got, want));
}

// --- transforms --------------------------------------------------------------------------------

Result<std::unique_ptr<Transform>> MaxAbsFromPickle(const PyNode& o, std::size_t n,
                                                    std::string_view what) {
  WATTSON_RETURN_IF_ERROR(CheckFeatureCount(o, n, what));
  WATTSON_ASSIGN_OR_RETURN(auto scale, Numbers(o, "scale_", what));
  WATTSON_RETURN_IF_ERROR(CheckSize(o, "scale_", scale.size(), n, what));
  auto t = MaxAbsTransform::Create(std::move(scale));
  if (!t.ok()) return t.status().WithContext(std::string(what));
  return std::unique_ptr<Transform>(std::move(t).value());
}

Result<std::unique_ptr<Transform>> PolynomialFromPickle(const PyNode& o, std::size_t n,
                                                        std::string_view what) {
  WATTSON_RETURN_IF_ERROR(CheckFeatureCount(o, n, what));
  if (const PyNode* io = o.Get("interaction_only");
      io != nullptr && io->kind == PyKind::kBool && io->boolean) {
    return Unsupported(what, o, "interaction_only=True is not supported");
  }
  WATTSON_ASSIGN_OR_RETURN(const PyNode* bias, Field(o, "include_bias", what));
  if (bias->kind != PyKind::kBool) return Unsupported(what, o, "include_bias is not a bool");
  // scikit-learn >= 1.0 keeps the degree range it was given in _min_degree/_max_degree.
  int64_t min_degree = 0;
  int64_t max_degree = 0;
  if (o.Get("_max_degree") != nullptr) {
    WATTSON_ASSIGN_OR_RETURN(min_degree, Integer(o, "_min_degree", what));
    WATTSON_ASSIGN_OR_RETURN(max_degree, Integer(o, "_max_degree", what));
  } else {
    WATTSON_ASSIGN_OR_RETURN(max_degree, Integer(o, "degree", what));
  }
  if (min_degree > 1) {
    return Unsupported(what, o, fmt::format("a minimum degree of {} is not supported", min_degree));
  }
  if (max_degree < 1 || max_degree > 3) {
    return Unsupported(what, o, fmt::format("degree {} is not in 1..3", max_degree));
  }
  auto t = PolynomialTransform::Create(n, static_cast<int>(max_degree), bias->boolean);
  if (!t.ok()) return t.status().WithContext(std::string(what));
  if (const PyNode* out = o.Get("n_output_features_"); out != nullptr) {
    auto v = out->AsInt();
    if (!v.ok() || *v < 0 || static_cast<std::size_t>(*v) != (*t)->output_size()) {
      return Unsupported(what, o,
                         fmt::format("n_output_features_ does not match degree {} over {} inputs "
                                     "({} terms)",
                                     max_degree, n, (*t)->output_size()));
    }
  }
  return std::unique_ptr<Transform>(std::move(t).value());
}

// --- regressors --------------------------------------------------------------------------------

Result<std::unique_ptr<Regressor>> LinearFromPickle(const PyNode& o, std::size_t n,
                                                    std::string_view what) {
  WATTSON_RETURN_IF_ERROR(CheckFeatureCount(o, n, what));
  WATTSON_ASSIGN_OR_RETURN(auto coef, Numbers(o, "coef_", what));
  WATTSON_RETURN_IF_ERROR(CheckSize(o, "coef_", coef.size(), n, what));
  WATTSON_ASSIGN_OR_RETURN(double intercept, Number(o, "intercept_", what));
  auto r = LinearRegressor::Create(intercept, std::move(coef));
  if (!r.ok()) return r.status().WithContext(std::string(what));
  return std::unique_ptr<Regressor>(std::move(r).value());
}

// One scikit-learn Tree (sklearn.tree._tree.Tree): node records and values.
Result<RegressionTree> TreeFromPickle(const PyNode& estimator, std::string_view what) {
  WATTSON_ASSIGN_OR_RETURN(const PyNode* tree, Field(estimator, "tree_", what));
  if (ShortName(*tree) != "Tree") {
    return Unsupported(what, estimator, fmt::format("tree_ is a {}", tree->ClassName()));
  }
  WATTSON_ASSIGN_OR_RETURN(const PyNode* nodes, Field(*tree, "nodes", what));
  WATTSON_ASSIGN_OR_RETURN(int64_t count, Integer(*tree, "node_count", what));
  if (nodes->kind != PyKind::kArray || nodes->array->dtype.kind != 'V') {
    return Unsupported(what, *tree, "'nodes' is not a structured array");
  }
  const PyArray& a = *nodes->array;
  if (count < 1 || static_cast<std::size_t>(count) != a.size()) {
    return Unsupported(what, *tree,
                       fmt::format("node_count {} but {} node records", count, a.size()));
  }
  WATTSON_ASSIGN_OR_RETURN(auto values, Numbers(*tree, "values", what));
  if (values.size() != a.size()) {
    return Unsupported(what, *tree,
                       fmt::format("{} values for {} nodes (only single-output regression trees "
                                   "are supported)",
                                   values.size(), a.size()));
  }
  auto left = a.FieldToInts("left_child");
  auto right = a.FieldToInts("right_child");
  auto feature = a.FieldToInts("feature");
  auto threshold = a.FieldToDoubles("threshold");
  for (const Status& s : {left.status(), right.status(), feature.status(), threshold.status()}) {
    if (!s.ok()) return s.WithContext(fmt::format("{}: tree nodes", what));
  }
  RegressionTree t;
  const std::size_t size = a.size();
  t.left.resize(size);
  t.right.resize(size);
  t.feature.resize(size);
  t.threshold = std::move(threshold).value();
  t.value = std::move(values);
  std::vector<int64_t> missing_left;
  if (a.HasField("missing_go_to_left")) {
    auto m = a.FieldToInts("missing_go_to_left");
    if (!m.ok()) return m.status().WithContext(fmt::format("{}: tree nodes", what));
    missing_left = std::move(m).value();
    t.default_left.resize(size);
  }
  for (std::size_t i = 0; i < size; ++i) {
    const int64_t l = (*left)[i];
    const int64_t r = (*right)[i];
    const int64_t f = (*feature)[i];
    // scikit-learn marks a leaf with children -1 and feature -2; anything else must be an index.
    const bool leaf = l == -1 && r == -1;
    if (!leaf && (l < 0 || r < 0 || l >= count || r >= count || f < 0 || f > INT32_MAX)) {
      return Unsupported(what, *tree,
                         fmt::format("node {} has children ({}, {}) and feature {}", i, l, r, f));
    }
    t.left[i] = static_cast<std::int32_t>(l);
    t.right[i] = static_cast<std::int32_t>(r);
    t.feature[i] = leaf ? 0 : static_cast<std::int32_t>(f);
    if (leaf) t.threshold[i] = 0;  // scikit-learn stores -2 for leaves
    if (!missing_left.empty()) t.default_left[i] = missing_left[i] != 0 ? 1 : 0;
  }
  return t;
}

Result<std::unique_ptr<Regressor>> GradientBoostingFromPickle(const PyNode& o, std::size_t n,
                                                              std::string_view what) {
  WATTSON_RETURN_IF_ERROR(CheckFeatureCount(o, n, what));
  TreeEnsembleParams params;
  params.split = SplitRule::kLessEqual;
  params.accumulation = Accumulation::kFloat64;
  WATTSON_ASSIGN_OR_RETURN(params.learning_rate, Number(o, "learning_rate", what));
  WATTSON_ASSIGN_OR_RETURN(const PyNode* init, Field(o, "init_", what));
  if (init->kind == PyKind::kStr && init->str == "zero") {
    params.base_score = 0;
  } else if (ShortName(*init) == "DummyRegressor") {
    WATTSON_ASSIGN_OR_RETURN(params.base_score, Number(*init, "constant_", what));
  } else {
    return Unsupported(
        what, o,
        fmt::format(
            "initial estimator {} is not supported (DummyRegressor or "
            "'zero')",
            init->kind == PyKind::kObject ? init->ClassName() : std::string(KindName(init->kind))));
  }
  WATTSON_ASSIGN_OR_RETURN(const PyNode* est, Field(o, "estimators_", what));
  if (est->kind != PyKind::kArray || est->array->dtype.kind != 'O') {
    return Unsupported(what, o, "estimators_ is not an object array");
  }
  const std::vector<size_t>& shape = est->array->shape;
  if (shape.size() != 2 || shape[1] != 1) {
    return Unsupported(what, o,
                       "estimators_ is not (n_estimators, 1): only single-output "
                       "regression is supported");
  }
  std::vector<RegressionTree> trees;
  trees.reserve(est->array->objects.size());
  for (std::size_t i = 0; i < est->array->objects.size(); ++i) {
    const PyNode* dt = est->array->objects[i];
    if (dt == nullptr || ShortName(*dt) != "DecisionTreeRegressor") {
      return Unsupported(what, o, fmt::format("estimators_[{}] is not a DecisionTreeRegressor", i));
    }
    auto tree = TreeFromPickle(*dt, fmt::format("{}: estimators_[{}]", what, i));
    if (!tree.ok()) return tree.status();
    trees.push_back(std::move(tree).value());
  }
  auto r = TreeEnsembleRegressor::Create(n, params, std::move(trees));
  if (!r.ok()) return r.status().WithContext(std::string(what));
  return std::unique_ptr<Regressor>(std::move(r).value());
}

Result<std::unique_ptr<Regressor>> KnnFromPickle(const PyNode& o, std::size_t n,
                                                 std::string_view what) {
  WATTSON_RETURN_IF_ERROR(CheckFeatureCount(o, n, what));
  WATTSON_ASSIGN_OR_RETURN(auto shape, Shape(o, "_fit_X", what));
  if (shape.size() != 2 || shape[1] != n || shape[0] == 0) {
    return Unsupported(what, o, fmt::format("_fit_X is not (rows, {})", n));
  }
  WATTSON_ASSIGN_OR_RETURN(auto points, Numbers(o, "_fit_X", what));
  WATTSON_ASSIGN_OR_RETURN(auto targets, Numbers(o, "_y", what));
  WATTSON_RETURN_IF_ERROR(CheckSize(o, "_y", targets.size(), shape[0], what));
  WATTSON_ASSIGN_OR_RETURN(int64_t k, Integer(o, "n_neighbors", what));
  if (k < 1 || static_cast<std::size_t>(k) > shape[0]) {
    return Unsupported(what, o, fmt::format("n_neighbors {} with {} stored rows", k, shape[0]));
  }
  KnnWeights weights;
  WATTSON_ASSIGN_OR_RETURN(std::string w, Text(o, "weights", what));
  if (w == "uniform") {
    weights = KnnWeights::kUniform;
  } else if (w == "distance") {
    weights = KnnWeights::kDistance;
  } else {
    return Unsupported(what, o, fmt::format("weights '{}' is not supported", w));
  }
  // effective_metric_ is "euclidean", "manhattan" or "minkowski" with p in
  // effective_metric_params_.
  WATTSON_ASSIGN_OR_RETURN(std::string metric_name, Text(o, "effective_metric_", what));
  double p = metric_name == "euclidean" ? 2 : metric_name == "manhattan" ? 1 : 0;
  if (metric_name == "minkowski") {
    const PyNode* params = o.Get("effective_metric_params_");
    const PyNode* pn = params != nullptr ? params->Get("p") : nullptr;
    if (pn == nullptr) pn = o.Get("p");
    if (pn != nullptr) {
      auto v = pn->AsDouble();
      if (v.ok()) p = *v;
    }
  }
  KnnMetric metric;
  if (p == 2) {
    metric = KnnMetric::kEuclidean;
  } else if (p == 1) {
    metric = KnnMetric::kManhattan;
  } else {
    return Unsupported(
        what, o,
        fmt::format("metric '{}' (p={}) is not supported (euclidean, manhattan)", metric_name, p));
  }
  auto r = KnnRegressor::Create(n, std::move(points), std::move(targets),
                                static_cast<std::size_t>(k), weights, metric);
  if (!r.ok()) return r.status().WithContext(std::string(what));
  return std::unique_ptr<Regressor>(std::move(r).value());
}

Result<std::unique_ptr<Regressor>> SvrFromPickle(const PyNode& o, std::size_t n,
                                                 std::string_view what) {
  WATTSON_RETURN_IF_ERROR(CheckFeatureCount(o, n, what));
  if (const PyNode* sparse = o.Get("_sparse");
      sparse != nullptr && sparse->kind == PyKind::kBool && sparse->boolean) {
    return Unsupported(what, o, "a model fitted on sparse input is not supported");
  }
  WATTSON_ASSIGN_OR_RETURN(auto shape, Shape(o, "support_vectors_", what));
  if (shape.size() != 2 || (shape[1] != n && shape[0] != 0)) {
    return Unsupported(what, o, fmt::format("support_vectors_ is not (count, {})", n));
  }
  WATTSON_ASSIGN_OR_RETURN(auto vectors, Numbers(o, "support_vectors_", what));
  WATTSON_ASSIGN_OR_RETURN(auto dual, Numbers(o, "_dual_coef_", what));
  WATTSON_RETURN_IF_ERROR(CheckSize(o, "_dual_coef_", dual.size(), shape[0], what));
  SvrParams params;
  WATTSON_ASSIGN_OR_RETURN(params.intercept, Number(o, "_intercept_", what));
  if (shape[0] == 0) {
    // Fitted on a constant target (e.g. a component that always read 0 W): no support vectors,
    // and the prediction is the intercept alone, which the linear family states exactly.
    auto r = LinearRegressor::Create(params.intercept, std::vector<double>(n, 0.0));
    if (!r.ok()) return r.status().WithContext(std::string(what));
    return std::unique_ptr<Regressor>(std::move(r).value());
  }
  WATTSON_ASSIGN_OR_RETURN(std::string kernel, Text(o, "kernel", what));
  if (kernel == "rbf") {
    params.kernel = SvrKernel::kRbf;
  } else if (kernel == "linear") {
    params.kernel = SvrKernel::kLinear;
  } else if (kernel == "poly") {
    params.kernel = SvrKernel::kPoly;
  } else if (kernel == "sigmoid") {
    params.kernel = SvrKernel::kSigmoid;
  } else {
    return Unsupported(what, o, fmt::format("kernel '{}' is not supported", kernel));
  }
  if (params.kernel != SvrKernel::kLinear) {
    WATTSON_ASSIGN_OR_RETURN(params.gamma, Number(o, "_gamma", what));
  }
  if (params.kernel == SvrKernel::kPoly || params.kernel == SvrKernel::kSigmoid) {
    WATTSON_ASSIGN_OR_RETURN(params.coef0, Number(o, "coef0", what));
  }
  if (params.kernel == SvrKernel::kPoly) {
    WATTSON_ASSIGN_OR_RETURN(int64_t degree, Integer(o, "degree", what));
    if (degree < 0 || degree > 100) {
      return Unsupported(what, o, fmt::format("degree {} is out of range", degree));
    }
    params.degree = static_cast<int>(degree);
  }
  auto r = SvrRegressor::Create(n, std::move(vectors), std::move(dual), params);
  if (!r.ok()) return r.status().WithContext(std::string(what));
  return std::unique_ptr<Regressor>(std::move(r).value());
}

// kepler_model's CurveFitModel: fit_func (a module-level function, by name), popt and
// feature_index (None until fitted).
Result<std::unique_ptr<Regressor>> CurveFitFromPickle(const PyNode& o, std::size_t n,
                                                      std::string_view what) {
  WATTSON_ASSIGN_OR_RETURN(const PyNode* func, Field(o, "fit_func", what));
  if (func->kind != PyKind::kGlobal) return Unsupported(what, o, "fit_func is not a function");
  CurveKind kind;
  if (func->name == "log_func") {
    kind = CurveKind::kLogarithmic;
  } else if (func->name == "expo_func") {
    kind = CurveKind::kExponential;
  } else if (func->name == "logi_func") {
    kind = CurveKind::kLogistic;
  } else {
    return Unsupported(what, o,
                       fmt::format("fit_func '{}' is not one of kepler_model's curves "
                                   "(log_func, expo_func, logi_func)",
                                   func->name));
  }
  WATTSON_ASSIGN_OR_RETURN(const PyNode* popt, Field(o, "popt", what));
  WATTSON_ASSIGN_OR_RETURN(const PyNode* index, Field(o, "feature_index", what));
  if (popt->kind == PyKind::kNone || index->kind == PyKind::kNone) {
    return Unsupported(what, o,
                       "the curve was never fitted (popt or feature_index is None; "
                       "kepler_model would raise NotFittedError)");
  }
  WATTSON_ASSIGN_OR_RETURN(auto params, Numbers(o, "popt", what));
  WATTSON_RETURN_IF_ERROR(CheckSize(o, "popt", params.size(), CurveParamCount(kind), what));
  WATTSON_ASSIGN_OR_RETURN(int64_t feature, Integer(o, "feature_index", what));
  if (feature < 0 || static_cast<std::size_t>(feature) >= n) {
    return Unsupported(what, o, fmt::format("feature_index {} with {} features", feature, n));
  }
  auto r = CurveFitRegressor::Create(kind, std::move(params), n, static_cast<std::size_t>(feature));
  if (!r.ok()) return r.status().WithContext(std::string(what));
  return std::unique_ptr<Regressor>(std::move(r).value());
}

}  // namespace

Result<std::unique_ptr<Transform>> TransformFromPickle(const PyNode& object, std::size_t input_size,
                                                       std::string_view what) {
  if (object.kind != PyKind::kObject) {
    return Status::InvalidArgument(fmt::format("{}: a {} where a fitted transformer was expected",
                                               what, KindName(object.kind)));
  }
  const std::string_view name = ShortName(object);
  if (name == "MaxAbsScaler") return MaxAbsFromPickle(object, input_size, what);
  if (name == "PolynomialFeatures") return PolynomialFromPickle(object, input_size, what);
  return Status::InvalidArgument(fmt::format(
      "{}: {} is not a transformer wattson interprets (MaxAbsScaler, PolynomialFeatures)", what,
      object.ClassName()));
}

Result<std::unique_ptr<Regressor>> RegressorFromPickle(const PyNode& object, std::size_t input_size,
                                                       std::string_view what) {
  if (object.kind != PyKind::kObject) {
    return Status::InvalidArgument(
        fmt::format("{}: a {} where a fitted estimator was expected", what, KindName(object.kind)));
  }
  const std::string_view name = ShortName(object);
  if (name == "LinearRegression" || name == "SGDRegressor") {
    return LinearFromPickle(object, input_size, what);
  }
  if (name == "GradientBoostingRegressor") {
    return GradientBoostingFromPickle(object, input_size, what);
  }
  if (name == "KNeighborsRegressor") return KnnFromPickle(object, input_size, what);
  if (name == "SVR") return SvrFromPickle(object, input_size, what);
  if (name == "CurveFitModel") return CurveFitFromPickle(object, input_size, what);
  return Status::InvalidArgument(fmt::format(
      "{}: {} is not an estimator wattson interprets (LinearRegression, SGDRegressor, "
      "GradientBoostingRegressor, KNeighborsRegressor, SVR, kepler_model CurveFitModel)",
      what, object.ClassName()));
}

}  // namespace wattson::archive
