// The trainer registry: Kepler's ten trainers and wattson's own, by name.
#include <functional>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "train/trainer.h"
#include "train/trainer_curvefit.h"
#include "train/trainer_gbr.h"
#include "train/trainer_knn_svr.h"
#include "train/trainer_linear.h"
#include "train/trainer_wattson.h"
#include "train/trainer_xgboost.h"

namespace wattson {

namespace {

// A trainer name and its factory.
struct Entry {
  std::string_view name;
  std::unique_ptr<Trainer> (*make)();
};

// Kepler's default_trainer_names order.
constexpr Entry kKepler[] = {
    {"LinearRegressionTrainer", &NewLinearRegressionTrainer},
    {"SGDRegressorTrainer", &NewSgdRegressorTrainer},
    {"PolynomialRegressionTrainer", &NewPolynomialRegressionTrainer},
    {"GradientBoostingRegressorTrainer", &NewGradientBoostingRegressorTrainer},
    {"XgboostFitTrainer", &NewXgboostFitTrainer},
    {"KNeighborsRegressorTrainer", &NewKNeighborsRegressorTrainer},
    {"SVRRegressorTrainer", &NewSvrRegressorTrainer},
    {"LogarithmicRegressionTrainer", &NewLogarithmicRegressionTrainer},
    {"ExponentialRegressionTrainer", &NewExponentialRegressionTrainer},
    {"LogisticRegressionTrainer", &NewLogisticRegressionTrainer},
};

}  // namespace

std::vector<std::string> KeplerTrainerNames() {
  std::vector<std::string> out;
  for (const auto& e : kKepler) out.emplace_back(e.name);
  return out;
}

std::vector<std::string> WattsonTrainerNames() {
  std::vector<std::string> out;
  for (const auto& t : WattsonTrainers()) out.emplace_back(t.name);
  return out;
}

Result<std::unique_ptr<Trainer>> MakeTrainer(std::string_view name) {
  for (const auto& e : kKepler) {
    if (e.name == name) return e.make();
  }
  for (const auto& t : WattsonTrainers()) {
    if (t.name == name) return t.make();
  }
  std::vector<std::string> all = KeplerTrainerNames();
  for (auto& n : WattsonTrainerNames()) all.push_back(std::move(n));
  return Status::NotFound(
      fmt::format("unknown trainer '{}' (known: {})", name, fmt::join(all, ", ")));
}

}  // namespace wattson
