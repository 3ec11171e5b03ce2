#include "models/mlp.h"

#include <algorithm>
#include <cmath>

#include "fmt/format.h"

namespace wattson {

namespace {
constexpr std::size_t kMaxWidth = 4096;
constexpr std::size_t kMaxLayers = 64;
}  // namespace

std::string_view ActivationName(Activation a) {
  switch (a) {
    case Activation::kRelu:
      return "relu";
    case Activation::kTanh:
      return "tanh";
    case Activation::kLogistic:
      return "logistic";
    case Activation::kIdentity:
      return "identity";
  }
  return "identity";
}

Result<std::unique_ptr<MlpRegressor>> MlpRegressor::Create(std::vector<DenseLayer> layers,
                                                           Activation hidden_activation) {
  if (layers.empty() || layers.size() > kMaxLayers) {
    return Status::InvalidArgument(
        fmt::format("mlp: layer count {} is not in 1..{}", layers.size(), kMaxLayers));
  }
  std::size_t widest = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const DenseLayer& l = layers[i];
    if (l.inputs == 0 || l.outputs == 0 || l.inputs > kMaxWidth || l.outputs > kMaxWidth) {
      return Status::InvalidArgument(
          fmt::format("mlp: layer {} size {}×{} is not allowed", i, l.inputs, l.outputs));
    }
    if (l.weights.size() != l.inputs * l.outputs || l.bias.size() != l.outputs) {
      return Status::InvalidArgument(
          fmt::format("mlp: layer {} arrays do not match {}×{}", i, l.inputs, l.outputs));
    }
    if (i > 0 && layers[i - 1].outputs != l.inputs) {
      return Status::InvalidArgument(fmt::format("mlp: layer {} takes {} inputs, previous gives {}",
                                                 i, l.inputs, layers[i - 1].outputs));
    }
    for (double v : l.weights) {
      if (!std::isfinite(v))
        return Status::InvalidArgument(fmt::format("mlp: layer {} has a non-finite weight", i));
    }
    for (double v : l.bias) {
      if (!std::isfinite(v))
        return Status::InvalidArgument(fmt::format("mlp: layer {} has a non-finite bias", i));
    }
    widest = std::max({widest, l.inputs, l.outputs});
  }
  if (layers.back().outputs != 1)
    return Status::InvalidArgument("mlp: the output layer must have one unit");
  return std::unique_ptr<MlpRegressor>(
      new MlpRegressor(std::move(layers), hidden_activation, widest));
}

double MlpRegressor::Predict(std::span<const double> x, const SystemFeatures&) const {
  std::vector<double> a(x.begin(), x.end());
  std::vector<double> b;
  b.reserve(widest_);
  for (std::size_t li = 0; li < layers_.size(); ++li) {
    const DenseLayer& l = layers_[li];
    b.assign(l.bias.begin(), l.bias.end());
    for (std::size_t i = 0; i < l.inputs; ++i) {
      const double xi = a[i];
      const double* w = &l.weights[i * l.outputs];
      for (std::size_t o = 0; o < l.outputs; ++o) b[o] += xi * w[o];
    }
    if (li + 1 < layers_.size()) {
      for (double& v : b) {
        switch (activation_) {
          case Activation::kRelu:
            v = v > 0 ? v : 0;
            break;
          case Activation::kTanh:
            v = std::tanh(v);
            break;
          case Activation::kLogistic:
            v = 1.0 / (1.0 + std::exp(-v));
            break;
          case Activation::kIdentity:
            break;
        }
      }
    }
    a.swap(b);
  }
  return a[0];
}

Json MlpRegressor::ToJson() const {
  Json layers = Json::array();
  for (const auto& l : layers_) {
    layers.push_back(Json{
        {"inputs", l.inputs}, {"outputs", l.outputs}, {"weights", l.weights}, {"bias", l.bias}});
  }
  return Json{{"family", "mlp"},
              {"activation", ActivationName(activation_)},
              {"layers", std::move(layers)}};
}

Result<std::unique_ptr<MlpRegressor>> MlpRegressor::FromJson(const Json& j, std::string_view ctx) {
  WATTSON_ASSIGN_OR_RETURN(std::string act, GetString(j, "activation", ctx));
  Activation activation = Activation::kIdentity;
  bool known = false;
  for (Activation a :
       {Activation::kRelu, Activation::kTanh, Activation::kLogistic, Activation::kIdentity}) {
    if (ActivationName(a) == act) {
      activation = a;
      known = true;
    }
  }
  if (!known) {
    return Status::InvalidArgument(JoinPath(ctx, "activation") +
                                   ": expected relu, tanh, logistic or identity");
  }
  WATTSON_ASSIGN_OR_RETURN(const Json* jl, GetField(j, "layers", ctx));
  if (!jl->is_array() || jl->size() > kMaxLayers) {
    return Status::InvalidArgument(JoinPath(ctx, "layers") +
                                   ": expected an array of at most 64 layers");
  }
  std::vector<DenseLayer> layers;
  for (std::size_t i = 0; i < jl->size(); ++i) {
    const std::string lctx = fmt::format("{}.layers[{}]", ctx, i);
    const Json& e = (*jl)[i];
    DenseLayer l;
    WATTSON_ASSIGN_OR_RETURN(const Json* in, GetField(e, "inputs", lctx));
    WATTSON_ASSIGN_OR_RETURN(long long inputs,
                             AsInteger(*in, JoinPath(lctx, "inputs"), 1, kMaxWidth));
    WATTSON_ASSIGN_OR_RETURN(const Json* out, GetField(e, "outputs", lctx));
    WATTSON_ASSIGN_OR_RETURN(long long outputs,
                             AsInteger(*out, JoinPath(lctx, "outputs"), 1, kMaxWidth));
    l.inputs = static_cast<std::size_t>(inputs);
    l.outputs = static_cast<std::size_t>(outputs);
    WATTSON_ASSIGN_OR_RETURN(const Json* w, GetField(e, "weights", lctx));
    WATTSON_ASSIGN_OR_RETURN(
        l.weights, AsFiniteNumberArray(*w, JoinPath(lctx, "weights"), kMaxWidth * kMaxWidth));
    WATTSON_ASSIGN_OR_RETURN(const Json* b, GetField(e, "bias", lctx));
    WATTSON_ASSIGN_OR_RETURN(l.bias, AsFiniteNumberArray(*b, JoinPath(lctx, "bias"), kMaxWidth));
    layers.push_back(std::move(l));
  }
  auto r = Create(std::move(layers), activation);
  if (!r.ok()) return r.status().WithContext(ctx);
  return r;
}

}  // namespace wattson
