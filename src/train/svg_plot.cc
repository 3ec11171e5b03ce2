#include "train/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "fmt/format.h"

namespace wattson {

namespace {

constexpr double kLeft = 64;
constexpr double kRight = 16;
constexpr double kTop = 30;
constexpr double kBottom = 42;
constexpr std::string_view kAxisColor = "#444";
constexpr std::string_view kGridColor = "#ddd";
constexpr std::string_view kFont = "font-family=\"sans-serif\"";

std::string Num(double v) { return fmt::format("{:.1f}", v); }

// A tick label: short, no trailing zeros, exponent for very large or small magnitudes.
std::string TickLabel(double v, double step) {
  if (v == 0) return "0";
  const double mag = std::fabs(v);
  if (mag >= 1e6 || mag < 1e-3) return fmt::format("{:.3g}", v);
  int decimals = 0;
  if (step > 0 && step < 1) {
    decimals = static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    decimals = std::clamp(decimals, 0, 6);
    const double scaled = step * std::pow(10.0, decimals);
    if (std::fabs(scaled - std::round(scaled)) > 1e-6) ++decimals;  // 2.5 × 10^k steps
  }
  return fmt::format("{:.{}f}", v, decimals);
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void Add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
  // Widens a degenerate range so that it can be drawn.
  void Pad() {
    if (empty()) {
      lo = 0;
      hi = 1;
    } else if (lo == hi) {
      const double d = lo == 0 ? 1 : std::fabs(lo) * 0.05;
      lo -= d;
      hi += d;
    }
  }
};

std::string Header(const ChartSpec& spec, int height) {
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "role=\"img\" aria-label=\"{}\">\n",
      spec.width, height, spec.width, height, XmlEscape(spec.title));
  s += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#fff\"/>\n", spec.width,
                   height);
  s += fmt::format("<text x=\"{}\" y=\"18\" font-size=\"13\" font-weight=\"bold\" {}>{}</text>\n",
                   Num(kLeft), kFont, XmlEscape(spec.title));
  return s;
}

double LegendWidth(const std::vector<std::pair<std::string, std::string>>& items) {
  double w = 0;
  for (const auto& item : items) w += 6.5 * static_cast<double>(item.first.size()) + 26;
  return w;
}

// A legend and the top margin it leaves for the plot: right-aligned on the title line when it
// fits there, else wrapped on lines of their own below the title.
struct LegendLayout {
  std::string svg;
  double top = kTop;
};

LegendLayout LayoutLegend(const ChartSpec& spec,
                          const std::vector<std::pair<std::string, std::string>>& items) {
  LegendLayout out;
  const double title_w = 7.6 * static_cast<double>(spec.title.size());
  const double right = spec.width - kRight;
  auto item_w = [](const std::string& name) { return 6.5 * static_cast<double>(name.size()) + 26; };
  auto draw = [&out](double x, double y, const std::pair<std::string, std::string>& item) {
    out.svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>\n",
                           Num(x), Num(y - 9), XmlEscape(item.second));
    out.svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" {}>{}</text>\n", Num(x + 14),
                           Num(y), kFont, XmlEscape(item.first));
  };
  if (kLeft + title_w + LegendWidth(items) + 10 <= right) {
    double x = right - LegendWidth(items);
    for (const auto& item : items) {
      draw(x, 18, item);
      x += item_w(item.first);
    }
    return out;
  }
  double x = kLeft, y = 36;
  for (const auto& item : items) {
    if (x + item_w(item.first) > right && x > kLeft) {
      x = kLeft;
      y += 16;
    }
    draw(x, y, item);
    x += item_w(item.first);
  }
  out.top = y + 12;
  return out;
}

// Axes with grid lines and tick labels for a plot area [x0, x1] × [y0, y1] (pixels, y0 top).
struct Axes {
  double x0, x1, y0, y1;
  Range xr, yr;
  double Px(double v) const { return x0 + (v - xr.lo) / (xr.hi - xr.lo) * (x1 - x0); }
  double Py(double v) const { return y1 - (v - yr.lo) / (yr.hi - yr.lo) * (y1 - y0); }
};

std::string DrawAxes(const Axes& a, const ChartSpec& spec) {
  std::string s;
  const auto yt = NiceTicks(a.yr.lo, a.yr.hi, 5);
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 0;
  for (double v : yt) {
    if (v < a.yr.lo - 1e-9 * std::fabs(a.yr.hi - a.yr.lo) || v > a.yr.hi) continue;
    const double y = a.Py(v);
    s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n", Num(a.x0),
                     Num(y), Num(a.x1), Num(y), kGridColor);
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\" {}>{}</text>\n",
                     Num(a.x0 - 4), Num(y + 3), kFont, TickLabel(v, ystep));
  }
  const auto xt = NiceTicks(a.xr.lo, a.xr.hi, 8);
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 0;
  for (double v : xt) {
    if (v < a.xr.lo - 1e-9 * std::fabs(a.xr.hi - a.xr.lo) || v > a.xr.hi) continue;
    const double x = a.Px(v);
    s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n", Num(x),
                     Num(a.y1), Num(x), Num(a.y1 + 4), kAxisColor);
    s += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" {}>{}</text>\n", Num(x),
        Num(a.y1 + 15), kFont, TickLabel(v, xstep));
  }
  s += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{}\"/>\n",
      Num(a.x0), Num(a.y0), Num(a.x1 - a.x0), Num(a.y1 - a.y0), kAxisColor);
  if (!spec.x_label.empty()) {
    s += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" {}>{}</text>\n",
        Num((a.x0 + a.x1) / 2), Num(a.y1 + 32), kFont, XmlEscape(spec.x_label));
  }
  if (!spec.y_label.empty()) {
    const double cy = (a.y0 + a.y1) / 2;
    s += fmt::format(
        "<text x=\"14\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" "
        "transform=\"rotate(-90 14 {})\" {}>{}</text>\n",
        Num(cy), Num(cy), kFont, XmlEscape(spec.y_label));
  }
  return s;
}

std::string NoData(const Axes& a) {
  return fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#888\" {}>no "
      "data</text>\n",
      Num((a.x0 + a.x1) / 2), Num((a.y0 + a.y1) / 2), kFont);
}

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string PaletteColor(std::size_t i) {
  // Okabe–Ito, then a few Tableau colours.
  static constexpr std::string_view kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                  "#E69F00", "#56B4E9", "#000000", "#F0E442",
                                                  "#8c564b", "#7f7f7f", "#bcbd22", "#17becf"};
  return std::string(kPalette[i % std::size(kPalette)]);
}

std::vector<double> NiceTicks(double lo, double hi, int count) {
  std::vector<double> out;
  if (!std::isfinite(lo) || !std::isfinite(hi) || count < 1) return out;
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) return {lo};
  const double raw = (hi - lo) / count;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (int i = 0; i < 1000; ++i) {
    double v = first + i * step;
    if (v > hi + step * 1e-9) break;
    if (std::fabs(v) < step * 1e-9) v = 0;
    out.push_back(v);
  }
  return out;
}

void DecimateSeries(std::vector<double>* x, std::vector<double>* y, std::size_t max_points) {
  std::vector<std::pair<double, double>> pts;
  const std::size_t n = std::min(x->size(), y->size());
  pts.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isfinite((*x)[i]) && std::isfinite((*y)[i])) pts.emplace_back((*x)[i], (*y)[i]);
  }
  std::stable_sort(pts.begin(), pts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  x->clear();
  y->clear();
  if (max_points < 3 || pts.size() <= max_points) {
    for (const auto& [px, py] : pts) {
      x->push_back(px);
      y->push_back(py);
    }
    return;
  }
  const std::size_t buckets = max_points / 3;
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t begin = b * pts.size() / buckets;
    const std::size_t end = (b + 1) * pts.size() / buckets;
    if (begin >= end) continue;
    std::size_t lo = begin, hi = begin;
    for (std::size_t i = begin; i < end; ++i) {
      if (pts[i].second < pts[lo].second) lo = i;
      if (pts[i].second > pts[hi].second) hi = i;
    }
    std::vector<std::size_t> keep = {begin, lo, hi};
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
    for (std::size_t i : keep) {
      x->push_back(pts[i].first);
      y->push_back(pts[i].second);
    }
  }
}

std::string SvgLineChart(const ChartSpec& spec, const std::vector<PlotSeries>& series) {
  std::vector<std::pair<std::string, std::string>> legend;
  for (const auto& s : series) legend.emplace_back(s.name, s.color);
  const LegendLayout lay = LayoutLegend(spec, legend);
  const double top = lay.top;
  Axes a{kLeft, spec.width - kRight, top, spec.height - kBottom, {}, {}};
  for (const auto& s : series) {
    const std::size_t n = std::min(s.x.size(), s.y.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      a.xr.Add(s.x[i]);
      a.yr.Add(s.y[i]);
    }
  }
  const bool empty = a.xr.empty();
  a.xr.Pad();
  a.yr.Pad();
  std::string out = Header(spec, spec.height);
  out += lay.svg;
  out += DrawAxes(a, spec);
  if (empty) {
    out += NoData(a);
  } else {
    for (const auto& s : series) {
      const std::size_t n = std::min(s.x.size(), s.y.size());
      if (s.markers) {
        out += fmt::format("<g fill=\"{}\" fill-opacity=\"0.7\">\n", XmlEscape(s.color));
        for (std::size_t i = 0; i < n; ++i) {
          if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
          out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"1.8\"/>", Num(a.Px(s.x[i])),
                             Num(a.Py(s.y[i])));
        }
        out += "\n</g>\n";
        continue;
      }
      std::string points;
      points.reserve(n * 12);
      for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
        if (!points.empty()) points += ' ';
        points += Num(a.Px(s.x[i]));
        points += ',';
        points += Num(a.Py(s.y[i]));
      }
      out += fmt::format(
          "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.2\" stroke-linejoin=\"round\" "
          "points=\"{}\"/>\n",
          XmlEscape(s.color), points);
    }
  }
  out += "</svg>\n";
  return out;
}

std::string SvgHistogram(const ChartSpec& spec, const std::vector<double>& values, int bins,
                         std::string_view color) {
  Range vr;
  for (double v : values) vr.Add(v);
  const bool empty = vr.empty();
  vr.Pad();
  bins = std::max(1, bins);
  std::vector<double> counts(static_cast<std::size_t>(bins), 0);
  const double width = (vr.hi - vr.lo) / bins;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    auto b = static_cast<long>(std::floor((v - vr.lo) / width));
    b = std::clamp<long>(b, 0, bins - 1);
    counts[static_cast<std::size_t>(b)] += 1;
  }
  Axes a{kLeft, spec.width - kRight, kTop, spec.height - kBottom, vr, {}};
  a.yr.lo = 0;
  a.yr.hi = std::max(1.0, *std::max_element(counts.begin(), counts.end()));
  std::string out = Header(spec, spec.height);
  out += DrawAxes(a, spec);
  if (empty) {
    out += NoData(a);
  } else {
    out += fmt::format("<g fill=\"{}\">\n", XmlEscape(color));
    for (int b = 0; b < bins; ++b) {
      const double c = counts[static_cast<std::size_t>(b)];
      if (c <= 0) continue;
      const double x0 = a.Px(vr.lo + b * width), x1 = a.Px(vr.lo + (b + 1) * width);
      const double y = a.Py(c);
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>", Num(x0), Num(y),
                         Num(std::max(0.5, x1 - x0 - 0.5)), Num(a.y1 - y));
    }
    out += "\n</g>\n";
    if (vr.lo < 0 && vr.hi > 0) {  // the zero line of a residual histogram
      const double x = a.Px(0);
      out += fmt::format(
          "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#000\" "
          "stroke-dasharray=\"3,3\"/>\n",
          Num(x), Num(a.y0), Num(x), Num(a.y1));
    }
  }
  out += "</svg>\n";
  return out;
}

std::string SvgGroupedBars(const ChartSpec& spec, const std::vector<std::string>& series_names,
                           const std::vector<BarGroup>& groups) {
  constexpr double kBar = 11, kGroupGap = 8, kLabelWidth = 150;
  const double per_group =
      kBar * static_cast<double>(std::max<std::size_t>(1, series_names.size()));
  const double plot_h =
      static_cast<double>(groups.size()) * (per_group + kGroupGap) + (groups.empty() ? 20 : 0);
  std::vector<std::pair<std::string, std::string>> legend;
  for (std::size_t i = 0; i < series_names.size(); ++i) {
    legend.emplace_back(series_names[i], PaletteColor(i));
  }
  const LegendLayout lay = LayoutLegend(spec, legend);
  const double top = lay.top;
  const int height = static_cast<int>(top + plot_h + kBottom + 4);
  Range vr;
  vr.Add(0);
  for (const auto& g : groups) {
    for (double v : g.values) vr.Add(v);
  }
  vr.Pad();
  vr.hi *= 1.08;  // room for the value labels
  Axes a{kLeft + kLabelWidth, spec.width - kRight - 10, top, top + plot_h, vr, {}};
  a.yr.lo = 0;
  a.yr.hi = 1;
  std::string out = Header(spec, height);
  out += lay.svg;
  // Value axis only (no y ticks).
  const auto xt = NiceTicks(vr.lo, vr.hi, 8);
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 0;
  for (double v : xt) {
    if (v > vr.hi) continue;
    const double x = a.Px(v);
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n", Num(x),
                       Num(a.y0), Num(x), Num(a.y1), kGridColor);
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" {}>{}</text>\n", Num(x),
        Num(a.y1 + 15), kFont, TickLabel(v, xstep));
  }
  if (!spec.x_label.empty()) {
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" {}>{}</text>\n",
        Num((a.x0 + a.x1) / 2), Num(a.y1 + 32), kFont, XmlEscape(spec.x_label));
  }
  double y = a.y0 + kGroupGap / 2;
  for (const auto& g : groups) {
    out +=
        fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\" {}>{}</text>\n",
                    Num(a.x0 - 6), Num(y + per_group / 2 + 4), kFont, XmlEscape(g.label));
    for (std::size_t i = 0; i < series_names.size(); ++i) {
      const double v = i < g.values.size() ? g.values[i] : std::nan("");
      const double by = y + static_cast<double>(i) * kBar;
      if (std::isfinite(v)) {
        const double x1 = a.Px(std::max(0.0, v));
        out += fmt::format(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: "
            "{}</title></rect>",
            Num(a.x0), Num(by + 1), Num(std::max(0.5, x1 - a.x0)), Num(kBar - 2), PaletteColor(i),
            XmlEscape(series_names[i]), fmt::format("{:.3f}", v));
        out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"9\" {}>{}</text>\n", Num(x1 + 3),
                           Num(by + kBar - 2.5), kFont, fmt::format("{:.2f}", v));
      } else {
        out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"9\" fill=\"#999\" {}>n/a</text>\n",
                           Num(a.x0 + 3), Num(by + kBar - 2.5), kFont);
      }
    }
    y += per_group + kGroupGap;
  }
  out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n", Num(a.x0),
                     Num(a.y0), Num(a.x0), Num(a.y1), kAxisColor);
  out += "</svg>\n";
  return out;
}

}  // namespace wattson
