// Every trainer through the registry: names, determinism, the pipeline shape the evaluation
// relies on, a lossless round trip through the wattson model format, and clear errors (never a
// crash) for bad input.
#include <cmath>
#include <set>

#include "gtest/gtest.h"
#include "models/feature_groups.h"
#include "models/wattson_format.h"
#include "train/trainer.h"
#include "train/trainer_test_util.h"

namespace wattson {
namespace {

using trainer_test::MakeInput;

std::vector<std::string> AllTrainers() {
  std::vector<std::string> all = KeplerTrainerNames();
  for (auto& n : WattsonTrainerNames()) all.push_back(n);
  return all;
}

FitInput Data(std::uint64_t seed = 3) {
  return MakeInput(
      {"bpf_cpu_time_ms", "cache_miss", "cpu_cycles", "cpu_instructions"}, {20000, 1e7, 5e10, 4e10},
      120,
      [](const std::vector<double>& r) {
        const double i = r[3] / 4e10;
        return 35 + 90 * (1 - std::exp(-2.5 * i)) + 5 * r[2] / 5e10;
      },
      0.5, seed);
}

TEST(TrainerRegistryTest, Names) {
  const std::vector<std::string> kepler = KeplerTrainerNames();
  ASSERT_EQ(kepler.size(), 10u);
  EXPECT_EQ(kepler.front(), "LinearRegressionTrainer");
  const std::vector<std::string> own = WattsonTrainerNames();
  EXPECT_GE(own.size(), 2u);
  std::set<std::string> unique;
  for (const auto& n : AllTrainers()) {
    EXPECT_TRUE(unique.insert(n).second) << n;
    auto t = MakeTrainer(n);
    ASSERT_TRUE(t.ok()) << n;
    EXPECT_EQ((*t)->name(), n);
    EXPECT_EQ((*t)->writes_kepler_weights(), IsWeightTrainer(n)) << n;
  }
  auto missing = MakeTrainer("NoSuchTrainer");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("GradientBoostingRegressorTrainer"), std::string::npos);
}

TEST(TrainerRegistryTest, EveryTrainerFitsDeterministicallyAndRoundTrips) {
  const FitInput in = Data();
  const FeatureMatrix x = trainer_test::Matrix(in);
  for (const auto& name : AllTrainers()) {
    SCOPED_TRACE(name);
    auto trainer = MakeTrainer(name);
    ASSERT_TRUE(trainer.ok());
    auto a = (*trainer)->Fit(in);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    auto b = (*trainer)->Fit(in);
    ASSERT_TRUE(b.ok());
    // The shape every caller relies on.
    EXPECT_EQ(a->component, in.component);
    EXPECT_EQ(a->features, in.features);
    ASSERT_FALSE(a->transforms.empty());
    EXPECT_EQ(a->transforms[0]->kind(), "maxabs");
    EXPECT_EQ(a->transforms[0]->ToJson().at("scale").get<std::vector<double>>(), in.scale);
    // Same seed, same model.
    auto ma = trainer_test::Model(*a, name);
    auto mb = trainer_test::Model(*b, name);
    ASSERT_TRUE(ma && mb);
    const std::string text = SerializeWattsonModel(*ma);
    EXPECT_EQ(text, SerializeWattsonModel(*mb));
    // Round trip: identical predictions, identical document.
    auto loaded = ParseWattsonModel(text, name);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(SerializeWattsonModel(**loaded), text);
    auto pa = ma->Predict(x);
    auto pb = (*loaded)->Predict(x);
    ASSERT_TRUE(pa.ok() && pb.ok()) << pa.status().ToString();
    double mae = 0;
    for (std::size_t r = 0; r < x.rows(); ++r) {
      ASSERT_EQ(pa->components[0].watts[r].value(), pb->components[0].watts[r].value());
      mae += std::fabs(pa->components[0].watts[r].value() - in.y[r]);
    }
    // Every trainer learns something (the targets span 35..124 W).
    EXPECT_LT(mae / static_cast<double>(x.rows()), 20.0);
  }
}

TEST(TrainerRegistryTest, BadInputIsAClearError) {
  const FitInput good = Data();
  auto with = [&](auto edit) {
    FitInput f = good;
    edit(f);
    return f;
  };
  const std::vector<std::pair<std::string, FitInput>> cases = {
      {"no rows", with([](FitInput& f) {
         f.rows = 0;
         f.x.clear();
         f.y.clear();
       })},
      {"one row", with([](FitInput& f) {
         f.rows = 1;
         f.x.resize(f.features.size());
         f.y.resize(1);
       })},
      {"constant", with([](FitInput& f) { std::fill(f.y.begin(), f.y.end(), 42.0); })},
      {"nan x", with([](FitInput& f) { f.x[5] = std::nan(""); })},
      {"inf y", with([](FitInput& f) { f.y[3] = INFINITY; })},
      {"short x", with([](FitInput& f) { f.x.pop_back(); })},
      {"short y", with([](FitInput& f) { f.y.pop_back(); })},
      {"short scale", with([](FitInput& f) { f.scale.pop_back(); })},
      {"negative scale", with([](FitInput& f) { f.scale[0] = -1; })},
      {"no features", with([](FitInput& f) {
         f.features.clear();
         f.scale.clear();
         f.x.clear();
       })},
  };
  for (const auto& name : AllTrainers()) {
    auto trainer = MakeTrainer(name);
    ASSERT_TRUE(trainer.ok());
    for (const auto& [what, in] : cases) {
      auto r = (*trainer)->Fit(in);
      ASSERT_FALSE(r.ok()) << name << ": " << what;
      EXPECT_NE(r.status().message().find(name), std::string::npos)
          << name << ": " << what << ": " << r.status().message();
    }
  }
}

TEST(TrainerRegistryTest, ZeroScaleFeatureIsAllowed) {
  // A feature that is always 0 (scale 0) contributes nothing, as at run time.
  FitInput in = Data();
  for (std::size_t r = 0; r < in.rows; ++r) in.x[r * 4 + 1] = 0;  // cache_miss
  in.scale[1] = 0;
  for (const auto& name : AllTrainers()) {
    auto trainer = MakeTrainer(name);
    ASSERT_TRUE(trainer.ok());
    auto p = (*trainer)->Fit(in);
    EXPECT_TRUE(p.ok()) << name << ": " << p.status().ToString();
  }
}

}  // namespace
}  // namespace wattson
