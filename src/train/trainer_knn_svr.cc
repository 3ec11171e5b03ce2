#include "train/trainer_knn_svr.h"

#include <libsvm/svm.h>

#include <cmath>
#include <mutex>

#include "fmt/format.h"
#include "models/knn.h"

namespace wattson {

namespace {

constexpr std::size_t kNeighbours = 6;

void DiscardLibsvmOutput(const char*) {}

// libsvm prints progress to stdout through one process-wide hook; install a silent one once.
void SilenceLibsvm() {
  static std::once_flag once;
  std::call_once(once, [] { svm_set_print_string_function(&DiscardLibsvmOutput); });
}

// Frees a trained libsvm model (its support vectors point into the caller's nodes).
struct SvmModelDeleter {
  void operator()(svm_model* m) const {
    if (m != nullptr) svm_free_and_destroy_model(&m);
  }
};

// KNeighborsRegressor(n_neighbors=6): uniform weights, euclidean distance.
class KNeighborsRegressorTrainer final : public Trainer {
 public:
  std::string_view name() const override { return "KNeighborsRegressorTrainer"; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    WATTSON_RETURN_IF_ERROR(ValidateFitInput(in, name(), kNeighbours));
    DenseRows x = ScaledFeatures(in);
    auto knn = KnnRegressor::Create(x.cols, std::move(x.v), in.y, kNeighbours, KnnWeights::kUniform,
                                    KnnMetric::kEuclidean);
    if (!knn.ok()) return knn.status().WithContext(name());
    WATTSON_ASSIGN_OR_RETURN(auto scaler, MaxAbsFor(in));
    return AssemblePipeline(in, {scaler}, std::shared_ptr<const Regressor>(std::move(knn).value()),
                            name());
  }
};

// SVR(C=1.0, epsilon=0.2) with an RBF kernel and gamma='scale'.
class SvrRegressorTrainer final : public Trainer {
 public:
  std::string_view name() const override { return "SVRRegressorTrainer"; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    WATTSON_RETURN_IF_ERROR(ValidateFitInput(in, name()));
    auto svr = FitSvr(ScaledFeatures(in), in.y, SvrOptions{});
    if (!svr.ok()) return svr.status().WithContext(name());
    WATTSON_ASSIGN_OR_RETURN(auto scaler, MaxAbsFor(in));
    return AssemblePipeline(in, {scaler}, std::shared_ptr<const Regressor>(std::move(svr).value()),
                            name());
  }
};

}  // namespace

double SvrScaleGamma(const DenseRows& x) {
  if (x.v.empty() || x.cols == 0) return 1.0;
  double mean = 0;
  for (double v : x.v) mean += v;
  mean /= static_cast<double>(x.v.size());
  double var = 0;
  for (double v : x.v) var += (v - mean) * (v - mean);
  var /= static_cast<double>(x.v.size());
  if (!(var > 0)) return 1.0;
  return 1.0 / (static_cast<double>(x.cols) * var);
}

Result<std::unique_ptr<SvrRegressor>> FitSvr(const DenseRows& x, const std::vector<double>& y,
                                             const SvrOptions& options) {
  if (x.rows == 0 || x.cols == 0 || y.size() != x.rows) {
    return Status::InvalidArgument("svr: no rows, no features or mismatched target");
  }
  if (x.rows > static_cast<std::size_t>(INT32_MAX) / (x.cols + 1)) {
    return Status::OutOfRange("svr: too many rows");
  }
  SilenceLibsvm();
  const std::size_t d = x.cols;
  std::vector<svm_node> nodes(x.rows * (d + 1));
  std::vector<svm_node*> rows(x.rows);
  for (std::size_t r = 0; r < x.rows; ++r) {
    svm_node* row = &nodes[r * (d + 1)];
    for (std::size_t c = 0; c < d; ++c) {
      row[c].index = static_cast<int>(c + 1);
      row[c].value = x.at(r, c);
    }
    row[d].index = -1;
    row[d].value = 0;
    rows[r] = row;
  }
  std::vector<double> targets = y;
  svm_problem prob{};
  prob.l = static_cast<int>(x.rows);
  prob.y = targets.data();
  prob.x = rows.data();
  svm_parameter param{};
  param.svm_type = EPSILON_SVR;
  param.kernel_type = RBF;
  param.degree = 3;
  param.gamma = options.gamma > 0 ? options.gamma : SvrScaleGamma(x);
  param.coef0 = 0;
  param.cache_size = options.cache_mb;
  param.eps = options.tol;
  param.C = options.c;
  param.nr_weight = 0;
  param.weight_label = nullptr;
  param.weight = nullptr;
  param.nu = 0.5;
  param.p = options.epsilon;
  param.shrinking = options.shrinking ? 1 : 0;
  param.probability = 0;
  if (const char* err = svm_check_parameter(&prob, &param)) {
    return Status::InvalidArgument(fmt::format("svr: libsvm rejects the parameters: {}", err));
  }
  std::unique_ptr<svm_model, SvmModelDeleter> model(svm_train(&prob, &param));
  if (!model) return Status::Internal("svr: libsvm training failed");
  const auto n_sv = static_cast<std::size_t>(std::max(model->l, 0));
  std::vector<double> sv(n_sv * d, 0.0);
  std::vector<double> coef(n_sv);
  for (std::size_t i = 0; i < n_sv; ++i) {
    for (const svm_node* p = model->SV[i]; p->index != -1; ++p) {
      if (p->index >= 1 && static_cast<std::size_t>(p->index) <= d) {
        sv[i * d + static_cast<std::size_t>(p->index - 1)] = p->value;
      }
    }
    coef[i] = model->sv_coef[0][i];
  }
  SvrParams params;
  params.kernel = SvrKernel::kRbf;
  params.gamma = param.gamma;
  params.coef0 = 0;
  params.degree = 3;
  params.intercept = -model->rho[0];
  return SvrRegressor::Create(d, std::move(sv), std::move(coef), params);
}

std::unique_ptr<Trainer> NewKNeighborsRegressorTrainer() {
  return std::make_unique<KNeighborsRegressorTrainer>();
}
std::unique_ptr<Trainer> NewSvrRegressorTrainer() {
  return std::make_unique<SvrRegressorTrainer>();
}

}  // namespace wattson
