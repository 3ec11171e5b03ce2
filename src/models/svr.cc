#include "models/svr.h"

#include <libsvm/svm.h>

#include <cmath>

#include "fmt/format.h"

namespace wattson {

namespace {

constexpr std::size_t kMaxValues = 1u << 26;

std::string_view KernelName(SvrKernel k) {
  switch (k) {
    case SvrKernel::kRbf:
      return "rbf";
    case SvrKernel::kLinear:
      return "linear";
    case SvrKernel::kPoly:
      return "poly";
    case SvrKernel::kSigmoid:
      return "sigmoid";
  }
  return "rbf";
}

int LibsvmKernel(SvrKernel k) {
  switch (k) {
    case SvrKernel::kRbf:
      return RBF;
    case SvrKernel::kLinear:
      return LINEAR;
    case SvrKernel::kPoly:
      return POLY;
    case SvrKernel::kSigmoid:
      return SIGMOID;
  }
  return RBF;
}

}  // namespace

// A libsvm model that points into arrays owned here (libsvm does not own or free them).
struct SvrRegressor::LibsvmModel {
  svm_model model{};
  std::vector<svm_node> nodes;  // n × (dim + 1), each row terminated by index -1
  std::vector<svm_node*> rows;  // n pointers into nodes
  std::vector<double> coef;     // n
  double* coef_rows[1] = {nullptr};
  double rho[1] = {0.0};
};

SvrRegressor::SvrRegressor(std::size_t dim, std::vector<double> support_vectors,
                           std::vector<double> dual_coef, SvrParams params)
    : dim_(dim),
      support_vectors_(std::move(support_vectors)),
      dual_coef_(std::move(dual_coef)),
      params_(params),
      model_(std::make_unique<LibsvmModel>()) {
  const std::size_t n = dual_coef_.size();
  LibsvmModel& m = *model_;
  m.nodes.resize(n * (dim_ + 1));
  m.rows.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    svm_node* row = &m.nodes[i * (dim_ + 1)];
    for (std::size_t d = 0; d < dim_; ++d) {
      row[d].index = static_cast<int>(d + 1);
      row[d].value = support_vectors_[i * dim_ + d];
    }
    row[dim_].index = -1;
    row[dim_].value = 0;
    m.rows[i] = row;
  }
  m.coef = dual_coef_;
  m.coef_rows[0] = m.coef.data();
  m.rho[0] = -params_.intercept;
  m.model.param.svm_type = EPSILON_SVR;
  m.model.param.kernel_type = LibsvmKernel(params_.kernel);
  m.model.param.gamma = params_.gamma;
  m.model.param.coef0 = params_.coef0;
  m.model.param.degree = params_.degree;
  m.model.nr_class = 2;
  m.model.l = static_cast<int>(n);
  m.model.SV = m.rows.data();
  m.model.sv_coef = m.coef_rows;
  m.model.rho = m.rho;
  m.model.free_sv = 0;
}

SvrRegressor::~SvrRegressor() = default;

Result<std::unique_ptr<SvrRegressor>> SvrRegressor::Create(std::size_t dim,
                                                           std::vector<double> support_vectors,
                                                           std::vector<double> dual_coef,
                                                           SvrParams params) {
  if (dim == 0 || dim > 4096) return Status::InvalidArgument("svr: dimension is not in 1..4096");
  if (support_vectors.size() > kMaxValues)
    return Status::OutOfRange("svr: too many support vectors");
  if (support_vectors.size() != dual_coef.size() * dim) {
    return Status::InvalidArgument(
        fmt::format("svr: {} support-vector values for {} coefficients of dimension {}",
                    support_vectors.size(), dual_coef.size(), dim));
  }
  if (dual_coef.size() > static_cast<std::size_t>(INT32_MAX))
    return Status::OutOfRange("svr: too many support vectors");
  for (double v : support_vectors) {
    if (!std::isfinite(v)) return Status::InvalidArgument("svr: a support vector is not finite");
  }
  for (double v : dual_coef) {
    if (!std::isfinite(v)) return Status::InvalidArgument("svr: a dual coefficient is not finite");
  }
  if (!std::isfinite(params.gamma) || !std::isfinite(params.coef0) ||
      !std::isfinite(params.intercept)) {
    return Status::InvalidArgument("svr: gamma, coef0 or intercept is not finite");
  }
  if (params.degree < 0 || params.degree > 16) {
    return Status::InvalidArgument("svr: degree is not in 0..16");
  }
  return std::unique_ptr<SvrRegressor>(
      new SvrRegressor(dim, std::move(support_vectors), std::move(dual_coef), params));
}

double SvrRegressor::Predict(std::span<const double> x, const SystemFeatures&) const {
  std::vector<svm_node> q(dim_ + 1);
  for (std::size_t d = 0; d < dim_; ++d) {
    q[d].index = static_cast<int>(d + 1);
    q[d].value = x[d];
  }
  q[dim_].index = -1;
  return svm_predict(&model_->model, q.data());
}

Json SvrRegressor::ToJson() const {
  return Json{{"family", "svr"},
              {"input_size", dim_},
              {"kernel", KernelName(params_.kernel)},
              {"gamma", params_.gamma},
              {"coef0", params_.coef0},
              {"degree", params_.degree},
              {"intercept", params_.intercept},
              {"support_vectors", support_vectors_},
              {"dual_coef", dual_coef_}};
}

Result<std::unique_ptr<SvrRegressor>> SvrRegressor::FromJson(const Json& j, std::string_view ctx) {
  WATTSON_ASSIGN_OR_RETURN(const Json* n, GetField(j, "input_size", ctx));
  WATTSON_ASSIGN_OR_RETURN(long long dim, AsInteger(*n, JoinPath(ctx, "input_size"), 1, 4096));
  SvrParams p;
  WATTSON_ASSIGN_OR_RETURN(std::string kernel, GetString(j, "kernel", ctx));
  bool known = false;
  for (SvrKernel k : {SvrKernel::kRbf, SvrKernel::kLinear, SvrKernel::kPoly, SvrKernel::kSigmoid}) {
    if (KernelName(k) == kernel) {
      p.kernel = k;
      known = true;
    }
  }
  if (!known) {
    return Status::InvalidArgument(JoinPath(ctx, "kernel") +
                                   ": expected rbf, linear, poly or sigmoid");
  }
  WATTSON_ASSIGN_OR_RETURN(p.gamma, GetFiniteNumber(j, "gamma", ctx));
  WATTSON_ASSIGN_OR_RETURN(p.coef0, GetFiniteNumber(j, "coef0", ctx));
  WATTSON_ASSIGN_OR_RETURN(const Json* jd, GetField(j, "degree", ctx));
  WATTSON_ASSIGN_OR_RETURN(long long degree, AsInteger(*jd, JoinPath(ctx, "degree"), 0, 16));
  p.degree = static_cast<int>(degree);
  WATTSON_ASSIGN_OR_RETURN(p.intercept, GetFiniteNumber(j, "intercept", ctx));
  WATTSON_ASSIGN_OR_RETURN(const Json* sv, GetField(j, "support_vectors", ctx));
  WATTSON_ASSIGN_OR_RETURN(auto svs,
                           AsFiniteNumberArray(*sv, JoinPath(ctx, "support_vectors"), kMaxValues));
  WATTSON_ASSIGN_OR_RETURN(const Json* dc, GetField(j, "dual_coef", ctx));
  WATTSON_ASSIGN_OR_RETURN(auto coef,
                           AsFiniteNumberArray(*dc, JoinPath(ctx, "dual_coef"), kMaxValues));
  auto r = Create(static_cast<std::size_t>(dim), std::move(svs), std::move(coef), p);
  if (!r.ok()) return r.status().WithContext(ctx);
  return r;
}

}  // namespace wattson
