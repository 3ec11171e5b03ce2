#include "estimator/request.h"

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "estimator/response.h"
#include "estimator/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace wattson::estimator {
namespace {

using ::testing::HasSubstr;
using testing::KeplerMetrics;
using testing::KeplerRequest;

TEST(GoFloatTest, MatchesGoEncodingJson) {
  EXPECT_EQ(testing::GoFloat(0), "0");
  EXPECT_EQ(testing::GoFloat(1234.5), "1234.5");
  EXPECT_EQ(testing::GoFloat(1.2e9), "1200000000");
  EXPECT_EQ(testing::GoFloat(1e21), "1e+21");
  EXPECT_EQ(testing::GoFloat(1e-7), "1e-7");
  EXPECT_EQ(testing::GoFloat(0.1), "0.1");
}

TEST(ParseRequestTest, KeplerOneRowByteExact) {
  // The bytes Kepler v0.7.11 writes for a node request (spec §3.2).
  const std::string text =
      "{\"metrics\":[\"bpf_cpu_time_ms\",\"bpf_page_cache_hit\",\"bpf_net_tx_irq\","
      "\"bpf_net_rx_irq\",\"bpf_block_irq\",\"cpu_cycles\",\"cpu_instructions\",\"cache_miss\"],"
      "\"values\":[[1234.5,0,3,10.3,0,1200000000,2300000000,1100000]],\"output_type\":\"AbsPower\","
      "\"source\":\"intel_rapl\",\"system_features\":[\"cpu_architecture\"],\"system_values\":"
      "[\"Sapphire Rapids\"],\"trainer_name\":\"SGDRegressorTrainer\",\"filter\":\"\"}";
  EXPECT_EQ(text,
            KeplerRequest(KeplerMetrics(), {{1234.5, 0, 3, 10.3, 0, 1.2e9, 2.3e9, 1.1e6}},
                          "AbsPower", "intel_rapl", {"cpu_architecture"}, {"Sapphire Rapids"}));
  auto r = ParseEstimateRequest(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->shape, RequestShape::kKepler);
  EXPECT_EQ(r->metrics, KeplerMetrics());
  EXPECT_EQ(r->rows, 1u);
  EXPECT_DOUBLE_EQ(r->at(0, 0), 1234.5);
  EXPECT_DOUBLE_EQ(r->at(0, 3), 10.3);
  EXPECT_DOUBLE_EQ(r->at(0, 6), 2.3e9);
  EXPECT_EQ(r->output_type, OutputType::kAbsPower);
  EXPECT_EQ(r->source, "rapl-sysfs");
  EXPECT_EQ(r->system_features, std::vector<std::string>{"cpu_architecture"});
  EXPECT_EQ(r->system_values, std::vector<std::string>{"Sapphire Rapids"});
  EXPECT_EQ(r->trainer_name, "SGDRegressorTrainer");
  EXPECT_FALSE(r->legacy_list_reply);
}

TEST(ParseRequestTest, HundredRowsAndIdleRows) {
  std::vector<std::vector<double>> rows;
  for (int i = 0; i < 100; ++i) rows.push_back({i * 12.5, 0, 0, 0, 0, 0, 0, i * 1e-7});
  auto r = ParseEstimateRequest(KeplerRequest(KeplerMetrics(), rows, "DynPower", "acpi"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows, 100u);
  EXPECT_EQ(r->source, "acpi");
  EXPECT_EQ(r->output_type, OutputType::kDynPower);
  EXPECT_DOUBLE_EQ(r->at(99, 0), 99 * 12.5);
  EXPECT_DOUBLE_EQ(r->at(99, 7), 99e-7);
  std::vector<std::vector<double>> zeros(5, std::vector<double>(8, 0.0));
  auto z = ParseEstimateRequest(KeplerRequest(KeplerMetrics(), zeros, "DynPower", "acpi"));
  ASSERT_TRUE(z.ok());
  for (double v : z->values) EXPECT_EQ(v, 0.0);
}

TEST(ParseRequestTest, LegacyShape) {
  auto r = ParseEstimateRequest(
      R"({"metrics": ["bpf_cpu_time_ms"], "values": [[1.0]], "output_type": "AbsComponentPower",
          "system_features": [], "system_values": [], "model_name": "SGDRegressorTrainer_1"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->shape, RequestShape::kLegacy);
  EXPECT_EQ(r->source, "rapl-sysfs");
  EXPECT_FALSE(r->legacy_list_reply);
  EXPECT_EQ(r->model_name, "SGDRegressorTrainer_1");
  auto total = ParseEstimateRequest(
      R"({"metrics": ["bpf_cpu_time_ms"], "values": [[1.0]], "output_type": "DynPower",
          "system_features": [], "system_values": []})");
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(total->source, "acpi");
  EXPECT_TRUE(total->legacy_list_reply);
  auto weights = ParseEstimateRequest(
      R"({"metrics": ["a"], "values": [[1]], "output_type": "AbsModelWeight", "model_name": ""})");
  ASSERT_FALSE(weights.ok());
  EXPECT_THAT(weights.status().message(), HasSubstr("model server"));
}

TEST(ParseRequestTest, NullsWhereGoWritesNilSlices) {
  auto r = ParseEstimateRequest(
      R"({"metrics":["x"],"values":[[1]],"output_type":"AbsPower","source":null,)"
      R"("system_features":null,"system_values":null,"trainer_name":"","filter":""})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source, "rapl-sysfs");
  EXPECT_TRUE(r->system_features.empty());
}

TEST(ParseRequestTest, StringEscapes) {
  auto r = ParseEstimateRequest(
      R"({"metrics":["a\u00e9\ud83d\ude00\n\"\\\/"],"values":[[1]],"output_type":"AbsPower",)"
      R"("source":"acpi"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->metrics[0], "a\xc3\xa9\xf0\x9f\x98\x80\n\"\\/");
}

TEST(ParseRequestTest, NumberForms) {
  auto r = ParseEstimateRequest(
      R"({"metrics":["a","b","c","d","e"],"values":[[-0, 1e-400, 1E+2, -12.5e-1, 0.000001]],)"
      R"("output_type":"AbsPower","source":"acpi"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->values[1], 0.0);
  EXPECT_EQ(r->values[2], 100.0);
  EXPECT_EQ(r->values[3], -1.25);
}

TEST(ParseRequestTest, ShortNumbersAreBitIdenticalToStrtod) {
  // Up to 15 significant digits take a fast path; it must round exactly as strtod does, and
  // longer numbers (the slow path) too.
  std::mt19937_64 rng(42);
  std::vector<std::string> texts = {"0",
                                    "-0",
                                    "0.1",
                                    "0.3",
                                    "-0.7",
                                    "123456789012345",
                                    "0.000000000000001",
                                    "999999999999999",
                                    "1.00000000000001",
                                    "9007199254740993",
                                    "0.30000000000000004",
                                    "37.25399999999999"};
  for (int i = 0; i < 2000; ++i) {
    const int digits = 1 + static_cast<int>(rng() % 17);
    std::string t = (rng() & 1) ? "-" : "";
    std::string d = std::to_string(1 + rng() % 9);
    for (int k = 1; k < digits; ++k) d += static_cast<char>('0' + rng() % 10);
    const std::size_t dot = rng() % (d.size() + 1);
    if (dot == 0) {
      t += "0." + d;
    } else if (dot < d.size()) {
      t += d.substr(0, dot) + "." + d.substr(dot);
    } else {
      t += d;
    }
    texts.push_back(t);
  }
  std::string values;
  for (const auto& t : texts) values += (values.empty() ? "" : ",") + ("[" + t + "]");
  auto r = ParseEstimateRequest(R"({"metrics":["a"],"values":[)" + values +
                                R"(],"output_type":"AbsPower","source":"acpi"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->values.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const double want = std::strtod(texts[i].c_str(), nullptr);
    EXPECT_EQ(std::memcmp(&r->values[i], &want, sizeof(want)), 0) << texts[i];
  }
}

struct BadCase {
  std::string text;
  std::string expect;
};

TEST(ParseRequestTest, MalformedRequestsGiveClearErrors) {
  const std::string tail = R"(,"output_type":"AbsPower","source":"acpi"})";
  const std::vector<BadCase> cases = {
      {"", "empty request"},
      {"   ", "empty request"},
      {"[1,2]", "must be a JSON object"},
      {"{", "ends at byte"},
      {R"({"metrics":["a"],"values":[[1]])", "ends at byte"},
      {R"({"metrics":["a"] "values":[[1]])" + tail, "expected ',' or '}'"},
      {R"({"metrics":["a"],"values":[[1]],"bogus":1})", "unknown field \"bogus\""},
      {R"({"metrics":["a"],"metrics":["a"],"values":[[1]])" + tail, "appears twice"},
      {R"({"metrics":"a","values":[[1]])" + tail,
       "metrics: expected an array of strings, got a string"},
      {R"({"metrics":[1],"values":[[1]])" + tail, "metrics[0]: expected a string, got a number"},
      {R"({"metrics":["a"],"values":[1])" + tail, "values[0]: expected an array of numbers"},
      {R"({"metrics":["a"],"values":[["1"]])" + tail,
       "values[0][0]: expected a number, got a string"},
      {R"({"metrics":["a"],"values":[[true]])" + tail, "got a boolean"},
      {R"({"metrics":["a"],"values":[[null]])" + tail, "got null"},
      {R"({"metrics":["a"],"values":[[NaN]])" + tail, "NaN and Infinity are not allowed"},
      {R"({"metrics":["a"],"values":[[-Infinity]])" + tail, "NaN and Infinity are not allowed"},
      {R"({"metrics":["a"],"values":[[1e400]])" + tail, "not a finite double"},
      {R"({"metrics":["a"],"values":[[01]])" + tail, "expected ',' or ']'"},
      {R"({"metrics":["a"],"values":[[1.]])" + tail, "digit after the decimal point"},
      {R"({"metrics":["a","b"],"values":[[1,2],[3]])" + tail,
       "values[1]: 1 numbers, but values[0] has 2"},
      {R"({"metrics":["a","b"],"values":[[1]])" + tail, "rows have 1 numbers but metrics names 2"},
      {R"({"metrics":["a"],"values":[])" + tail, "values has no rows"},
      {R"({"metrics":["a"],"values":null)" + tail, "values has no rows"},
      {R"({"metrics":[],"values":[[1]])" + tail, "metrics is empty"},
      {R"({"metrics":["a","a"],"values":[[1,2]])" + tail, "listed twice"},
      {R"({"metrics":[""],"values":[[1]])" + tail, "metrics[0] is empty"},
      {R"({"values":[[1]])" + tail, "missing field \"metrics\""},
      {R"({"metrics":["a"])" + tail, "missing field \"values\""},
      {R"({"metrics":["a"],"values":[[1]],"source":"acpi"})", "missing field \"output_type\""},
      {R"({"metrics":["a"],"values":[[1]],"output_type":"Watts","source":"acpi"})",
       "output type \"Watts\" is not supported"},
      {R"({"metrics":["a"],"values":[[1]],"output_type":"AbsPower","source":"nvml"})",
       "not an energy source"},
      {R"({"metrics":["a"],"values":[[1]],"output_type":5,"source":"acpi"})",
       "output_type: expected a string, got a number"},
      {R"({"metrics":["a"],"values":[[1]],"system_features":["x"])" + tail,
       "system_values has 0 values"},
      {R"({"metrics":["a"],"values":[[1]],})", "malformed JSON at byte"},
      {R"({"metrics":["a"],"values":[[1]])" + tail + " {}", "unexpected data after"},
      {"{\"metrics\":[\"a\tb\"],\"values\":[[1]]" + tail, "control character"},
      {R"({"metrics":["\ud800"],"values":[[1]])" + tail, "low surrogate"},
      {R"({"metrics":["\x"],"values":[[1]])" + tail, "expected an escape"},
  };
  for (const auto& c : cases) {
    auto r = ParseEstimateRequest(c.text);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.text;
    EXPECT_THAT(r.status().message(), HasSubstr(c.expect)) << c.text;
  }
}

TEST(ParseRequestTest, LimitsAreEnforced) {
  RequestLimits limits;
  limits.max_metrics = 2;
  limits.max_name_bytes = 4;
  auto many = ParseEstimateRequest(
      R"({"metrics":["a","b","c"],"values":[[1,2,3]],"output_type":"AbsPower","source":"acpi"})",
      limits);
  ASSERT_FALSE(many.ok());
  EXPECT_THAT(many.status().message(), HasSubstr("more than 2 items"));
  auto longname = ParseEstimateRequest(
      R"({"metrics":["abcdef"],"values":[[1]],"output_type":"AbsPower","source":"acpi"})", limits);
  ASSERT_FALSE(longname.ok());
  EXPECT_THAT(longname.status().message(), HasSubstr("longer than 4 bytes"));
}

TEST(DocumentScannerTest, FindsTheEndHoweverSplit) {
  const std::string doc = R"({"metrics":["a}\"]"],"values":[[1,{"x":"]"}]]})";
  const std::string stream = "  \n" + doc + "trailing";
  for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{7}, stream.size()}) {
    DocumentScanner s;
    DocumentScanner::State st = DocumentScanner::State::kNeedMore;
    for (std::size_t i = 0; i < stream.size() && st == DocumentScanner::State::kNeedMore;
         i += piece) {
      st = s.Feed(std::string_view(stream).substr(i, piece));
    }
    ASSERT_EQ(st, DocumentScanner::State::kComplete) << piece;
    EXPECT_EQ(s.end(), 3 + doc.size()) << piece;
  }
}

TEST(DocumentScannerTest, Errors) {
  DocumentScanner a;
  EXPECT_EQ(a.Feed("  [1]"), DocumentScanner::State::kError);
  EXPECT_THAT(a.error(), HasSubstr("must be a JSON object"));
  DocumentScanner b;
  EXPECT_EQ(b.Feed("{\"a\":[1}"), DocumentScanner::State::kError);
  DocumentScanner c;
  EXPECT_EQ(c.Feed(std::string(100, '{')), DocumentScanner::State::kError);
  EXPECT_THAT(c.error(), HasSubstr("nested more than"));
  DocumentScanner d;
  EXPECT_EQ(d.Feed("{\"a\": \"}"), DocumentScanner::State::kNeedMore);
}

TEST(ResponseTest, PowersAndErrors) {
  PowerPrediction p;
  p.rows = 2;
  p.components.push_back({Component::kDram, {Watts(1.5), Watts(0)}});
  p.components.push_back({Component::kPackage, {Watts(84.916), Watts(1e-7)}});
  std::string out;
  AppendPowersReply(p, false, &out);
  EXPECT_EQ(out, R"({"powers": {"package": [84.916, 1e-07], "dram": [1.5, 0]}, "msg": ""})");
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["powers"]["package"][0].get<double>(), 84.916);
  out.clear();
  AppendErrorReply("bad \"x\"\n", false, &out);
  EXPECT_EQ(out, R"({"powers": {}, "msg": "bad \"x\"\n"})");
  out.clear();
  AppendErrorReply("e", true, &out);
  EXPECT_EQ(out, R"({"powers": [], "msg": "e"})");
  PowerPrediction platform;
  platform.rows = 1;
  platform.components.push_back({Component::kPlatform, {Watts(240.5)}});
  out.clear();
  AppendPowersReply(platform, true, &out);
  EXPECT_EQ(out, R"({"powers": [240.5], "msg": ""})");
}

TEST(ResponseTest, StringsAreAlwaysValidUtf8) {
  std::string out;
  AppendJsonString("ok \xc3\xa9 \xf0\x9f\x98\x80 bad \x97 \xed\xa0\x80 \xc3", &out);
  EXPECT_EQ(out, "\"ok \xc3\xa9 \xf0\x9f\x98\x80 bad \\ufffd \\ufffd\\ufffd\\ufffd \\ufffd\"");
  EXPECT_FALSE(nlohmann::json::parse(out, nullptr, false).is_discarded());
}

TEST(PrintableTest, EscapesAndCuts) {
  EXPECT_EQ(Printable("a\x01\xff"), "a\\x01\\xff");
  EXPECT_EQ(Printable(std::string(100, 'x'), 3), "xxx...");
}

}  // namespace
}  // namespace wattson::estimator
