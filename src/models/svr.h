// Support-vector regression family, evaluated by libsvm (the library scikit-learn's SVR wraps):
// y = Σ_i dual_coef_i · K(sv_i, x) + intercept, with an RBF, linear, polynomial or sigmoid kernel.
#pragma once

#include <memory>
#include <vector>

#include "models/regressor.h"

namespace wattson {

enum class SvrKernel { kRbf, kLinear, kPoly, kSigmoid };

struct SvrParams {
  SvrKernel kernel = SvrKernel::kRbf;
  double gamma = 1.0;
  double coef0 = 0.0;
  int degree = 3;
  double intercept = 0.0;  // scikit-learn intercept_ (= -rho)
};

class SvrRegressor final : public Regressor {
 public:
  // support_vectors: n × dim row-major; dual_coef: n values.
  static Result<std::unique_ptr<SvrRegressor>> Create(std::size_t dim,
                                                      std::vector<double> support_vectors,
                                                      std::vector<double> dual_coef,
                                                      SvrParams params);
  static Result<std::unique_ptr<SvrRegressor>> FromJson(const Json& j, std::string_view ctx);
  ~SvrRegressor() override;

  std::string_view family() const override { return "svr"; }
  std::size_t input_size() const override { return dim_; }
  double Predict(std::span<const double> x, const SystemFeatures& system) const override;
  Json ToJson() const override;

 private:
  struct LibsvmModel;
  SvrRegressor(std::size_t dim, std::vector<double> support_vectors, std::vector<double> dual_coef,
               SvrParams params);

  std::size_t dim_;
  std::vector<double> support_vectors_;
  std::vector<double> dual_coef_;
  SvrParams params_;
  std::unique_ptr<LibsvmModel> model_;
};

}  // namespace wattson
