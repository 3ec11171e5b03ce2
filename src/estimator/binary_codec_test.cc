#include "estimator/binary_codec.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wattson::estimator {
namespace {

using ::testing::HasSubstr;

BinaryRequest Sample() {
  BinaryRequest b;
  b.metrics = {"bpf_cpu_time_ms", "cpu_cycles"};
  b.rows = 3;
  b.values = {1.5, 2e9, 0.0, -0.0, 1e-300, 123456.789};
  b.output_type = "DynPower";
  b.source = "intel_rapl";
  b.trainer_name = "SGDRegressorTrainer";
  b.filter = "mae<10";
  b.system_features = {"cpu_architecture"};
  b.system_values = {"Sapphire Rapids"};
  return b;
}

TEST(BinaryCodecTest, RequestRoundTripsWithTheJsonParsersMeaning) {
  auto payload = EncodeBinaryRequest(Sample());
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  EXPECT_EQ(static_cast<std::uint8_t>((*payload)[0]), kBinaryRequestTag);
  auto r = ParseBinaryRequest(*payload);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->shape, RequestShape::kKepler);
  EXPECT_EQ(r->metrics, Sample().metrics);
  EXPECT_EQ(r->rows, 3u);
  ASSERT_EQ(r->values.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(std::memcmp(&r->values[i], &Sample().values[i], sizeof(double)), 0) << i;
  }
  EXPECT_EQ(r->output_type, OutputType::kDynPower);
  EXPECT_EQ(r->source, "rapl-sysfs");  // normalised as for JSON
  EXPECT_EQ(r->trainer_name, "SGDRegressorTrainer");
  EXPECT_EQ(r->filter, "mae<10");
  EXPECT_EQ(r->system_features, Sample().system_features);
  EXPECT_EQ(r->system_values, Sample().system_values);
}

TEST(BinaryCodecTest, EveryTruncationIsAClearError) {
  const std::string payload = *EncodeBinaryRequest(Sample());
  for (std::size_t n = 0; n < payload.size(); ++n) {
    auto r = ParseBinaryRequest(std::string_view(payload).substr(0, n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_FALSE(r.status().message().empty());
  }
  auto extra = ParseBinaryRequest(payload + std::string(8, '\0'));
  ASSERT_FALSE(extra.ok());
  EXPECT_THAT(extra.status().message(), HasSubstr("bytes of values for 3 rows of 2 metrics"));
}

TEST(BinaryCodecTest, RejectsWhatTheJsonParserRejects) {
  auto bad = [](BinaryRequest b) {
    auto p = EncodeBinaryRequest(b);
    EXPECT_TRUE(p.ok());
    auto r = ParseBinaryRequest(*p);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.status().message();
  };
  BinaryRequest b = Sample();
  b.values[4] = std::numeric_limits<double>::infinity();
  EXPECT_THAT(bad(b), HasSubstr("values[2][0]: NaN and Infinity are not allowed"));
  b = Sample();
  b.values[1] = std::nan("");
  EXPECT_THAT(bad(b), HasSubstr("values[0][1]"));
  b = Sample();
  b.metrics[1] = b.metrics[0];
  EXPECT_THAT(bad(b), HasSubstr("metrics"));
  b = Sample();
  b.output_type = "AbsComponentPower";
  EXPECT_THAT(bad(b), HasSubstr("is not supported"));
  b = Sample();
  b.source = "solar";
  EXPECT_THAT(bad(b), HasSubstr("is not an energy source"));
  b = Sample();
  b.system_features = {"cpu_cycles"};
  EXPECT_THAT(bad(b), HasSubstr("both a metric and a system feature"));
  b = Sample();
  b.metrics.clear();
  b.values.clear();
  EXPECT_THAT(bad(b), HasSubstr("values"));
  b = Sample();
  b.rows = 0;
  b.values.clear();
  EXPECT_THAT(bad(b), HasSubstr("values"));
}

TEST(BinaryCodecTest, HugeDeclaredSizesAreRefusedBeforeAllocating) {
  std::string p = *EncodeBinaryRequest(Sample());
  // Row count (bytes 4..7) = 2^32 - 1 with 48 bytes of values: refused by arithmetic, not by an
  // allocation of 64 GiB.
  for (int i = 4; i < 8; ++i) p[static_cast<std::size_t>(i)] = '\xff';
  auto r = ParseBinaryRequest(p);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("4294967295 rows"));
  // A metric count over the limit.
  p = *EncodeBinaryRequest(Sample());
  p[2] = '\xff';
  p[3] = '\xff';
  r = ParseBinaryRequest(p);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("more than the limit"));
  // A string longer than the limit.
  BinaryRequest b = Sample();
  b.filter = std::string(5000, 'x');
  r = ParseBinaryRequest(*EncodeBinaryRequest(b));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("filter: a string of 5000 bytes"));
  // Wrong tag and reserved byte.
  p = *EncodeBinaryRequest(Sample());
  p[0] = '{';
  EXPECT_THAT(ParseBinaryRequest(p).status().message(), HasSubstr("tag 0x7b"));
  p[0] = '\x01';
  p[1] = '\x01';
  EXPECT_THAT(ParseBinaryRequest(p).status().message(), HasSubstr("reserved"));
}

TEST(BinaryCodecTest, EncoderRefusesWhatItCannotWrite) {
  BinaryRequest b = Sample();
  b.values.pop_back();
  EXPECT_FALSE(EncodeBinaryRequest(b).ok());
  b = Sample();
  b.trainer_name = std::string(70000, 't');
  EXPECT_FALSE(EncodeBinaryRequest(b).ok());
}

TEST(BinaryCodecTest, ReplyRoundTripsInTheJsonOrder) {
  PowerPrediction p;
  p.rows = 2;
  p.components.push_back({Component::kDram, {Watts(1.25), Watts(0.0)}});
  p.components.push_back({Component::kPackage, {Watts(40.5), Watts(1e-9)}});
  std::string out;
  AppendBinaryReply(p, &out);
  auto r = ParseBinaryReply(out);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->msg, "");
  EXPECT_EQ(r->rows, 2u);
  ASSERT_EQ(r->components.size(), 2u);
  EXPECT_EQ(r->components[0].name, "package");
  EXPECT_EQ(r->components[0].watts, (std::vector<double>{40.5, 1e-9}));
  EXPECT_EQ(r->components[1].name, "dram");
  EXPECT_EQ(r->components[1].watts, (std::vector<double>{1.25, 0.0}));
  for (std::size_t n = 0; n < out.size(); ++n) {
    EXPECT_FALSE(ParseBinaryReply(std::string_view(out).substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(ParseBinaryReply(out + "x").ok());

  std::string err;
  AppendBinaryErrorReply("no model for these features", &err);
  r = ParseBinaryReply(err);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->msg, "no model for these features");
  EXPECT_TRUE(r->components.empty());
}

}  // namespace
}  // namespace wattson::estimator
