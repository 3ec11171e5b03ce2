// SVG charts: tick choice, decimation that keeps peaks, escaping, and well-formed output for
// empty, constant and non-finite data.
#include "train/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wattson {
namespace {

using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::size_t Count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
  return n;
}

TEST(SvgPlotTest, NiceTicks) {
  EXPECT_THAT(NiceTicks(0, 10, 5), ElementsAre(0, 2, 4, 6, 8, 10));
  EXPECT_THAT(NiceTicks(31, 199, 5), ElementsAre(50, 100, 150));
  EXPECT_THAT(NiceTicks(31, 199, 8), ElementsAre(50, 75, 100, 125, 150, 175));
  EXPECT_THAT(NiceTicks(-1, 1, 4), ElementsAre(-1, -0.5, 0, 0.5, 1));
  EXPECT_THAT(NiceTicks(5, 5, 4), ElementsAre(5));
  EXPECT_TRUE(NiceTicks(0, std::numeric_limits<double>::infinity(), 4).empty());
}

TEST(SvgPlotTest, EscapesText) {
  EXPECT_EQ(XmlEscape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
  ChartSpec spec;
  spec.title = "<script>alert(1)</script>";
  const std::string svg = SvgLineChart(spec, {{"s&p", "#000", {0, 1}, {1, 2}, false}});
  EXPECT_THAT(svg, Not(HasSubstr("<script>")));
  EXPECT_THAT(svg, HasSubstr("&lt;script&gt;"));
  EXPECT_THAT(svg, HasSubstr("s&amp;p"));
}

TEST(SvgPlotTest, DecimationKeepsPeaksAndDropsNonFinitePoints) {
  std::vector<double> x, y;
  for (int i = 0; i < 10000; ++i) {
    x.push_back(i);
    y.push_back(i == 4321 ? 1000 : (i == 777 ? -50 : std::sin(i * 0.01)));
  }
  x.push_back(std::nan(""));
  y.push_back(1);
  DecimateSeries(&x, &y, 300);
  EXPECT_LE(x.size(), 300u);
  EXPECT_EQ(x.size(), y.size());
  EXPECT_NE(std::find(y.begin(), y.end(), 1000), y.end());
  EXPECT_NE(std::find(y.begin(), y.end(), -50), y.end());
  EXPECT_TRUE(std::is_sorted(x.begin(), x.end()));
  for (double v : x) EXPECT_TRUE(std::isfinite(v));

  std::vector<double> sx = {3, 1, 2}, sy = {30, 10, 20};
  DecimateSeries(&sx, &sy, 300);
  EXPECT_THAT(sx, ElementsAre(1, 2, 3));
  EXPECT_THAT(sy, ElementsAre(10, 20, 30));
}

TEST(SvgPlotTest, ChartsAreWellFormedForOrdinaryAndDegenerateData) {
  ChartSpec spec;
  spec.title = "t";
  spec.x_label = "minutes";
  spec.y_label = "W";
  const double nan = std::nan("");
  const std::vector<std::string> charts = {
      SvgLineChart(spec, {{"measured", "#444", {0, 1, 2}, {5, 6, 7}, false},
                          {"predicted", "#f00", {0, 1, 2}, {5, nan, 8}, true}}),
      SvgLineChart(spec, {}),
      SvgLineChart(spec, {{"flat", "#000", {1, 1}, {3, 3}, false}}),
      SvgHistogram(spec, {-2, -1, 0, 0, 1, 5, nan}, 10, "#00f"),
      SvgHistogram(spec, {}, 10, "#00f"),
      SvgHistogram(spec, {4, 4, 4}, 0, "#00f"),
      SvgGroupedBars(spec, {"A", "B"}, {{"g1", {1.5, nan}}, {"g2", {3, 2}}}),
      SvgGroupedBars(spec, {}, {}),
  };
  for (const auto& svg : charts) {
    EXPECT_THAT(svg, StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    EXPECT_THAT(svg, EndsWith("</svg>\n"));
    EXPECT_THAT(svg, Not(HasSubstr("nan")));
    EXPECT_THAT(svg, Not(HasSubstr("inf")));
    EXPECT_EQ(Count(svg, "<svg"), 1u);
  }
  EXPECT_THAT(charts[1], HasSubstr("no data"));
  EXPECT_THAT(charts[4], HasSubstr("no data"));
  EXPECT_EQ(Count(charts[0], "<circle"), 2u);             // the NaN point is skipped
  EXPECT_THAT(charts[3], HasSubstr("stroke-dasharray"));  // zero line of residuals
  EXPECT_THAT(charts[6], HasSubstr("n/a"));
  EXPECT_THAT(charts[6], HasSubstr(">1.50<"));
}

TEST(SvgPlotTest, LongLegendsWrapBelowTheTitle) {
  ChartSpec spec;
  spec.title = "rapl-sysfs AbsPower · blocked-cv · MAE by feature group and trainer";
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back("GradientBoosting" + std::to_string(i));
  const std::string svg = SvgGroupedBars(spec, names, {{"Basic", std::vector<double>(10, 1.0)}});
  // Every legend entry starts at or right of the left margin.
  for (std::size_t pos = svg.find("<rect x=\""); pos != std::string::npos;
       pos = svg.find("<rect x=\"", pos + 1)) {
    const double x = std::stod(svg.substr(pos + 9));
    EXPECT_GE(x, 0.0);
  }
  EXPECT_EQ(Count(svg, "GradientBoosting9<"), 1u);
}

}  // namespace
}  // namespace wattson
