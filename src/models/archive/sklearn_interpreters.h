// Interpreters from pickled object trees (see pickle.h) to wattson transforms and regressors,
// with the prediction semantics of the Python objects they came from: scikit-learn's
// MaxAbsScaler, PolynomialFeatures, LinearRegression, SGDRegressor, GradientBoostingRegressor,
// KNeighborsRegressor and SVR, and kepler_model's CurveFitModel. Nothing is executed: each
// interpreter reads the object's fitted state, checks that it has the shape and options the
// wattson family reproduces exactly, and fails with a message naming `what` (the archive member)
// and the reason otherwise.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "common/status.h"
#include "models/archive/pickle.h"
#include "models/regressor.h"
#include "models/transform.h"

namespace wattson::archive {

// A feature transform (a Kepler component's fe_files entry) that reads input_size columns.
Result<std::unique_ptr<Transform>> TransformFromPickle(const PyNode& object, std::size_t input_size,
                                                       std::string_view what);

// A fitted estimator (a Kepler component's model_file) that reads input_size columns.
Result<std::unique_ptr<Regressor>> RegressorFromPickle(const PyNode& object, std::size_t input_size,
                                                       std::string_view what);

}  // namespace wattson::archive
