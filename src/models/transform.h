// Feature transforms applied before a regressor, in the order the model file lists them:
// MaxAbs scaling (x / scale), standard scaling ((x - mean) / scale), polynomial expansion and
// derived features (ratios, products, log1p, sqrt, squares appended to the inputs).
// Immutable after construction; Apply is thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_util.h"
#include "common/status.h"

namespace wattson {

class Transform {
 public:
  virtual ~Transform() = default;
  virtual std::string_view kind() const = 0;  // "maxabs", "standard", "polynomial", "derived"
  virtual std::size_t input_size() const = 0;
  virtual std::size_t output_size() const = 0;
  // True if output i depends only on input i (so feature names survive the transform).
  virtual bool elementwise() const = 0;
  virtual void Apply(std::span<const double> in, std::span<double> out) const = 0;
  virtual Json ToJson() const = 0;
};

// out_i = in_i / scale_i; a zero scale makes out_i = 0 (Kepler's Go rule; scikit-learn stores 1
// instead of 0, so its scalers behave the same).
class MaxAbsTransform final : public Transform {
 public:
  static Result<std::unique_ptr<MaxAbsTransform>> Create(std::vector<double> scale);
  std::string_view kind() const override { return "maxabs"; }
  std::size_t input_size() const override { return scale_.size(); }
  std::size_t output_size() const override { return scale_.size(); }
  bool elementwise() const override { return true; }
  void Apply(std::span<const double> in, std::span<double> out) const override;
  Json ToJson() const override;
  const std::vector<double>& scale() const { return scale_; }

 private:
  explicit MaxAbsTransform(std::vector<double> scale) : scale_(std::move(scale)) {}
  std::vector<double> scale_;
};

// out_i = (in_i - mean_i) / scale_i; a zero scale makes out_i = in_i - mean_i (scikit-learn's
// StandardScaler rule).
class StandardTransform final : public Transform {
 public:
  static Result<std::unique_ptr<StandardTransform>> Create(std::vector<double> mean,
                                                           std::vector<double> scale);
  std::string_view kind() const override { return "standard"; }
  std::size_t input_size() const override { return mean_.size(); }
  std::size_t output_size() const override { return mean_.size(); }
  bool elementwise() const override { return true; }
  void Apply(std::span<const double> in, std::span<double> out) const override;
  Json ToJson() const override;

 private:
  StandardTransform(std::vector<double> mean, std::vector<double> scale)
      : mean_(std::move(mean)), scale_(std::move(scale)) {}
  std::vector<double> mean_;
  std::vector<double> scale_;
};

// scikit-learn PolynomialFeatures(degree, include_bias, interaction_only=False) for degree 1..3:
// [1], x_1..x_n, then every product of `degree` inputs with non-decreasing indices, by degree, in
// lexicographic order (degree 2: x1², x1x2, ..., x1xn, x2², ...).
class PolynomialTransform final : public Transform {
 public:
  static Result<std::unique_ptr<PolynomialTransform>> Create(std::size_t input_size, int degree,
                                                             bool include_bias);
  std::string_view kind() const override { return "polynomial"; }
  std::size_t input_size() const override { return n_; }
  std::size_t output_size() const override { return terms_.size(); }
  bool elementwise() const override { return false; }
  void Apply(std::span<const double> in, std::span<double> out) const override;
  Json ToJson() const override;

 private:
  PolynomialTransform(std::size_t n, int degree, bool include_bias);
  std::size_t n_;
  int degree_;
  bool include_bias_;
  std::vector<std::vector<std::size_t>> terms_;  // input indices multiplied together per output
};

// One derived feature, computed from entries of the vector built so far (the inputs, then the
// earlier terms): a and b index into that vector.
enum class DerivedOp { kRatio, kProduct, kLog1p, kSqrt, kSquare };
std::string_view DerivedOpName(DerivedOp op);
struct DerivedTerm {
  DerivedOp op = DerivedOp::kRatio;
  std::size_t a = 0;
  std::size_t b = 0;   // ratio and product only
  double scale = 1.0;  // log1p only, > 0
  std::string name;    // informational, e.g. "cpu_instructions/cpu_cycles"
};

// Appends derived features to the inputs: out = [in_0 .. in_{n-1}, t_0, t_1, ...] with
//   ratio(a, b)   = v_a / v_b, or 0 when v_b == 0
//   product(a, b) = v_a · v_b
//   log1p(a)      = sign(v_a) · ln(1 + scale · |v_a|)
//   sqrt(a)       = sign(v_a) · sqrt(|v_a|)
//   square(a)     = v_a²
// where v is the output built so far. Every term is defined for every finite input.
class DerivedTransform final : public Transform {
 public:
  // Fails if a term refers to an entry not yet built, a log1p scale is not finite and > 0, or the
  // output would be wider than the format allows.
  static Result<std::unique_ptr<DerivedTransform>> Create(std::size_t input_size,
                                                          std::vector<DerivedTerm> terms);
  std::string_view kind() const override { return "derived"; }
  std::size_t input_size() const override { return n_; }
  std::size_t output_size() const override { return n_ + terms_.size(); }
  bool elementwise() const override { return false; }
  void Apply(std::span<const double> in, std::span<double> out) const override;
  Json ToJson() const override;
  const std::vector<DerivedTerm>& terms() const { return terms_; }

 private:
  DerivedTransform(std::size_t n, std::vector<DerivedTerm> terms)
      : n_(n), terms_(std::move(terms)) {}
  std::size_t n_;
  std::vector<DerivedTerm> terms_;
};

Result<std::unique_ptr<Transform>> TransformFromJson(const Json& j, std::string_view ctx);

}  // namespace wattson
