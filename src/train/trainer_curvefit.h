// Kepler's curve-fit trainers (Logarithmic, Exponential, Logistic): scipy.optimize.curve_fit's
// Levenberg–Marquardt (MINPACK, forward-difference Jacobian, maxfev 30000) on one scaled column,
// the feature group's curve feature for the component, starting from Kepler's p0. Stateless and
// thread-safe.
#pragma once

#include <memory>
#include <vector>

#include "common/status.h"
#include "models/curve_fit.h"
#include "train/trainer.h"

namespace wattson {

// Kepler's initial parameters (p0_func) for targets y, in CurveFit_Weights order:
// logarithmic [max−min, 1, min]; exponential a = floor((max−min)/e), [a, 1, min−a];
// logistic [max−min, 0.5, floor((max−min)/std(y)), min].
std::vector<double> KeplerCurveP0(CurveKind kind, const std::vector<double>& y);

// Least-squares fit of the curve to (x, y) from p0. Fails, with a clear message, when MINPACK
// reports no convergence (scipy's "Optimal parameters not found") or a parameter is not finite.
Result<std::vector<double>> FitCurve(CurveKind kind, const std::vector<double>& x,
                                     const std::vector<double>& y, std::vector<double> p0,
                                     int maxfev = 30000);

std::unique_ptr<Trainer> NewLogarithmicRegressionTrainer();
std::unique_ptr<Trainer> NewExponentialRegressionTrainer();
std::unique_ptr<Trainer> NewLogisticRegressionTrainer();

}  // namespace wattson
