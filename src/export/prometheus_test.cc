#include "export/prometheus.h"

#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "export/test_scenario.h"
#include "gtest/gtest.h"

namespace wattson::exporter {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A line diff (longest common subsequence) of expected vs actual, "-" / "+" prefixed.
std::string Diff(const std::string& expected, const std::string& actual) {
  const auto a = Lines(expected);
  const auto b = Lines(actual);
  std::vector<std::vector<int>> lcs(a.size() + 1, std::vector<int>(b.size() + 1, 0));
  for (std::size_t i = a.size(); i-- > 0;) {
    for (std::size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::string out;
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      ++i;
      ++j;
    } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out += "- " + a[i++] + "\n";
    } else {
      out += "+ " + b[j++] + "\n";
    }
  }
  return out;
}

void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(WATTSON_TESTDATA_DIR) + "/export/" + name;
  const char* update = std::getenv("WATTSON_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    GTEST_SKIP() << "rewrote " << path;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good()) << "missing golden file " << path
                         << " (run with WATTSON_UPDATE_GOLDEN=1 to write it)";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string expected = ss.str();
  EXPECT_TRUE(expected == actual) << "exposition differs from " << path
                                  << " (WATTSON_UPDATE_GOLDEN=1 rewrites it):\n"
                                  << Diff(expected, actual);
}

// Checks the text format: HELP and TYPE before each family's samples, names and labels
// well-formed, values parseable, no family split in two.
void ExpectWellFormed(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (\S+)$)");
  std::string family;
  std::set<std::string> seen;
  bool help = false, type = false;
  for (const std::string& line : Lines(text)) {
    if (line.rfind("# HELP ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
      ASSERT_TRUE(seen.insert(family).second) << "family twice: " << family;
      help = true;
      type = false;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      ASSERT_TRUE(help);
      ASSERT_EQ(line.substr(7, family.size()), family);
      const std::string t = line.substr(8 + family.size());
      ASSERT_TRUE(t == "counter" || t == "gauge") << line;
      if (t == "counter") {
        ASSERT_TRUE(family.ends_with("_total")) << family;
      }
      type = true;
      continue;
    }
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, kSample)) << "bad line: " << line;
    ASSERT_TRUE(type) << line;
    ASSERT_EQ(m[1].str(), family) << line;
    char* end = nullptr;
    const std::string v = m[8].str();
    std::strtod(v.c_str(), &end);
    ASSERT_EQ(*end, '\0') << "value " << v;
  }
}

TEST(PrometheusTest, GoldenDefaultLevels) {
  auto ledger = testing::ScenarioLedger();
  const std::string text = RenderPrometheus(*ledger, testing::ScenarioStatus(), {});
  ExpectWellFormed(text);
  EXPECT_EQ(text.find("kepler_process_"), std::string::npos);  // off by default, as in Kepler
  ExpectGolden("default_levels.prom", text);
}

TEST(PrometheusTest, GoldenAllLevelsNoIdle) {
  auto ledger = testing::ScenarioLedger();
  ExpositionOptions opt;
  opt.process_metrics = true;
  opt.idle_metrics = false;
  const std::string text = RenderPrometheus(*ledger, testing::ScenarioStatus(), opt);
  ExpectWellFormed(text);
  for (const std::string& line : Lines(text)) {
    // Kepler's series and the pod series drop mode="idle"; wattson's node power keeps it.
    if (line.rfind("kepler_", 0) == 0 || line.rfind("wattson_pod_", 0) == 0) {
      EXPECT_EQ(line.find("mode=\"idle\""), std::string::npos) << line;
    }
  }
  ExpectGolden("all_levels_no_idle.prom", text);
}

TEST(PrometheusTest, HandCheckedValues) {
  // package: 90 J − 10 W·3 s = 60 J dynamic per tick, split by CPU time 1 : 0.5 : 0.5 : 2.
  // Two ticks: container abc123 (pids 100, 101) = 2 · (15 + 7.5) = 45 J.
  auto ledger = testing::ScenarioLedger();
  const std::string text = RenderPrometheus(*ledger, testing::ScenarioStatus(), {});
  EXPECT_NE(text.find("kepler_container_package_joules_total{container_id=\"abc123\","
                      "container_name=\"web\",container_namespace=\"shop\",mode=\"dynamic\","
                      "pod_name=\"frontend\",source=\"rapl-sysfs\"} 45\n"),
            std::string::npos)
      << text;
  // other = platform − package − dram = 150 − 90 − 15 = 45 J; idle 60 − 30 − 6 = 24 J.
  EXPECT_NE(text.find("kepler_node_other_joules_total{instance=\"node-1\",mode=\"idle\","
                      "package=\"0\",source=\"trained_power_model\"} 48\n"),
            std::string::npos);
  // Container total = package + dram + other (+ gpu): 2 · (22.5 + 3.375 + 7.875) = 67.5.
  EXPECT_NE(text.find("kepler_container_joules_total{container_id=\"abc123\","
                      "container_name=\"web\",container_namespace=\"shop\",mode=\"dynamic\","
                      "pod_name=\"frontend\",source=\"\"} 67.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("wattson_node_power_watts{key=\"energy1\",mode=\"dynamic\","
                      "model_id=\"nx12-linear\",origin=\"estimated\",zone=\"platform\"} 30\n"),
            std::string::npos);
  EXPECT_NE(text.find("wattson_pod_joules_total{mode=\"dynamic\",pod_name=\"frontend\","
                      "pod_namespace=\"shop\",zone=\"package\"} 45\n"),
            std::string::npos);
  // Host processes are Kepler's "system_processes" container.
  EXPECT_NE(text.find("container_id=\"system_processes\",container_name=\"system_processes\","
                      "container_namespace=\"system\""),
            std::string::npos);
}

TEST(PrometheusTest, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  ExpositionBuilder b;
  b.Family("x_total", "help with \\ and\nnewline", "counter");
  b.Add("x_total", {{"z", "q\"uote"}, {"a", "new\nline"}}, 1.0);
  EXPECT_EQ(b.Render(),
            "# HELP x_total help with \\\\ and\\nnewline\n# TYPE x_total counter\n"
            "x_total{a=\"new\\nline\",z=\"q\\\"uote\"} 1\n");
}

TEST(PrometheusTest, FormatsValues) {
  EXPECT_EQ(FormatSampleValue(0.0), "0");
  EXPECT_EQ(FormatSampleValue(12.5), "12.5");
  EXPECT_EQ(FormatSampleValue(1e21), "1e+21");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(std::stod(FormatSampleValue(0.1 + 0.2)), 0.1 + 0.2);  // round-trips
}

TEST(PrometheusTest, LevelsOnAndOff) {
  auto ledger = testing::ScenarioLedger();
  const AgentStatus status = testing::ScenarioStatus();
  ExpositionOptions opt;
  opt.container_metrics = false;
  opt.vm_metrics = false;
  opt.pod_metrics = false;
  opt.node_metrics = false;
  std::string text = RenderPrometheus(*ledger, status, opt);
  EXPECT_EQ(text.find("kepler_container_"), std::string::npos);
  EXPECT_EQ(text.find("kepler_vm_"), std::string::npos);
  EXPECT_EQ(text.find("kepler_node_"), std::string::npos);
  EXPECT_EQ(text.find("wattson_pod_"), std::string::npos);
  EXPECT_NE(text.find("wattson_ticks_total 2\n"), std::string::npos);

  opt = {};
  opt.process_metrics = true;
  opt.component_metrics = false;
  text = RenderPrometheus(*ledger, status, opt);
  ExpectWellFormed(text);
  EXPECT_EQ(text.find("kepler_process_package_joules_total"), std::string::npos);
  EXPECT_NE(text.find("kepler_process_joules_total{command=\"nginx\",container_id=\"abc123\","
                      "mode=\"dynamic\",pid=\"100\",source=\"\",vm_id=\"\"}"),
            std::string::npos);
  EXPECT_NE(text.find("kepler_container_joules_total"), std::string::npos);
  EXPECT_EQ(text.find("kepler_vm_joules_total"), std::string::npos);  // Kepler has none
}

TEST(PrometheusTest, ZeroFilledZonesAndGpu) {
  auto ledger = testing::ScenarioLedger();
  std::string text = RenderPrometheus(*ledger, testing::ScenarioStatus(), {});
  // No core/uncore meter on this node, but Kepler always emits them for workloads.
  EXPECT_NE(text.find("kepler_container_core_joules_total{container_id=\"abc123\""),
            std::string::npos);
  EXPECT_EQ(text.find("kepler_node_core_joules_total"), std::string::npos);
  // GPU series by default (Kepler's dashboard sums them into its power panels), none without.
  EXPECT_NE(text.find("kepler_container_gpu_joules_total{container_id=\"abc123\""),
            std::string::npos);
  ExpositionOptions opt;
  opt.zero_fill_zones = {"core", "dram", "other", "package", "platform", "uncore"};
  text = RenderPrometheus(*ledger, testing::ScenarioStatus(), opt);
  EXPECT_EQ(text.find("_gpu_joules_total"), std::string::npos);
}

TEST(PrometheusTest, EmptyLedgerStillRenders) {
  attribution::LedgerSnapshot empty;
  const std::string text = RenderPrometheus(empty, AgentStatus{}, {});
  ExpectWellFormed(text);
  EXPECT_NE(text.find("wattson_ticks_total 0\n"), std::string::npos);
}

}  // namespace
}  // namespace wattson::exporter
