#include "models/power_model.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "fmt/format.h"

namespace wattson {

Result<std::unique_ptr<PipelineModel>> PipelineModel::Create(
    ModelInfo info, std::vector<ComponentPipeline> pipelines) {
  if (pipelines.empty()) return Status::InvalidArgument("model has no components");
  std::set<Component> seen;
  std::vector<std::string> all_features;
  std::size_t max_width = 0;
  for (const auto& p : pipelines) {
    const std::string comp(ComponentName(p.component));
    if (!seen.insert(p.component).second) {
      return Status::InvalidArgument(fmt::format("component '{}' appears twice", comp));
    }
    std::set<std::string_view> names;
    for (const auto& f : p.features) {
      if (f.empty()) return Status::InvalidArgument(fmt::format("{}: empty feature name", comp));
      if (!names.insert(f).second) {
        return Status::InvalidArgument(fmt::format("{}: feature '{}' listed twice", comp, f));
      }
      if (std::find(all_features.begin(), all_features.end(), f) == all_features.end()) {
        all_features.push_back(f);
      }
    }
    if (!p.regressor) return Status::InvalidArgument(fmt::format("{}: no regressor", comp));
    std::size_t width = p.features.size();
    max_width = std::max(max_width, width);
    for (std::size_t t = 0; t < p.transforms.size(); ++t) {
      if (!p.transforms[t]) {
        return Status::InvalidArgument(fmt::format("{}: transform {} is missing", comp, t));
      }
      if (p.transforms[t]->input_size() != width) {
        return Status::InvalidArgument(
            fmt::format("{}: transform {} ({}) takes {} inputs but receives {}", comp, t,
                        p.transforms[t]->kind(), p.transforms[t]->input_size(), width));
      }
      width = p.transforms[t]->output_size();
      max_width = std::max(max_width, width);
    }
    if (p.regressor->input_size() != width) {
      return Status::InvalidArgument(
          fmt::format("{}: regressor ({}) takes {} inputs but the transforms produce {}", comp,
                      p.regressor->family(), p.regressor->input_size(), width));
    }
  }
  info.features = std::move(all_features);
  info.components.clear();
  for (const auto& p : pipelines) info.components.push_back(p.component);
  auto model =
      std::unique_ptr<PipelineModel>(new PipelineModel(std::move(info), std::move(pipelines)));
  model->max_width_ = max_width;
  return model;
}

void PipelineModel::SetInfo(ModelInfo info) {
  info.features = info_.features;
  info.components = info_.components;
  info_ = std::move(info);
}

std::string PipelineModel::FamilySummary() const {
  std::set<std::string> kinds;
  for (const auto& p : pipelines_) {
    std::string s;
    for (const auto& t : p.transforms) {
      s += t->kind();
      s += " > ";
    }
    s += p.regressor->family();
    kinds.insert(std::move(s));
  }
  std::string out;
  for (const auto& k : kinds) {
    if (!out.empty()) out += "; ";
    out += k;
  }
  return out;
}

Result<PowerPrediction> PipelineModel::Predict(const FeatureMatrix& x,
                                               const SystemFeatures& system) const {
  PowerPrediction out;
  out.rows = x.rows();
  std::vector<double> a(max_width_), b(max_width_);
  std::vector<double> batch;  // the transformed rows of one component, one after another
  std::vector<double> ys;
  for (const auto& p : pipelines_) {
    std::vector<std::size_t> cols;
    cols.reserve(p.features.size());
    for (const auto& f : p.features) {
      auto c = x.ColumnIndex(f);
      if (!c) {
        return Status::InvalidArgument(
            fmt::format("model '{}' needs feature '{}' for component {}, which the input lacks",
                        info_.id, f, ComponentName(p.component)));
      }
      cols.push_back(*c);
    }
    const std::size_t in_width = p.regressor->input_size();
    batch.resize(x.rows() * in_width);
    for (std::size_t r = 0; r < x.rows(); ++r) {
      std::size_t width = cols.size();
      for (std::size_t i = 0; i < width; ++i) {
        double v = x.at(r, cols[i]);
        if (!std::isfinite(v)) {
          return Status::InvalidArgument(
              fmt::format("row {}: feature '{}' is not finite", r + 1, p.features[i]));
        }
        a[i] = v;
      }
      double* in = a.data();
      double* tmp = b.data();
      for (const auto& t : p.transforms) {
        t->Apply({in, width}, {tmp, t->output_size()});
        width = t->output_size();
        std::swap(in, tmp);
      }
      std::copy(in, in + in_width, batch.begin() + static_cast<std::ptrdiff_t>(r * in_width));
    }
    ys.resize(x.rows());
    p.regressor->PredictBatch(batch, system, ys);
    ComponentPower cp;
    cp.component = p.component;
    cp.watts.reserve(x.rows());
    for (std::size_t r = 0; r < x.rows(); ++r) {
      const double y = ys[r];
      if (!std::isfinite(y)) {
        return Status::OutOfRange(fmt::format(
            "model '{}' gave a non-finite {} power for row {} (inputs far outside its range?)",
            info_.id, ComponentName(p.component), r + 1));
      }
      cp.watts.emplace_back(y < 0 ? 0.0 : y);
    }
    out.components.push_back(std::move(cp));
  }
  return out;
}

}  // namespace wattson
