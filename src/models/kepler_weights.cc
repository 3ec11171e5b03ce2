#include "models/kepler_weights.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "fmt/format.h"
#include "models/curve_fit.h"
#include "models/feature_groups.h"
#include "models/linear.h"
#include "models/transform.h"

namespace wattson {

namespace {

// Limits that keep a hostile file from costing more than a few MB to load.
constexpr std::size_t kMaxKeplerFeatures = 4096;
constexpr std::size_t kMaxCategoricalEntries = 4096;
constexpr std::size_t kMaxNameBytes = 1024;
constexpr std::size_t kMaxCurveWeights = 16;

constexpr std::string_view kAllWeights = "All_Weights";

// One entry of Numerical_Variables. A missing number is 0 (Go's zero struct).
struct NumericalVariable {
  std::string name;
  double scale = 0;
  double mean = 0;
  double variance = 0;
  double weight = 0;
  bool has_scale = false;
  bool has_mean_or_variance = false;
};

struct ComponentWeights {
  Component component = Component::kPackage;
  std::string ctx;  // JSON path of the All_Weights object
  double bias = 0;
  CategoricalWeights categorical;
  std::vector<NumericalVariable> variables;  // sorted by name (Kepler's column order)
  std::vector<double> curve;                 // empty: linear
  bool has_curve = false;
};

// Reads an optional number: absent or null → not present; anything else must be a finite number.
Status ReadOptionalNumber(const Json& obj, std::string_view key, std::string_view ctx,
                          std::string_view what, double* out, bool* present) {
  const Json* v = FindField(obj, key);
  if (v == nullptr || v->is_null()) return Status::Ok();
  const std::string path = JoinPath(ctx, key);
  if (!v->is_number()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a number, got {} ({})", path, v->type_name(), what));
  }
  double d = v->get<double>();
  if (!std::isfinite(d)) {
    return Status::InvalidArgument(fmt::format("{}: not a finite number ({})", path, what));
  }
  *out = d;
  if (present != nullptr) *present = true;
  return Status::Ok();
}

Status CheckName(std::string_view name, std::string_view ctx) {
  if (name.empty()) return Status::InvalidArgument(fmt::format("{}: empty name", ctx));
  if (name.size() > kMaxNameBytes) {
    return Status::OutOfRange(fmt::format("{}: a name of {} bytes is over the limit of {}", ctx,
                                          name.size(), kMaxNameBytes));
  }
  return Status::Ok();
}

Result<ComponentWeights> ParseComponentSection(Component component, const Json& section) {
  const std::string comp(ComponentName(component));
  if (!section.is_object()) {
    return Status::InvalidArgument(fmt::format(
        "{}: expected an object with \"All_Weights\", got {}", comp, section.type_name()));
  }
  const Json* all = FindField(section, kAllWeights);
  if (all == nullptr) {
    return Status::InvalidArgument(fmt::format("{}.All_Weights: missing field", comp));
  }
  ComponentWeights w;
  w.component = component;
  w.ctx = JoinPath(comp, kAllWeights);
  if (!all->is_object()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected an object, got {}", w.ctx, all->type_name()));
  }
  WATTSON_RETURN_IF_ERROR(ReadOptionalNumber(
      *all, "Bias_Weight", w.ctx, fmt::format("component {} bias", comp), &w.bias, nullptr));

  if (const Json* cat = FindField(*all, "Categorical_Variables");
      cat != nullptr && !cat->is_null()) {
    const std::string cctx = JoinPath(w.ctx, "Categorical_Variables");
    if (!cat->is_object()) {
      return Status::InvalidArgument(
          fmt::format("{}: expected an object, got {}", cctx, cat->type_name()));
    }
    std::size_t entries = 0;
    for (const auto& [name, values] : cat->items()) {
      const std::string nctx = JoinPath(cctx, name);
      WATTSON_RETURN_IF_ERROR(CheckName(name, nctx));
      if (!values.is_object()) {
        return Status::InvalidArgument(
            fmt::format("{}: expected an object, got {}", nctx, values.type_name()));
      }
      entries += values.size();
      if (entries > kMaxCategoricalEntries) {
        return Status::OutOfRange(
            fmt::format("{}: more than {} categorical values", cctx, kMaxCategoricalEntries));
      }
      auto& out = w.categorical[name];
      for (const auto& [value, entry] : values.items()) {
        const std::string vctx = JoinPath(nctx, value);
        if (!entry.is_object()) {
          return Status::InvalidArgument(fmt::format(
              "{}: expected an object {{\"weight\": ...}}, got {}", vctx, entry.type_name()));
        }
        double weight = 0;
        WATTSON_RETURN_IF_ERROR(ReadOptionalNumber(
            entry, "weight", vctx,
            fmt::format("component {}, categorical {}={}", comp, name, value), &weight, nullptr));
        out[value] = weight;
      }
    }
  }

  if (const Json* num = FindField(*all, "Numerical_Variables"); num != nullptr && !num->is_null()) {
    const std::string nctx = JoinPath(w.ctx, "Numerical_Variables");
    if (!num->is_object()) {
      return Status::InvalidArgument(
          fmt::format("{}: expected an object, got {}", nctx, num->type_name()));
    }
    if (num->size() > kMaxKeplerFeatures) {
      return Status::OutOfRange(fmt::format("{}: {} features is over the limit of {}", nctx,
                                            num->size(), kMaxKeplerFeatures));
    }
    // nlohmann keeps object keys sorted (std::map), which is Kepler's alphabetical feature order;
    // sort anyway so the order does not depend on the JSON container.
    for (const auto& [name, var] : num->items()) {
      const std::string fctx = JoinPath(nctx, name);
      WATTSON_RETURN_IF_ERROR(CheckName(name, fctx));
      if (!var.is_object()) {
        return Status::InvalidArgument(
            fmt::format("{}: expected an object, got {}", fctx, var.type_name()));
      }
      NumericalVariable v;
      v.name = name;
      const std::string what = fmt::format("component {}, feature {}", comp, name);
      bool has_mean = false;
      bool has_variance = false;
      WATTSON_RETURN_IF_ERROR(ReadOptionalNumber(var, "scale", fctx, what, &v.scale, &v.has_scale));
      WATTSON_RETURN_IF_ERROR(ReadOptionalNumber(var, "mean", fctx, what, &v.mean, &has_mean));
      WATTSON_RETURN_IF_ERROR(
          ReadOptionalNumber(var, "variance", fctx, what, &v.variance, &has_variance));
      WATTSON_RETURN_IF_ERROR(ReadOptionalNumber(var, "weight", fctx, what, &v.weight, nullptr));
      if (v.variance < 0) {
        return Status::InvalidArgument(
            fmt::format("{}.variance: negative variance {} ({})", fctx, v.variance, what));
      }
      v.has_mean_or_variance = has_mean || has_variance;
      w.variables.push_back(std::move(v));
    }
    std::sort(
        w.variables.begin(), w.variables.end(),
        [](const NumericalVariable& a, const NumericalVariable& b) { return a.name < b.name; });
  }

  if (const Json* curve = FindField(*all, "CurveFit_Weights");
      curve != nullptr && !curve->is_null()) {
    const std::string cctx = JoinPath(w.ctx, "CurveFit_Weights");
    auto values = AsFiniteNumberArray(*curve, cctx, kMaxCurveWeights);
    if (!values.ok()) {
      return values.status().WithContext(fmt::format("component {}", comp));
    }
    w.curve = std::move(values).value();
    w.has_curve = !w.curve.empty();  // an empty list means "linear" (Kepler's validation rule)
  }
  return w;
}

// Which curve a CurveFit_Weights list is, from its length and the trainer name.
Result<CurveKind> CurveKindFor(const ComponentWeights& w, std::string_view trainer) {
  const bool says_log = trainer.find("Logarithmic") != std::string_view::npos;
  const bool says_exp = trainer.find("Exponential") != std::string_view::npos;
  const bool says_logistic = trainer.find("Logistic") != std::string_view::npos;
  const std::string comp(ComponentName(w.component));
  if (w.curve.size() == 4) {
    if (says_log || says_exp) {
      return Status::InvalidArgument(
          fmt::format("{}.CurveFit_Weights: 4 weights (a logistic curve) but the trainer is '{}'",
                      w.ctx, trainer));
    }
    return CurveKind::kLogistic;
  }
  if (w.curve.size() == 3) {
    if (says_log && !says_exp) return CurveKind::kLogarithmic;
    if (says_exp && !says_log) return CurveKind::kExponential;
    if (says_logistic) {
      return Status::InvalidArgument(fmt::format(
          "{}.CurveFit_Weights: 3 weights but the trainer '{}' fits a 4-weight logistic curve",
          w.ctx, trainer));
    }
    return Status::InvalidArgument(fmt::format(
        "{}.CurveFit_Weights: 3 weights fit either a logarithmic or an exponential curve; the "
        "trainer name must say which (LogarithmicRegressionTrainer or "
        "ExponentialRegressionTrainer), got '{}'",
        w.ctx, trainer));
  }
  return Status::InvalidArgument(fmt::format(
      "{}.CurveFit_Weights: {} weights (component {}); expected 3 (logarithmic, exponential) or "
      "4 (logistic)",
      w.ctx, w.curve.size(), comp));
}

// Does this document use the v0.6 layout ("scale" together with "mean"/"variance")?
bool IsV06Layout(const std::vector<ComponentWeights>& comps) {
  for (const auto& c : comps) {
    for (const auto& v : c.variables) {
      if (v.has_scale && v.has_mean_or_variance) return true;
    }
  }
  return false;
}

Result<std::shared_ptr<const Transform>> MakeTransform(const ComponentWeights& w,
                                                       KeplerScaleRule rule) {
  bool any_scale = false;
  bool any_stats = false;
  for (const auto& v : w.variables) {
    any_scale = any_scale || v.has_scale;
    any_stats = any_stats || v.has_mean_or_variance;
  }
  const std::string comp(ComponentName(w.component));
  if (!any_scale && any_stats) {
    // v0.5: x̂ = (x - mean) / sqrt(variance); variance 0 → x - mean (StandardTransform's rule).
    std::vector<double> mean;
    std::vector<double> scale;
    for (const auto& v : w.variables) {
      mean.push_back(v.mean);
      scale.push_back(std::sqrt(v.variance));
    }
    auto t = StandardTransform::Create(std::move(mean), std::move(scale));
    if (!t.ok()) return t.status().WithContext(w.ctx);
    return std::shared_ptr<const Transform>(std::move(t).value());
  }
  // v0.6/v0.7: x̂ = x / scale, scale 0 (or absent, Go's zero value) → 0.
  std::vector<double> scale;
  for (const auto& v : w.variables) {
    double s = v.scale;
    if (rule == KeplerScaleRule::kMultiply) {
      s = s == 0.0 ? 0.0 : 1.0 / s;
      if (!std::isfinite(s)) {
        return Status::InvalidArgument(fmt::format(
            "{}.Numerical_Variables.{}.scale: {} has no finite reciprocal (component {}, feature "
            "{})",
            w.ctx, v.name, v.scale, comp, v.name));
      }
    }
    scale.push_back(s);
  }
  auto t = MaxAbsTransform::Create(std::move(scale));
  if (!t.ok()) return t.status().WithContext(w.ctx);
  return std::shared_ptr<const Transform>(std::move(t).value());
}

// "LogarithmicRegressionTrainer_3" → "LogarithmicRegressionTrainer".
std::string TrainerFromModelName(std::string_view name) {
  auto pos = name.rfind('_');
  if (pos == std::string_view::npos || pos + 1 >= name.size()) return std::string(name);
  std::string_view suffix = name.substr(pos + 1);
  bool digits =
      std::all_of(suffix.begin(), suffix.end(), [](char c) { return c >= '0' && c <= '9'; });
  return std::string(digits ? name.substr(0, pos) : name);
}

std::string_view Basename(std::string_view path) {
  auto pos = path.find_last_of('/');
  std::string_view base = pos == std::string_view::npos ? path : path.substr(pos + 1);
  if (base.size() > 5 && base.substr(base.size() - 5) == ".json") base.remove_suffix(5);
  return base;
}

std::optional<double> OptionalFinite(const Json& j, std::string_view key) {
  const Json* v = FindField(j, key);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  double d = v->get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

// Top-level metadata the model server adds to a weight response (model_name, machine_spec, mae,
// mape, <component>_mae...). Malformed values are ignored: they are informational.
void ReadServerMetadata(const Json& j, const std::vector<Component>& comps, ModelInfo* info) {
  if (const Json* spec = FindField(j, "machine_spec"); spec != nullptr && spec->is_object()) {
    auto parsed = KeplerMachineSpecFromJson(*spec, "machine_spec");
    if (parsed.ok()) info->provenance.machine_spec = std::move(parsed).value();
  }
  bool any = false;
  if (auto mae = OptionalFinite(j, "mae"); mae && *mae >= 0) {
    info->errors.mae = *mae;
    any = true;
  }
  if (auto mape = OptionalFinite(j, "mape"); mape && *mape >= 0) {
    info->errors.mape = *mape;
    any = true;
  }
  for (Component c : comps) {
    const std::string name(ComponentName(c));
    ComponentErrors ce;
    bool have = false;
    if (auto v = OptionalFinite(j, name + "_mae"); v && *v >= 0) {
      ce.mae = *v;
      have = true;
    }
    if (auto v = OptionalFinite(j, name + "_mape"); v && *v >= 0) {
      ce.mape = *v;
      have = true;
    }
    if (have) {
      info->errors.per_component[name] = ce;
      any = true;
    }
  }
  if (any) info->errors.protocol = "kepler-published";
}

bool ParseInt(std::string_view s, int* out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  *out = v;
  return true;
}

}  // namespace

bool IsKeplerWeightJson(const Json& j) {
  if (!j.is_object()) return false;
  for (Component c : kAllComponents) {
    const Json* section = FindField(j, ComponentName(c));
    if (section != nullptr && section->is_object() && section->contains(kAllWeights)) return true;
  }
  return false;
}

Result<std::unique_ptr<PipelineModel>> KeplerWeightsFromJson(const Json& j,
                                                             const KeplerWeightOptions& options) {
  if (!j.is_object()) {
    return Status::InvalidArgument(
        fmt::format("Kepler weights: expected a JSON object of components, got {}", j.type_name()));
  }
  std::vector<ComponentWeights> comps;
  for (const auto& [key, value] : j.items()) {
    auto component = ParseComponent(key);
    if (!component.ok()) {
      // Metadata the model server adds (model_name, machine_spec, mae, ...) is ignored; an
      // unknown key that looks like a component section is an error rather than a silent drop.
      if (value.is_object() && value.contains(kAllWeights)) {
        return Status::InvalidArgument(
            fmt::format("{}: unknown component (package, core, uncore, dram, platform)", key));
      }
      continue;
    }
    WATTSON_ASSIGN_OR_RETURN(ComponentWeights w, ParseComponentSection(*component, value));
    comps.push_back(std::move(w));
  }
  if (comps.empty()) {
    return Status::InvalidArgument(
        "Kepler weights: no component section (package, core, uncore, dram or platform with "
        "\"All_Weights\")");
  }

  std::string trainer = options.trainer;
  std::string model_name;
  if (const Json* n = FindField(j, "model_name"); n != nullptr && n->is_string()) {
    model_name = n->get<std::string>();
    if (model_name.size() > kMaxNameBytes) model_name.clear();
  }
  if (trainer.empty() && !model_name.empty()) trainer = TrainerFromModelName(model_name);

  KeplerScaleRule rule = options.scale_rule;
  if (rule == KeplerScaleRule::kAuto) {
    // The v0.6 LinearRegressionTrainer stored MinMaxScaler.scale_ (a multiplier) under "scale";
    // see docs/kepler-compatibility.md and nx12 weights_consistency_check.csv.
    rule = (IsV06Layout(comps) && trainer == "LinearRegressionTrainer") ? KeplerScaleRule::kMultiply
                                                                        : KeplerScaleRule::kDivide;
  }

  ModelInfo info;
  info.id = options.id;
  info.name = !model_name.empty() ? model_name : std::string(Basename(options.id));
  if (info.name.empty()) info.name = trainer;
  info.trainer = trainer;
  if (!options.output_type.empty()) {
    WATTSON_ASSIGN_OR_RETURN(info.output_type, ParseOutputType(options.output_type));
  }
  info.feature_group = options.feature_group;
  info.node_type = options.node_type;
  info.provenance.origin = options.id;
  info.provenance.tool = "kepler-model-server";
  info.provenance.trainer = trainer;

  std::vector<ComponentPipeline> pipelines;
  std::vector<Component> components;
  std::set<std::string> system_features;
  for (const auto& w : comps) {
    ComponentPipeline p;
    p.component = w.component;
    components.push_back(w.component);
    for (const auto& v : w.variables) p.features.push_back(v.name);
    WATTSON_ASSIGN_OR_RETURN(auto transform, MakeTransform(w, rule));
    p.transforms.push_back(std::move(transform));
    if (w.has_curve) {
      if (p.features.empty()) {
        return Status::InvalidArgument(fmt::format(
            "{}: CurveFit_Weights without any Numerical_Variables (no feature to apply the curve "
            "to)",
            w.ctx));
      }
      if (!w.categorical.empty()) {
        return Status::InvalidArgument(fmt::format(
            "{}: categorical terms together with CurveFit_Weights are not supported", w.ctx));
      }
      WATTSON_ASSIGN_OR_RETURN(CurveKind kind, CurveKindFor(w, trainer));
      // Kepler's trainer fits the curve on the group's main feature (the dram feature for dram);
      // Kepler Go evaluates it on x[0] of its own feature list instead. We use the trainer's
      // feature, by name, falling back to the first (sorted) feature like Go when none of the
      // known main features is present. See docs/kepler-compatibility.md.
      std::size_t index = 0;
      if (auto f = CurveFeature(w.component, p.features)) {
        index = static_cast<std::size_t>(std::find(p.features.begin(), p.features.end(), *f) -
                                         p.features.begin());
      }
      auto r = CurveFitRegressor::Create(kind, w.curve, p.features.size(), index);
      if (!r.ok()) return r.status().WithContext(w.ctx);
      p.regressor = std::move(r).value();
    } else {
      std::vector<double> coef;
      for (const auto& v : w.variables) coef.push_back(v.weight);
      for (const auto& [name, values] : w.categorical) system_features.insert(name);
      auto r = LinearRegressor::Create(w.bias, std::move(coef), w.categorical);
      if (!r.ok()) return r.status().WithContext(w.ctx);
      p.regressor = std::move(r).value();
    }
    pipelines.push_back(std::move(p));
  }
  info.system_features.assign(system_features.begin(), system_features.end());

  info.energy_source = NormaliseEnergySource(options.energy_source);
  if (info.energy_source.empty()) info.energy_source = InferEnergySource(components);
  ReadServerMetadata(j, components, &info);

  auto model = PipelineModel::Create(std::move(info), std::move(pipelines));
  if (!model.ok()) return model.status().WithContext("Kepler weights");
  return model;
}

void InferKeplerWeightOptionsFromPath(std::string_view path, KeplerWeightOptions* options) {
  if (options == nullptr) return;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  if (parts.empty()) return;
  std::string_view file = parts.back();
  if (file.size() <= 5 || file.substr(file.size() - 5) != ".json") return;
  std::string_view stem = file.substr(0, file.size() - 5);

  // Directory levels between the file and its feature-group directory: 0 normally, 1 for the
  // model server's unpacked layout <FG>/<Trainer>_<nt>/weight.json.
  std::size_t skip = 0;
  auto parse_model_name = [options](std::string_view name) {
    // <Trainer>_<nodeType>: the node type is the integer after the last '_'.
    auto pos = name.rfind('_');
    int node_type = -1;
    if (pos == std::string_view::npos || pos == 0 || !ParseInt(name.substr(pos + 1), &node_type)) {
      return false;
    }
    options->trainer = std::string(name.substr(0, pos));
    options->node_type = node_type;
    return true;
  };
  if (stem == "weight") {
    if (parts.size() >= 4 && ParseOutputType(parts[parts.size() - 4]).ok() &&
        parse_model_name(parts[parts.size() - 2])) {
      skip = 1;
    }
  } else if (!parse_model_name(stem)) {
    // Kepler's bundled files: <energySource>_<OutputType>Model.json.
    for (std::string_view ot : {"AbsPower", "DynPower"}) {
      const std::string suffix = fmt::format("_{}Model", ot);
      if (stem.size() > suffix.size() && stem.substr(stem.size() - suffix.size()) == suffix) {
        std::string_view src = stem.substr(0, stem.size() - suffix.size());
        if (IsKnownEnergySource(src)) {
          options->energy_source = NormaliseEnergySource(src);
          options->output_type = std::string(ot);
        }
        return;
      }
    }
  }
  // .../<source>/<OutputType>/<FeatureGroup>/[<model>/]<file>
  if (parts.size() < 3 + skip) return;
  std::string_view fg = parts[parts.size() - 2 - skip];
  std::string_view ot = parts[parts.size() - 3 - skip];
  if (!ParseOutputType(ot).ok()) return;
  options->output_type = std::string(ot);
  options->feature_group = std::string(fg);
  if (parts.size() >= 4 + skip) {
    std::string_view src = parts[parts.size() - 4 - skip];
    if (IsKnownEnergySource(src)) options->energy_source = NormaliseEnergySource(src);
  }
}

Result<Json> KeplerWeightsToJson(const PipelineModel& model) {
  Json out = Json::object();
  for (const auto& p : model.pipelines()) {
    const std::string comp(ComponentName(p.component));
    if (p.transforms.size() > 1) {
      return Status::InvalidArgument(
          fmt::format("{}: {} transforms; Kepler weights allow at most one maxabs scaling", comp,
                      p.transforms.size()));
    }
    std::vector<double> scale(p.features.size(), 1.0);
    if (p.transforms.size() == 1) {
      const auto* maxabs = dynamic_cast<const MaxAbsTransform*>(p.transforms[0].get());
      if (maxabs == nullptr) {
        return Status::InvalidArgument(
            fmt::format("{}: a '{}' transform cannot be written as Kepler weights (only maxabs)",
                        comp, p.transforms[0]->kind()));
      }
      scale = maxabs->scale();
    }
    if (scale.size() != p.features.size()) {
      return Status::Internal(fmt::format("{}: scale and feature counts differ", comp));
    }
    Json all = Json::object();
    Json numerical = Json::object();
    all["Categorical_Variables"] = Json::object();
    if (const auto* lin = dynamic_cast<const LinearRegressor*>(p.regressor.get())) {
      if (lin->coef().size() != p.features.size()) {
        return Status::Internal(fmt::format("{}: coefficient and feature counts differ", comp));
      }
      all["Bias_Weight"] = lin->intercept();
      for (std::size_t i = 0; i < p.features.size(); ++i) {
        numerical[p.features[i]] = Json{{"scale", scale[i]}, {"weight", lin->coef()[i]}};
      }
      Json cat = Json::object();
      for (const auto& [name, values] : lin->categorical()) {
        Json vals = Json::object();
        for (const auto& [value, weight] : values) vals[value] = Json{{"weight", weight}};
        cat[name] = std::move(vals);
      }
      all["Categorical_Variables"] = std::move(cat);
    } else if (const auto* curve = dynamic_cast<const CurveFitRegressor*>(p.regressor.get())) {
      if (curve->feature_index() >= p.features.size()) {
        return Status::Internal(fmt::format("{}: curve feature index out of range", comp));
      }
      // The reader applies the curve to CurveFeature(...) or, failing that, the first feature in
      // sorted order; the file cannot name another one.
      std::string expected;
      if (auto f = CurveFeature(p.component, p.features)) {
        expected = *f;
      } else {
        expected = *std::min_element(p.features.begin(), p.features.end());
      }
      const std::string& actual = p.features[curve->feature_index()];
      if (actual != expected) {
        return Status::InvalidArgument(fmt::format(
            "{}: the curve reads feature '{}', but Kepler weight files always apply it to '{}'",
            comp, actual, expected));
      }
      for (std::size_t i = 0; i < p.features.size(); ++i) {
        numerical[p.features[i]] = Json{{"scale", scale[i]}};
      }
      all["CurveFit_Weights"] = curve->params();
    } else {
      return Status::InvalidArgument(fmt::format(
          "{}: a '{}' regressor cannot be written as Kepler weights (only linear and curve_fit)",
          comp, p.regressor->family()));
    }
    all["Numerical_Variables"] = std::move(numerical);
    out[comp] = Json{{"All_Weights", std::move(all)}};
  }
  return out;
}

ModelErrors KeplerPublishedErrors(const std::map<std::string, double, std::less<>>& m,
                                  const std::vector<Component>& comps) {
  ModelErrors e;
  e.protocol = "kepler-published";
  if (auto it = m.find("mae"); it != m.end()) e.mae = it->second;
  double max_mape = kNoValue;
  for (Component c : comps) {
    const std::string name(ComponentName(c));
    ComponentErrors ce;
    bool have = false;
    if (auto it = m.find(name + "_mae"); it != m.end()) {
      ce.mae = it->second;
      have = true;
    }
    if (auto it = m.find(name + "_mape"); it != m.end()) {
      ce.mape = it->second;
      have = true;
      max_mape = std::isnan(max_mape) ? ce.mape : std::max(max_mape, ce.mape);
    }
    if (have) e.per_component[name] = ce;
  }
  // Kepler's "mape" column is the last component's value (a bug); the max over components is
  // what ModelErrors promises.
  if (!std::isnan(max_mape)) {
    e.mape = max_mape;
  } else if (auto it = m.find("mape"); it != m.end()) {
    e.mape = it->second;
  }
  return e;
}

}  // namespace wattson
