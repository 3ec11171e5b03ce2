// Estimator: the sidecar's request handler. Parses a Kepler (or legacy) request, finds the model
// through the ModelStore, predicts every row and writes the reply.
//
// DynPower (process-level) requests never add a model's intercept once per process (Kepler's
// sidecar did: reference spec §7 item 3). With f the model, x_p the rows and f(0) its prediction
// for an all-zero row, per component:
//   kNodeConserving (default): D = max(0, f(Σ_p x_p) − f(0)) is the node's dynamic power;
//     d_p = max(0, f(x_p) − f(0)); row p gets D · d_p / Σ d_p (or, when every d_p is 0 but D is
//     not, D split by each row's share of the metric totals). Rows sum to D exactly (up to
//     rounding) for every model family; for linear models row p is exactly f(x_p) − f(0).
//   kPerRow: row p gets d_p (no node-level prediction).
// An all-zero row therefore gets 0 W: a DynPower model has no idle power to hand out.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "estimator/handler.h"
#include "estimator/model_store.h"
#include "estimator/request.h"
#include "models/types.h"

namespace wattson::estimator {

enum class DynPowerRule { kNodeConserving, kPerRow };

struct EstimatorOptions {
  DynPowerRule dyn_power_rule = DynPowerRule::kNodeConserving;
  RequestLimits limits;
};

class Estimator final : public RequestHandler {
 public:
  // store must outlive the Estimator.
  Estimator(ModelStore* store, EstimatorOptions options) : store_(store), options_(options) {}

  Outcome Handle(std::string_view request, std::string* reply) override;
  Outcome HandleBinary(std::string_view request, std::string* reply) override;
  // The watts for a parsed request (the part of Handle after parsing). *outcome (optional) says
  // which step failed.
  Result<PowerPrediction> Estimate(const EstimateRequest& request,
                                   Outcome* outcome = nullptr) const;

 private:
  ModelStore* store_;
  EstimatorOptions options_;
};

// Applies the DynPower rule in place. p holds n + 2 rows per component: the n request rows, then
// f(0), then f(Σ rows); x holds the same n + 2 rows of model inputs (only the first n are read).
// Afterwards p holds n rows.
void ApplyDynPowerRule(DynPowerRule rule, std::size_t n, const FeatureMatrix& x,
                       PowerPrediction* p);

}  // namespace wattson::estimator
