#include "estimator/estimator.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <new>

#include "estimator/binary_codec.h"
#include "estimator/response.h"
#include "fmt/format.h"

namespace wattson::estimator {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kBadRequest:
      return "bad_request";
    case Outcome::kNoModel:
      return "no_model";
    case Outcome::kModelError:
      return "model_error";
    case Outcome::kTooLarge:
      return "too_large";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kInternal:
      return "internal";
  }
  return "internal";
}

void ApplyDynPowerRule(DynPowerRule rule, std::size_t n, const FeatureMatrix& x,
                       PowerPrediction* p) {
  // Each row's share of the metric totals, for the fallback split (computed at most once).
  std::vector<double> usage_share;
  auto shares = [&]() -> const std::vector<double>& {
    if (!usage_share.empty()) return usage_share;
    usage_share.assign(n, 0.0);
    std::size_t used_cols = 0;
    for (std::size_t c = 0; c < x.cols(); ++c) {
      double total = 0;
      for (std::size_t r = 0; r < n; ++r) total += std::max(0.0, x.at(r, c));
      if (!(total > 0) || !std::isfinite(total)) continue;
      ++used_cols;
      for (std::size_t r = 0; r < n; ++r) usage_share[r] += std::max(0.0, x.at(r, c)) / total;
    }
    if (used_cols > 0) {
      for (double& s : usage_share) s /= static_cast<double>(used_cols);
    }
    return usage_share;
  };
  for (auto& cp : p->components) {
    auto& w = cp.watts;
    const double f0 = w[n].value();
    const double fsum = w[n + 1].value();
    double total = 0;
    for (std::size_t r = 0; r < n; ++r) {
      const double d = std::max(0.0, w[r].value() - f0);
      w[r] = Watts(d);
      total += d;
    }
    if (rule == DynPowerRule::kNodeConserving) {
      const double node = std::max(0.0, fsum - f0);
      if (total > 0) {
        const double k = node / total;
        for (std::size_t r = 0; r < n; ++r) w[r] = Watts(w[r].value() * k);
      } else if (node > 0) {
        const auto& s = shares();
        for (std::size_t r = 0; r < n; ++r) w[r] = Watts(node * s[r]);
      }
    }
    w.resize(n);
  }
  p->rows = n;
}

Result<PowerPrediction> Estimator::Estimate(const EstimateRequest& request,
                                            Outcome* outcome) const {
  auto set = [outcome](Outcome o) {
    if (outcome != nullptr) *outcome = o;
  };
  set(Outcome::kNoModel);
  WATTSON_ASSIGN_OR_RETURN(std::shared_ptr<const Resolution> res, store_->Resolve(request));
  set(Outcome::kInternal);
  const PipelineModel& model = *res->served->model;
  const std::vector<std::string>& features = model.info().features;
  if (res->columns.size() != features.size()) {
    return Status::Internal("model column map does not match the model");
  }
  for (std::size_t c : res->columns) {
    if (c >= request.metrics.size()) return Status::Internal("model column out of range");
  }
  const std::size_t n = request.rows;
  const bool dyn = request.output_type == OutputType::kDynPower;
  FeatureMatrix x(features, n + (dyn ? 2 : 0));
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t i = 0; i < features.size(); ++i) x.at(r, i) = request.at(r, res->columns[i]);
  }
  if (dyn) {
    // Row n stays all zero (f(0)); row n + 1 is the node: the sum of the rows.
    for (std::size_t i = 0; i < features.size(); ++i) {
      double sum = 0;
      for (std::size_t r = 0; r < n; ++r) sum += x.at(r, i);
      if (!std::isfinite(sum)) {
        set(Outcome::kBadRequest);
        return Status::InvalidArgument(
            fmt::format("the sum of metric {} over all rows is not a finite number", features[i]));
      }
      x.at(n + 1, i) = sum;
    }
  }
  SystemFeatures system;
  for (std::size_t i = 0; i < request.system_features.size(); ++i) {
    system[request.system_features[i]] = request.system_values[i];
  }
  set(Outcome::kModelError);
  WATTSON_ASSIGN_OR_RETURN(PowerPrediction p, model.Predict(x, system));
  if (dyn) ApplyDynPowerRule(options_.dyn_power_rule, n, x, &p);
  set(Outcome::kOk);
  return p;
}

Outcome RequestHandler::HandleBinary(std::string_view, std::string* reply) {
  AppendBinaryErrorReply("this server does not take binary requests", reply);
  return Outcome::kBadRequest;
}

namespace {

// Parse, estimate, reply: the one shape of both encodings' handlers. parse(request) gives a
// Result<EstimateRequest>; write(prediction) appends the reply; error(message, parsed or null)
// appends an error reply. Never throws.
template <typename Parse, typename Write, typename Error>
Outcome HandleWith(const Estimator& est, std::string_view request, std::string* reply, Parse parse,
                   Write write, Error error) {
  const std::size_t reply_start = reply->size();
  try {
    auto parsed = parse(request);
    if (!parsed.ok()) {
      error(parsed.status().message(), nullptr);
      return Outcome::kBadRequest;
    }
    Outcome outcome = Outcome::kOk;
    auto p = est.Estimate(*parsed, &outcome);
    if (!p.ok()) {
      error(p.status().message(), &*parsed);
      return outcome;
    }
    write(*p);
    return Outcome::kOk;
  } catch (const std::bad_alloc&) {
    reply->resize(reply_start);
    error("out of memory while handling the request", nullptr);
  } catch (const std::exception& e) {
    reply->resize(reply_start);
    error(fmt::format("internal error: {}", e.what()), nullptr);
  }
  return Outcome::kInternal;
}

}  // namespace

Outcome Estimator::HandleBinary(std::string_view request, std::string* reply) {
  return HandleWith(
      *this, request, reply,
      [&](std::string_view r) { return ParseBinaryRequest(r, options_.limits); },
      [&](const PowerPrediction& p) { AppendBinaryReply(p, reply); },
      [&](std::string_view message, const EstimateRequest*) {
        AppendBinaryErrorReply(message, reply);
      });
}

Outcome Estimator::Handle(std::string_view request, std::string* reply) {
  // The legacy shape's list form applies to its errors too, once the request has been read.
  bool list_reply = false;
  return HandleWith(
      *this, request, reply,
      [&](std::string_view r) {
        auto parsed = ParseEstimateRequest(r, options_.limits);
        if (parsed.ok()) list_reply = parsed->legacy_list_reply;
        return parsed;
      },
      [&](const PowerPrediction& p) { AppendPowersReply(p, list_reply, reply); },
      [&](std::string_view message, const EstimateRequest* parsed) {
        AppendErrorReply(message, parsed != nullptr && parsed->legacy_list_reply, reply);
      });
}

}  // namespace wattson::estimator
