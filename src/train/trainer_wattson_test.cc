// wattson's own trainers and the derived-feature transform they use: transform semantics and its
// wattson-format JSON, the ratio terms chosen per feature group, and the robust fits.
#include "train/trainer_wattson.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "models/linear.h"
#include "models/transform.h"
#include "models/wattson_format.h"
#include "train/trainer_test_util.h"

namespace wattson {
namespace {

using trainer_test::Mae;
using trainer_test::MakeInput;
using trainer_test::Predict;

TEST(DerivedTransformTest, Semantics) {
  auto t = DerivedTransform::Create(3, {{DerivedOp::kRatio, 1, 2, 1.0, "b/c"},
                                        {DerivedOp::kRatio, 0, 2, 1.0, ""},
                                        {DerivedOp::kProduct, 0, 3, 1.0, ""},
                                        {DerivedOp::kLog1p, 0, 0, 100.0, ""},
                                        {DerivedOp::kSqrt, 0, 0, 1.0, ""},
                                        {DerivedOp::kSquare, 1, 0, 1.0, ""}});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->input_size(), 3u);
  EXPECT_EQ((*t)->output_size(), 9u);
  EXPECT_FALSE((*t)->elementwise());
  {
    const double in[] = {-0.25, 3.0, 2.0};
    double out[9];
    (*t)->Apply(in, out);
    EXPECT_EQ(out[0], -0.25);
    EXPECT_EQ(out[2], 2.0);
    EXPECT_DOUBLE_EQ(out[3], 1.5);                      // b / c
    EXPECT_DOUBLE_EQ(out[4], -0.125);                   // a / c
    EXPECT_DOUBLE_EQ(out[5], -0.25 * 1.5);              // a · (b / c), a term of a term
    EXPECT_DOUBLE_EQ(out[6], -std::log1p(100 * 0.25));  // sign-preserving log1p
    EXPECT_DOUBLE_EQ(out[7], -0.5);                     // sign-preserving sqrt
    EXPECT_DOUBLE_EQ(out[8], 9.0);                      // b²
  }
  {
    const double in[] = {1.0, 3.0, 0.0};  // a zero denominator gives 0
    double out[9];
    (*t)->Apply(in, out);
    EXPECT_EQ(out[3], 0.0);
    EXPECT_EQ(out[4], 0.0);
  }
}

TEST(DerivedTransformTest, RejectsForwardReferencesAndBadScales) {
  EXPECT_FALSE(DerivedTransform::Create(2, {{DerivedOp::kRatio, 0, 2, 1.0, ""}}).ok());
  EXPECT_FALSE(DerivedTransform::Create(2, {{DerivedOp::kSqrt, 5, 0, 1.0, ""}}).ok());
  EXPECT_FALSE(DerivedTransform::Create(2, {{DerivedOp::kLog1p, 0, 0, 0.0, ""}}).ok());
  EXPECT_FALSE(DerivedTransform::Create(2, {{DerivedOp::kLog1p, 0, 0, NAN, ""}}).ok());
  EXPECT_TRUE(DerivedTransform::Create(2, {}).ok());
}

TEST(DerivedTransformTest, JsonRoundTripAndErrors) {
  auto t = DerivedTransform::Create(2, {{DerivedOp::kRatio, 1, 0, 1.0, "b/a"},
                                        {DerivedOp::kLog1p, 2, 0, 10.0, ""},
                                        {DerivedOp::kSquare, 3, 0, 1.0, ""}});
  ASSERT_TRUE(t.ok());
  const Json j = (*t)->ToJson();
  EXPECT_EQ(j.at("type"), "derived");
  EXPECT_EQ(j.at("terms")[0].at("name"), "b/a");
  auto back = TransformFromJson(j, "t");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)->ToJson(), j);
  const double in[] = {2.0, 5.0};
  double o1[5], o2[5];
  (*t)->Apply(in, o1);
  (*back)->Apply(in, o2);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(o1[i], o2[i]);

  auto bad = [&](const char* text) {
    auto parsed = ParseJson(text, "test");
    EXPECT_TRUE(parsed.ok());
    auto r = TransformFromJson(*parsed, "components[0].transforms[1]");
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(bad(R"({"type":"derived","input_size":2,"terms":[{"op":"cube","args":[0]}]})")
                .find("unknown op 'cube'"),
            std::string::npos);
  EXPECT_NE(bad(R"({"type":"derived","input_size":2,"terms":[{"op":"ratio","args":[0]}]})")
                .find("2 indices"),
            std::string::npos);
  EXPECT_NE(bad(R"({"type":"derived","input_size":2,"terms":[{"op":"sqrt","args":[2]}]})")
                .find("terms[0].args[0]"),
            std::string::npos);
  bad(R"({"type":"derived","input_size":2,"terms":[{"op":"log1p","args":[0],"scale":-1}]})");
  bad(R"({"type":"derived","input_size":0,"terms":[{"op":"sqrt","args":[0]}]})");
  bad(R"({"type":"derived","input_size":2,"terms":{}})");
  bad(R"({"type":"derived","terms":[]})");
}

TEST(RatioTermsTest, PerFeatureGroup) {
  // Basic (v0.6): IPC, misses per instruction and cycles per bpf CPU time.
  const std::vector<std::string> basic = {"bpf_cpu_time_us", "cache_miss", "cpu_cycles",
                                          "cpu_instructions", "kubelet_cpu_usage"};
  auto t = RatioTerms(basic);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].name, "cpu_instructions/cpu_cycles");
  EXPECT_EQ(t[0].a, 3u);
  EXPECT_EQ(t[0].b, 2u);
  EXPECT_EQ(t[1].name, "cache_miss/cpu_instructions");
  EXPECT_EQ(t[1].a, 1u);
  EXPECT_EQ(t[1].b, 3u);
  EXPECT_EQ(t[2].name, "cpu_cycles/bpf_cpu_time_us");
  EXPECT_EQ(RatioTerms({"cache_miss", "cpu_cycles", "cpu_instructions"}).size(), 2u);
  EXPECT_EQ(RatioTerms({"cpu_cycles", "kubelet_cpu_usage"})[0].name,
            "cpu_cycles/kubelet_cpu_usage");
  EXPECT_TRUE(RatioTerms({"bpf_cpu_time_ms", "bpf_page_cache_hit"}).empty());
}

TEST(WattsonTrainersTest, RobustGbrResistsOutliersAndUsesRatios) {
  // Power follows instructions per cycle; 5 % of rows are transition spikes.
  FitInput in = MakeInput(
      {"cpu_cycles", "cpu_instructions"}, {5e10, 5e10}, 600,
      [](const std::vector<double>& r) { return 40 + 60 * std::min(r[1] / (r[0] + 1), 2.0); });
  const std::vector<double> clean = in.y;
  for (std::size_t r = 0; r < in.rows; r += 20) in.y[r] += 150;
  auto trainer = MakeTrainer("WattsonRobustGbrTrainer");
  ASSERT_TRUE(trainer.ok());
  auto p = (*trainer)->Fit(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->transforms.size(), 2u);
  EXPECT_EQ(p->transforms[1]->kind(), "derived");
  EXPECT_EQ(p->transforms[1]->output_size(), 3u);
  const std::vector<double> got = Predict(*p, in);
  double err = 0;
  int n = 0;
  for (std::size_t r = 0; r < in.rows; ++r) {
    if (r % 20 == 0) continue;
    err += std::fabs(got[r] - clean[r]);
    ++n;
  }
  EXPECT_LT(err / n, 3.0);
}

TEST(WattsonTrainersTest, HuberLinearRecoversALinearLawDespiteOutliers) {
  FitInput in = MakeInput({"bpf_cpu_time_ms"}, {5000}, 400,
                          [](const std::vector<double>& r) { return 30 + 0.02 * r[0]; });
  const std::vector<double> clean = in.y;
  for (std::size_t r = 0; r < in.rows; r += 10) in.y[r] += 80;
  auto trainer = MakeTrainer("WattsonHuberLinearTrainer");
  ASSERT_TRUE(trainer.ok());
  auto p = (*trainer)->Fit(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->regressor->family(), "linear");
  EXPECT_LT(Mae(Predict(*p, in), clean), 0.5);
}

TEST(WattsonTrainersTest, HuberRidgeHandlesConstantColumns) {
  DenseRows x;
  x.rows = 50;
  x.cols = 2;
  std::vector<double> y;
  for (std::size_t r = 0; r < 50; ++r) {
    x.v.push_back(r / 50.0);
    x.v.push_back(0.0);
    y.push_back(3 + 2 * (r / 50.0));
  }
  auto fit = FitHuberRidge(x, y, HuberOptions{});
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_NEAR(fit->coef[0], 2.0, 1e-3);
  EXPECT_EQ(fit->coef[1], 0.0);
  EXPECT_NEAR(fit->intercept, 3.0, 1e-3);
}

}  // namespace
}  // namespace wattson
