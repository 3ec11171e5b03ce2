#include "train/isolation.h"

#include <algorithm>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wattson {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Dataset Abs() {
  Dataset ds;
  ds.name = "abs";
  ds.timestamps = {1, 2, 3, 4};
  ds.feature_names = {"x"};
  ds.features = {{1, 2, 3, 4}};
  ds.targets[Component::kPackage] = {30, 50, 40, 70};
  ds.targets[Component::kDram] = {10, 12, 11, 15};
  return ds;
}

TEST(IsolationTest, Names) {
  for (IsolationMethod m :
       {IsolationMethod::kNone, IsolationMethod::kMin, IsolationMethod::kProfile}) {
    auto parsed = ParseIsolation(IsolationName(m));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, m);
  }
  auto bad = ParseIsolation("trainer");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("none, min, profile"));
}

TEST(IsolationTest, NoneKeepsTargets) {
  auto r = Isolate(Abs(), IsolationMethod::kNone);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->data.targets.at(Component::kPackage), ElementsAre(30, 50, 40, 70));
  EXPECT_EQ(r->idle_watts.at(Component::kPackage), 0);
  EXPECT_EQ(r->data.notes.back(), "DynPower by isolation 'none'");
}

TEST(IsolationTest, MinSubtractsTheMinimumPerComponent) {
  auto r = Isolate(Abs(), IsolationMethod::kMin);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->data.targets.at(Component::kPackage), ElementsAre(0, 20, 10, 40));
  EXPECT_THAT(r->data.targets.at(Component::kDram), ElementsAre(0, 2, 1, 5));
  EXPECT_EQ(r->idle_watts.at(Component::kPackage), 30);
  EXPECT_EQ(r->idle_watts.at(Component::kDram), 10);
  // Features and timestamps are untouched.
  EXPECT_THAT(r->data.features[0], ElementsAre(1, 2, 3, 4));
}

TEST(IsolationTest, ProfileSubtractsTheIdleMedianAndClampsAtZero) {
  Dataset idle = Abs();
  idle.targets[Component::kPackage] = {35, 45, 100, 36};  // median 40.5, robust to the spike
  idle.targets[Component::kDram] = {11, 11, 11};
  idle.timestamps = {1, 2, 3, 4};
  auto r = Isolate(Abs(), IsolationMethod::kProfile, &idle);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_DOUBLE_EQ(r->idle_watts.at(Component::kPackage), 40.5);
  EXPECT_THAT(r->data.targets.at(Component::kPackage), ElementsAre(0, 9.5, 0, 29.5));
  EXPECT_THAT(r->data.targets.at(Component::kDram), ElementsAre(0, 1, 0, 4));
}

TEST(IsolationTest, ProfileErrors) {
  auto no_idle = Isolate(Abs(), IsolationMethod::kProfile);
  ASSERT_FALSE(no_idle.ok());
  EXPECT_THAT(no_idle.status().message(), HasSubstr("needs an idle run"));
  Dataset idle = Abs();
  idle.targets.erase(Component::kDram);
  auto missing = Isolate(Abs(), IsolationMethod::kProfile, &idle);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("no dram power"));
  EXPECT_FALSE(Isolate(Dataset{}, IsolationMethod::kMin).ok());
}

TEST(IsolationTest, Nx12MinMatchesThePublishedDynPowerOffsets) {
  auto ds = LoadDatasetCsv(std::string(WATTSON_TESTDATA_DIR) +
                           "/kepler-model-db/nx12_v0.6/nx12_merged_abs.csv");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  auto r = Isolate(*ds, IsolationMethod::kMin);
  ASSERT_TRUE(r.ok());
  // README: DynPower = absolute power minus its minimum (package 30.937, dram 38.039,
  // platform 171 W).
  EXPECT_NEAR(r->idle_watts.at(Component::kPackage), 30.937, 1e-3);
  EXPECT_NEAR(r->idle_watts.at(Component::kDram), 38.039, 1e-3);
  EXPECT_DOUBLE_EQ(r->idle_watts.at(Component::kPlatform), 171);
  const auto& pkg = r->data.targets.at(Component::kPackage);
  EXPECT_EQ(*std::min_element(pkg.begin(), pkg.end()), 0);
}

}  // namespace
}  // namespace wattson
