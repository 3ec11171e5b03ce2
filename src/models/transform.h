// Feature transforms applied before a regressor, in the order the model file lists them:
// MaxAbs scaling (x / scale), standard scaling ((x - mean) / scale) and polynomial expansion.
// Immutable after construction; Apply is thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "common/json_util.h"
#include "common/status.h"

namespace wattson {

class Transform {
 public:
  virtual ~Transform() = default;
  virtual std::string_view kind() const = 0;  // "maxabs", "standard", "polynomial"
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

Result<std::unique_ptr<Transform>> TransformFromJson(const Json& j, std::string_view ctx);

}  // namespace wattson
