#include "models/wattson_format.h"

#include <cmath>

#include "common/file_util.h"
#include "fmt/format.h"
#include "models/curve_fit.h"

namespace wattson {

namespace {

Json NumberOrNull(double v) { return std::isnan(v) ? Json(nullptr) : Json(v); }

Result<double> OptionalNumber(const Json& obj, std::string_view key, std::string_view ctx) {
  const Json* v = FindField(obj, key);
  if (v == nullptr || v->is_null()) return kNoValue;
  return AsFiniteNumber(*v, JoinPath(ctx, key));
}

Result<std::string> OptionalString(const Json& obj, std::string_view key, std::string_view ctx) {
  const Json* v = FindField(obj, key);
  if (v == nullptr || v->is_null()) return std::string();
  return AsString(*v, JoinPath(ctx, key));
}

// Curve fits name the feature they read; the regressor itself only knows its index.
Result<Json> RegressorToJson(const ComponentPipeline& p) {
  Json r = p.regressor->ToJson();
  if (const auto* cf = dynamic_cast<const CurveFitRegressor*>(p.regressor.get())) {
    r["feature"] = p.features.at(cf->feature_index());
  }
  return r;
}

}  // namespace

bool IsWattsonModelJson(const Json& j) {
  const Json* f = FindField(j, "format");
  return f != nullptr && f->is_string() && f->get<std::string>() == kWattsonFormatName;
}

Json MachineSpecToJson(const MachineSpec& s) {
  return Json{{"processor", s.processor},
              {"cores", s.cores},
              {"chips", s.chips},
              {"memory", s.memory_gib},
              {"frequency", s.frequency_mhz}};
}

Result<MachineSpec> MachineSpecFromJson(const Json& j, std::string_view ctx) {
  if (!j.is_object()) return Status::InvalidArgument(fmt::format("{}: expected an object", ctx));
  MachineSpec s;
  WATTSON_ASSIGN_OR_RETURN(s.processor, OptionalString(j, "processor", ctx));
  auto num = [&](std::string_view key, double* out) -> Status {
    auto v = OptionalNumber(j, key, ctx);
    if (!v.ok()) return v.status();
    *out = std::isnan(*v) ? 0.0 : *v;
    if (*out < 0) return Status::InvalidArgument(fmt::format("{}: negative", JoinPath(ctx, key)));
    return Status::Ok();
  };
  WATTSON_RETURN_IF_ERROR(num("cores", &s.cores));
  WATTSON_RETURN_IF_ERROR(num("chips", &s.chips));
  WATTSON_RETURN_IF_ERROR(num("memory", &s.memory_gib));
  WATTSON_RETURN_IF_ERROR(num("frequency", &s.frequency_mhz));
  return s;
}

Json ModelInfoToJson(const ModelInfo& info) {
  Json components = Json::array();
  for (Component c : info.components) components.push_back(ComponentName(c));
  const Provenance& p = info.provenance;
  Json provenance{{"dataset", p.dataset}, {"dataset_sha256", p.dataset_sha256},
                  {"machine", p.machine}, {"machine_spec", MachineSpecToJson(p.machine_spec)},
                  {"trainer", p.trainer}, {"created", p.created},
                  {"tool", p.tool},       {"origin", p.origin},
                  {"notes", p.notes}};
  Json per = Json::object();
  for (const auto& [name, e] : info.errors.per_component) {
    per[name] = Json{{"mae", NumberOrNull(e.mae)},
                     {"mape", NumberOrNull(e.mape)},
                     {"max_error", NumberOrNull(e.max_error)},
                     {"r2", NumberOrNull(e.r2)}};
  }
  Json errors{{"protocol", info.errors.protocol},
              {"mae", NumberOrNull(info.errors.mae)},
              {"mape", NumberOrNull(info.errors.mape)},
              {"per_component", std::move(per)}};
  Json range = Json::array();
  for (const auto& r : info.training_range) {
    range.push_back(Json{{"feature", r.feature}, {"min", r.min}, {"max", r.max}});
  }
  return Json{{"id", info.id},
              {"name", info.name},
              {"trainer", info.trainer},
              {"output_type", OutputTypeName(info.output_type)},
              {"energy_source", info.energy_source},
              {"feature_group", info.feature_group},
              {"node_type", info.node_type},
              {"features", info.features},
              {"system_features", info.system_features},
              {"components", std::move(components)},
              {"provenance", std::move(provenance)},
              {"errors", std::move(errors)},
              {"training_range", std::move(range)}};
}

Status ModelInfoFromJson(const Json& j, std::string_view ctx, ModelInfo* info) {
  if (!j.is_object()) return Status::InvalidArgument(fmt::format("{}: expected an object", ctx));
  WATTSON_ASSIGN_OR_RETURN(info->id, OptionalString(j, "id", ctx));
  WATTSON_ASSIGN_OR_RETURN(info->name, OptionalString(j, "name", ctx));
  WATTSON_ASSIGN_OR_RETURN(info->trainer, OptionalString(j, "trainer", ctx));
  WATTSON_ASSIGN_OR_RETURN(std::string ot, GetString(j, "output_type", ctx));
  auto parsed_ot = ParseOutputType(ot);
  if (!parsed_ot.ok()) return parsed_ot.status().WithContext(JoinPath(ctx, "output_type"));
  info->output_type = *parsed_ot;
  WATTSON_ASSIGN_OR_RETURN(info->energy_source, GetString(j, "energy_source", ctx));
  WATTSON_ASSIGN_OR_RETURN(info->feature_group, OptionalString(j, "feature_group", ctx));
  if (const Json* nt = FindField(j, "node_type"); nt && !nt->is_null()) {
    WATTSON_ASSIGN_OR_RETURN(long long v, AsInteger(*nt, JoinPath(ctx, "node_type"), -1, 1 << 30));
    info->node_type = static_cast<int>(v);
  }
  if (const Json* sf = FindField(j, "system_features"); sf && !sf->is_null()) {
    WATTSON_ASSIGN_OR_RETURN(info->system_features,
                             AsStringArray(*sf, JoinPath(ctx, "system_features"), 256));
  }
  if (const Json* pj = FindField(j, "provenance"); pj && !pj->is_null()) {
    const std::string pctx = JoinPath(ctx, "provenance");
    if (!pj->is_object()) return Status::InvalidArgument(pctx + ": expected an object");
    Provenance& p = info->provenance;
    WATTSON_ASSIGN_OR_RETURN(p.dataset, OptionalString(*pj, "dataset", pctx));
    WATTSON_ASSIGN_OR_RETURN(p.dataset_sha256, OptionalString(*pj, "dataset_sha256", pctx));
    WATTSON_ASSIGN_OR_RETURN(p.machine, OptionalString(*pj, "machine", pctx));
    if (const Json* ms = FindField(*pj, "machine_spec"); ms && !ms->is_null()) {
      WATTSON_ASSIGN_OR_RETURN(p.machine_spec,
                               MachineSpecFromJson(*ms, JoinPath(pctx, "machine_spec")));
    }
    WATTSON_ASSIGN_OR_RETURN(p.trainer, OptionalString(*pj, "trainer", pctx));
    WATTSON_ASSIGN_OR_RETURN(p.created, OptionalString(*pj, "created", pctx));
    WATTSON_ASSIGN_OR_RETURN(p.tool, OptionalString(*pj, "tool", pctx));
    WATTSON_ASSIGN_OR_RETURN(p.origin, OptionalString(*pj, "origin", pctx));
    WATTSON_ASSIGN_OR_RETURN(p.notes, OptionalString(*pj, "notes", pctx));
  }
  if (const Json* ej = FindField(j, "errors"); ej && !ej->is_null()) {
    const std::string ectx = JoinPath(ctx, "errors");
    if (!ej->is_object()) return Status::InvalidArgument(ectx + ": expected an object");
    ModelErrors& e = info->errors;
    WATTSON_ASSIGN_OR_RETURN(e.protocol, OptionalString(*ej, "protocol", ectx));
    WATTSON_ASSIGN_OR_RETURN(e.mae, OptionalNumber(*ej, "mae", ectx));
    WATTSON_ASSIGN_OR_RETURN(e.mape, OptionalNumber(*ej, "mape", ectx));
    if (const Json* pc = FindField(*ej, "per_component"); pc && !pc->is_null()) {
      const std::string cctx = JoinPath(ectx, "per_component");
      if (!pc->is_object()) return Status::InvalidArgument(cctx + ": expected an object");
      for (const auto& [name, v] : pc->items()) {
        const std::string nctx = JoinPath(cctx, name);
        if (!v.is_object()) return Status::InvalidArgument(nctx + ": expected an object");
        ComponentErrors ce;
        WATTSON_ASSIGN_OR_RETURN(ce.mae, OptionalNumber(v, "mae", nctx));
        WATTSON_ASSIGN_OR_RETURN(ce.mape, OptionalNumber(v, "mape", nctx));
        WATTSON_ASSIGN_OR_RETURN(ce.max_error, OptionalNumber(v, "max_error", nctx));
        WATTSON_ASSIGN_OR_RETURN(ce.r2, OptionalNumber(v, "r2", nctx));
        e.per_component[name] = ce;
      }
    }
  }
  if (const Json* tr = FindField(j, "training_range"); tr && !tr->is_null()) {
    const std::string tctx = JoinPath(ctx, "training_range");
    if (!tr->is_array() || tr->size() > 4096) {
      return Status::InvalidArgument(tctx + ": expected an array of at most 4096 entries");
    }
    for (std::size_t i = 0; i < tr->size(); ++i) {
      const std::string ictx = fmt::format("{}[{}]", tctx, i);
      FeatureRange r;
      WATTSON_ASSIGN_OR_RETURN(r.feature, GetString((*tr)[i], "feature", ictx));
      WATTSON_ASSIGN_OR_RETURN(r.min, GetFiniteNumber((*tr)[i], "min", ictx));
      WATTSON_ASSIGN_OR_RETURN(r.max, GetFiniteNumber((*tr)[i], "max", ictx));
      if (r.min > r.max) return Status::InvalidArgument(ictx + ": min > max");
      info->training_range.push_back(std::move(r));
    }
  }
  return Status::Ok();
}

Json WattsonModelToJson(const PipelineModel& model) {
  Json components = Json::array();
  for (const auto& p : model.pipelines()) {
    Json transforms = Json::array();
    for (const auto& t : p.transforms) transforms.push_back(t->ToJson());
    auto reg = RegressorToJson(p);
    components.push_back(Json{{"component", ComponentName(p.component)},
                              {"features", p.features},
                              {"transforms", std::move(transforms)},
                              {"regressor", reg.ok() ? std::move(reg).value() : Json()}});
  }
  return Json{{"format", kWattsonFormatName},
              {"version", kWattsonFormatVersion},
              {"info", ModelInfoToJson(model.info())},
              {"components", std::move(components)}};
}

Result<std::unique_ptr<PipelineModel>> WattsonModelFromJson(const Json& j, std::string_view what) {
  const std::string ctx(what);
  if (!IsWattsonModelJson(j)) {
    return Status::InvalidArgument(ctx +
                                   ": not a wattson model (no \"format\": \"wattson-model\")");
  }
  WATTSON_ASSIGN_OR_RETURN(const Json* v, GetField(j, "version", ctx));
  WATTSON_ASSIGN_OR_RETURN(long long version, AsInteger(*v, JoinPath(ctx, "version"), 0, 1 << 20));
  if (version != kWattsonFormatVersion) {
    return Status::InvalidArgument(
        fmt::format("{}: format version {} is not supported (this wattson reads {})", ctx, version,
                    kWattsonFormatVersion));
  }
  ModelInfo info;
  WATTSON_ASSIGN_OR_RETURN(const Json* ij, GetField(j, "info", ctx));
  WATTSON_RETURN_IF_ERROR(ModelInfoFromJson(*ij, JoinPath(ctx, "info"), &info));
  WATTSON_ASSIGN_OR_RETURN(const Json* cj, GetField(j, "components", ctx));
  if (!cj->is_array() || cj->empty() || cj->size() > 16) {
    return Status::InvalidArgument(ctx + ".components: expected an array of 1..16 components");
  }
  std::vector<ComponentPipeline> pipelines;
  for (std::size_t i = 0; i < cj->size(); ++i) {
    const Json& e = (*cj)[i];
    const std::string cctx = fmt::format("{}.components[{}]", ctx, i);
    ComponentPipeline p;
    WATTSON_ASSIGN_OR_RETURN(std::string comp, GetString(e, "component", cctx));
    auto c = ParseComponent(comp);
    if (!c.ok()) return c.status().WithContext(JoinPath(cctx, "component"));
    p.component = *c;
    WATTSON_ASSIGN_OR_RETURN(const Json* fj, GetField(e, "features", cctx));
    WATTSON_ASSIGN_OR_RETURN(p.features, AsStringArray(*fj, JoinPath(cctx, "features"), 4096));
    if (const Json* tj = FindField(e, "transforms"); tj && !tj->is_null()) {
      if (!tj->is_array() || tj->size() > 16) {
        return Status::InvalidArgument(cctx + ".transforms: expected an array of at most 16");
      }
      for (std::size_t t = 0; t < tj->size(); ++t) {
        WATTSON_ASSIGN_OR_RETURN(
            auto tr, TransformFromJson((*tj)[t], fmt::format("{}.transforms[{}]", cctx, t)));
        p.transforms.push_back(std::move(tr));
      }
    }
    WATTSON_ASSIGN_OR_RETURN(const Json* rj, GetField(e, "regressor", cctx));
    const std::string rctx = JoinPath(cctx, "regressor");
    WATTSON_ASSIGN_OR_RETURN(auto reg, RegressorFromJson(*rj, rctx));
    if (const auto* cf = dynamic_cast<const CurveFitRegressor*>(reg.get())) {
      // The named feature must be the one at feature_index, and every transform elementwise, so
      // that the name still describes the value the curve reads.
      WATTSON_ASSIGN_OR_RETURN(std::string feature, GetString(*rj, "feature", rctx));
      if (cf->feature_index() >= p.features.size() || p.features[cf->feature_index()] != feature) {
        return Status::InvalidArgument(fmt::format("{}: feature '{}' is not at feature_index {}",
                                                   rctx, feature, cf->feature_index()));
      }
      for (const auto& t : p.transforms) {
        if (!t->elementwise()) {
          return Status::InvalidArgument(rctx + ": a curve fit needs elementwise transforms only");
        }
      }
    }
    p.regressor = std::move(reg);
    pipelines.push_back(std::move(p));
  }
  auto model = PipelineModel::Create(std::move(info), std::move(pipelines));
  if (!model.ok()) return model.status().WithContext(ctx);
  return model;
}

Result<std::unique_ptr<PipelineModel>> ParseWattsonModel(std::string_view text,
                                                         std::string_view what) {
  WATTSON_ASSIGN_OR_RETURN(Json j, ParseJson(text, what));
  return WattsonModelFromJson(j, what);
}

std::string SerializeWattsonModel(const PipelineModel& model) {
  return WattsonModelToJson(model).dump(1) + "\n";
}

Status SaveWattsonModel(const PipelineModel& model, const std::string& path) {
  return WriteLocalFileAtomic(path, SerializeWattsonModel(model));
}

}  // namespace wattson
