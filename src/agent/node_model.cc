#include "agent/node_model.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/json_util.h"
#include "fmt/format.h"

namespace wattson::agent {

std::vector<std::string> ComputableFeatures(bool have_perf_counters) {
  std::vector<std::string> out = {"bpf_cpu_time_ms", "bpf_cpu_time_us"};
  if (have_perf_counters) {
    out.insert(out.end(), {"cache_miss", "cpu_cycles", "cpu_instructions"});
  }
  return out;
}

FeatureValues ComputeNodeFeatures(const std::optional<usage::NodeCpuTimes>& prev,
                                  const std::optional<usage::NodeCpuTimes>& cur, Seconds dt,
                                  Seconds process_cpu_time, const usage::PerfTick* perf) {
  FeatureValues out;
  const double secs = dt.value();
  if (!(secs > 0) || !std::isfinite(secs)) return out;
  double busy = process_cpu_time.value();
  if (prev && cur) {
    const double d = (cur->Busy() - prev->Busy()).value();
    if (std::isfinite(d) && d >= 0) busy = d;
  }
  if (!std::isfinite(busy) || busy < 0) busy = 0;
  const double ms_per_s = busy * 1000.0 / secs;
  out["bpf_cpu_time_ms"] = ms_per_s;
  out["bpf_cpu_time_us"] = ms_per_s;  // v0.6's name for the same quantity (see the header)
  if (perf != nullptr && !perf->baseline) {
    for (std::size_t i = 0; i < usage::kHwCounterCount; ++i) {
      const auto c = static_cast<usage::HwCounter>(i);
      if (const auto& v = (*perf)[c]; v && std::isfinite(*v) && *v >= 0) {
        out[std::string(usage::HwCounterName(c))] = *v / secs;
      }
    }
  }
  return out;
}

std::string_view NodeTargetName(NodeTarget t) {
  return t == NodeTarget::kComponents ? "NODE_COMPONENTS" : "NODE_TOTAL";
}

std::string_view NodeTargetSource(NodeTarget t) {
  return t == NodeTarget::kComponents ? "rapl-sysfs" : "acpi";
}

bool ComponentInTarget(Component c, NodeTarget t) {
  return t == NodeTarget::kPlatform ? c == Component::kPlatform : c != Component::kPlatform;
}

exporter::ModelProvenance ProvenanceOf(const ModelInfo& info) {
  exporter::ModelProvenance p;
  p.id = info.id;
  p.name = info.name;
  p.trainer = info.trainer;
  p.feature_group = info.feature_group;
  p.energy_source = info.energy_source;
  p.output_type = std::string(OutputTypeName(info.output_type));
  p.training_platform =
      !info.provenance.machine.empty() ? info.provenance.machine : info.provenance.dataset;
  if (info.errors.has_mae()) p.errors["mae"] = info.errors.mae;
  if (!std::isnan(info.errors.mape)) p.errors["mape"] = info.errors.mape;
  for (const auto& [comp, e] : info.errors.per_component) {
    if (!std::isnan(e.mae)) p.errors[comp + "_mae"] = e.mae;
    if (!std::isnan(e.mape)) p.errors[comp + "_mape"] = e.mape;
  }
  return p;
}

Result<std::unique_ptr<LocalNodeModel>> LocalNodeModel::Create(
    std::shared_ptr<const PowerModel> model, NodeTarget target,
    const std::vector<std::string>& available) {
  if (model == nullptr) return Status::InvalidArgument("no model");
  const ModelInfo& info = model->info();
  if (info.output_type != OutputType::kAbsPower) {
    return Status::InvalidArgument(fmt::format(
        "model '{}' predicts {}; node power needs an AbsPower model (power including idle)",
        info.id, OutputTypeName(info.output_type)));
  }
  std::vector<std::string> missing;
  for (const auto& f : info.features) {
    if (std::find(available.begin(), available.end(), f) == available.end()) missing.push_back(f);
  }
  if (!missing.empty()) {
    std::string have, need;
    for (const auto& f : available) have += (have.empty() ? "" : ", ") + f;
    for (const auto& f : missing) need += (need.empty() ? "" : ", ") + f;
    return Status::InvalidArgument(fmt::format(
        "model '{}' needs feature(s) {} that the agent cannot compute on this host (it can: {})",
        info.id, need, have));
  }
  if (!info.system_features.empty()) {
    return Status::InvalidArgument(
        fmt::format("model '{}' reads system features, which the agent does not supply", info.id));
  }
  auto out = std::unique_ptr<LocalNodeModel>(new LocalNodeModel());
  out->model_ = std::move(model);
  out->target_ = target;
  // Probe at zero and at the top of the training range: a component that is 0 W at both is one
  // the training machine did not have.
  const std::vector<std::string>& names = info.features;
  std::vector<std::vector<double>> rows(2, std::vector<double>(names.size(), 0.0));
  for (std::size_t i = 0; i < names.size(); ++i) {
    double top = 1.0;
    for (const auto& r : info.training_range) {
      if (r.feature == names[i]) top = r.max;
    }
    rows[1][i] = top;
  }
  WATTSON_ASSIGN_OR_RETURN(FeatureMatrix probe, FeatureMatrix::FromRows(names, rows));
  auto pred = out->model_->Predict(probe);
  if (!pred.ok()) {
    return pred.status().WithContext(fmt::format("model '{}' fails on probe rows", info.id));
  }
  for (const auto& cp : pred->components) {
    if (!ComponentInTarget(cp.component, target)) continue;
    const bool all_zero =
        std::all_of(cp.watts.begin(), cp.watts.end(), [](Watts w) { return w.value() == 0.0; });
    if (!all_zero) out->components_.push_back(cp.component);
  }
  if (out->components_.empty()) {
    return Status::InvalidArgument(fmt::format(
        "model '{}' predicts no {} component ({})", info.id, NodeTargetName(target),
        target == NodeTarget::kPlatform ? "platform" : "package, core, uncore or dram"));
  }
  out->provenance_ = ProvenanceOf(info);
  return out;
}

std::string LocalNodeModel::Describe() const {
  const ModelInfo& info = model_->info();
  std::string comps, feats;
  for (auto c : components_) comps += (comps.empty() ? "" : ",") + std::string(ComponentName(c));
  for (const auto& f : info.features) feats += (feats.empty() ? "" : ",") + f;
  std::string err = "no published error";
  if (info.errors.has_mae()) {
    err = fmt::format("mae {:.2f} W ({})", info.errors.mae, info.errors.protocol);
  }
  return fmt::format(
      "model '{}' (trainer {}, features {}, {}{}) for {}", info.id, info.trainer, feats, err,
      info.training_range.empty() ? ", no training range: inputs not range-checked" : "", comps);
}

Result<NodeEstimate> LocalNodeModel::Estimate(const FeatureValues& features) {
  const ModelInfo& info = model_->info();
  const std::vector<std::string>& names = info.features;
  FeatureMatrix x(names, 2);
  NodeEstimate out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto it = features.find(names[i]);
    if (it == features.end()) {
      return Status::Unavailable(fmt::format("feature {} was not measured this tick", names[i]));
    }
    x.at(0, i) = it->second;
    x.at(1, i) = 0.0;
    for (const auto& r : info.training_range) {
      if (r.feature != names[i]) continue;
      if (it->second < r.min) {
        out.out_of_range.push_back(fmt::format("{}={:.6g} < {:.6g}", names[i], it->second, r.min));
      } else if (it->second > r.max) {
        out.out_of_range.push_back(fmt::format("{}={:.6g} > {:.6g}", names[i], it->second, r.max));
      }
    }
  }
  out.input_out_of_range = !out.out_of_range.empty();
  WATTSON_ASSIGN_OR_RETURN(PowerPrediction pred, model_->Predict(x));
  for (Component c : components_) {
    const ComponentPower* cp = pred.Find(c);
    if (cp == nullptr || cp->watts.size() != 2) continue;
    out.components.push_back({std::string(ComponentName(c)), cp->watts[0], cp->watts[1]});
  }
  return out;
}

SidecarNodeModel::SidecarNodeModel(std::string socket_path, NodeTarget target,
                                   std::vector<std::string> features,
                                   std::chrono::milliseconds timeout)
    : socket_path_(std::move(socket_path)),
      target_(target),
      features_(std::move(features)),
      timeout_(timeout) {
  provenance_.id = fmt::format("estimator-sidecar/{}", NodeTargetSource(target));
  provenance_.name = "estimator sidecar";
  provenance_.trainer = "chosen by the sidecar";
  provenance_.energy_source = std::string(NodeTargetSource(target));
  provenance_.output_type = "AbsPower";
  provenance_.training_platform = "unknown (sidecar at " + socket_path_ + ")";
}

std::string SidecarNodeModel::Describe() const {
  return fmt::format("the estimator sidecar at {} (framed protocol, source {})", socket_path_,
                     NodeTargetSource(target_));
}

Result<NodeEstimate> SidecarNodeModel::Estimate(const FeatureValues& features) {
  estimator::BinaryRequest req;
  std::vector<double> row;
  for (const auto& f : features_) {
    auto it = features.find(f);
    if (it == features.end()) continue;
    req.metrics.push_back(f);
    row.push_back(it->second);
  }
  if (req.metrics.empty()) return Status::Unavailable("no feature was measured this tick");
  req.rows = 2;  // this tick, then all zeros (the model's idle)
  req.values = row;
  req.values.resize(2 * row.size(), 0.0);
  req.output_type = "AbsPower";
  req.source = std::string(NodeTargetSource(target_));
  if (!client_) {
    auto c = estimator::FramedClient::Connect(socket_path_, timeout_);
    if (!c.ok()) return c.status().WithContext("estimator sidecar " + socket_path_);
    client_.emplace(std::move(c).value());
    // One request per tick: waiting on the CPU for the reply (at most this long, then blocking)
    // spares a thread wake-up, which on a VM costs more than the server's work.
    client_->set_busy_poll(std::chrono::microseconds(200));
  }
  std::vector<std::pair<std::string, std::vector<double>>> powers;
  std::string msg;
  Status s = client_->version() >= estimator::kFramedVersionBinary ? CallBinary(req, &powers, &msg)
                                                                   : CallJson(req, &powers, &msg);
  if (!s.ok()) {
    client_.reset();  // reconnect next tick
    return s.WithContext("estimator sidecar " + socket_path_);
  }
  if (!msg.empty()) return Status::Unavailable("estimator sidecar: " + msg);
  NodeEstimate out;
  for (const auto& [name, w] : powers) {
    auto comp = ParseComponent(name);
    if (!comp.ok() || !ComponentInTarget(*comp, target_)) continue;
    if (w.size() != 2) {
      return Status::InvalidArgument(
          fmt::format("estimator reply powers.{}: {} values for 2 rows", name, w.size()));
    }
    for (double v : w) {
      if (!std::isfinite(v)) {
        return Status::InvalidArgument(
            fmt::format("estimator reply powers.{}: a value is not a finite number", name));
      }
    }
    out.components.push_back({name, Watts(std::max(0.0, w[0])), Watts(std::max(0.0, w[1]))});
  }
  if (out.components.empty()) {
    return Status::Unavailable(
        fmt::format("estimator reply has no {} component", NodeTargetName(target_)));
  }
  return out;
}

Status SidecarNodeModel::CallBinary(
    const estimator::BinaryRequest& req,
    std::vector<std::pair<std::string, std::vector<double>>>* powers, std::string* msg) {
  WATTSON_ASSIGN_OR_RETURN(std::string payload, estimator::EncodeBinaryRequest(req));
  WATTSON_ASSIGN_OR_RETURN(std::string raw, client_->Call(payload));
  WATTSON_ASSIGN_OR_RETURN(estimator::BinaryReply reply, estimator::ParseBinaryReply(raw));
  *msg = std::move(reply.msg);
  for (auto& c : reply.components) powers->emplace_back(std::move(c.name), std::move(c.watts));
  return Status::Ok();
}

Status SidecarNodeModel::CallJson(const estimator::BinaryRequest& req,
                                  std::vector<std::pair<std::string, std::vector<double>>>* powers,
                                  std::string* msg) {
  Json j;
  j["metrics"] = req.metrics;
  Json values = Json::array();
  for (std::size_t r = 0; r < req.rows; ++r) {
    Json row = Json::array();
    for (std::size_t c = 0; c < req.metrics.size(); ++c) {
      row.push_back(req.values[r * req.metrics.size() + c]);
    }
    values.push_back(std::move(row));
  }
  j["values"] = std::move(values);
  j["output_type"] = req.output_type;
  j["source"] = req.source;
  WATTSON_ASSIGN_OR_RETURN(std::string raw, client_->Call(j.dump()));
  WATTSON_ASSIGN_OR_RETURN(Json reply, ParseJson(raw, "estimator reply"));
  const Json* m = FindField(reply, "msg");
  if (m != nullptr && m->is_string()) *msg = m->get<std::string>();
  if (!msg->empty()) return Status::Ok();
  const Json* p = FindField(reply, "powers");
  if (p == nullptr || !p->is_object()) {
    return Status::InvalidArgument("estimator reply has no \"powers\" object");
  }
  for (const auto& [name, list] : p->items()) {
    WATTSON_ASSIGN_OR_RETURN(std::vector<double> w,
                             AsFiniteNumberArray(list, "powers." + name, 16));
    powers->emplace_back(name, std::move(w));
  }
  return Status::Ok();
}

}  // namespace wattson::agent
