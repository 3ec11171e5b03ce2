// Small, dependency-free SVG charts for the training report: line/point charts over time,
// histograms and grouped horizontal bar charts. Each function returns one self-contained <svg>
// element (no scripts, no external fonts or styles), so an HTML page can inline it. Pure
// functions; non-finite values are skipped, never drawn.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wattson {

// One series of a line chart: x and y of equal length.
struct PlotSeries {
  std::string name;
  std::string color;  // CSS colour, e.g. "#1f77b4"
  std::vector<double> x;
  std::vector<double> y;
  bool markers = false;  // draw points instead of a polyline
};

struct ChartSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 760;
  int height = 260;
};

// A line (or point) chart of the series with axes, ticks and a legend.
std::string SvgLineChart(const ChartSpec& spec, const std::vector<PlotSeries>& series);

// A histogram of the finite values in `bins` equal-width bins.
std::string SvgHistogram(const ChartSpec& spec, const std::vector<double>& values, int bins,
                         std::string_view color);

// One group of a bar chart: a label and one value per series (NaN: no bar).
struct BarGroup {
  std::string label;
  std::vector<double> values;
};

// Horizontal bars, one block per group and one bar per series within it; the value axis
// (spec.x_label) starts at 0. spec.height is ignored: it follows the number of bars.
std::string SvgGroupedBars(const ChartSpec& spec, const std::vector<std::string>& series_names,
                           const std::vector<BarGroup>& groups);

// Reduces a series to at most about max_points vertices by keeping, per bucket of consecutive
// points, the first, the minimum and the maximum (in x order), so that peaks survive.
// Points with a non-finite coordinate are dropped.
void DecimateSeries(std::vector<double>* x, std::vector<double>* y, std::size_t max_points);

// "Nice" tick values (1, 2, 2.5, 5 × 10^k steps) covering [lo, hi], about `count` of them.
std::vector<double> NiceTicks(double lo, double hi, int count);

// Escapes &, <, >, " and ' for XML text and attribute values.
std::string XmlEscape(std::string_view text);

// The i-th colour of a fixed, colour-blind-friendly palette (cycles).
std::string PaletteColor(std::size_t i);

}  // namespace wattson
