// Small dense neural network family (scikit-learn MLPRegressor semantics): hidden layers with one
// activation (relu, tanh, logistic or identity), a linear output layer with one unit.
#pragma once

#include <memory>
#include <vector>

#include "models/regressor.h"

namespace wattson {

enum class Activation { kRelu, kTanh, kLogistic, kIdentity };
std::string_view ActivationName(Activation a);

struct DenseLayer {
  std::size_t inputs = 0;
  std::size_t outputs = 0;
  std::vector<double> weights;  // inputs × outputs, row-major (scikit-learn coefs_[i])
  std::vector<double> bias;     // outputs (scikit-learn intercepts_[i])
};

class MlpRegressor final : public Regressor {
 public:
  // layers[i].outputs == layers[i+1].inputs; the last layer has one output.
  static Result<std::unique_ptr<MlpRegressor>> Create(std::vector<DenseLayer> layers,
                                                      Activation hidden_activation);
  static Result<std::unique_ptr<MlpRegressor>> FromJson(const Json& j, std::string_view ctx);

  std::string_view family() const override { return "mlp"; }
  std::size_t input_size() const override { return layers_.front().inputs; }
  double Predict(std::span<const double> x, const SystemFeatures& system) const override;
  Json ToJson() const override;

 private:
  MlpRegressor(std::vector<DenseLayer> layers, Activation a, std::size_t widest)
      : layers_(std::move(layers)), activation_(a), widest_(widest) {}
  std::vector<DenseLayer> layers_;
  Activation activation_;
  std::size_t widest_;
};

}  // namespace wattson
