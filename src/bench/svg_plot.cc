#include "bench/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace classchat::bench {
namespace {

constexpr double kWidth = 900, kHeight = 520;
constexpr double kLeft = 90, kRight = 90, kTop = 50, kBottom = 110;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string label(double value) {
  const double magnitude = std::fabs(value);
  if (magnitude >= 1e6) return fmt::format("{:g}M", value / 1e6);
  if (magnitude >= 1e3) return fmt::format("{:g}k", value / 1e3);
  return fmt::format("{:g}", value);
}

// One axis: maps data values to pixels and proposes tick values.
struct Axis {
  double low = 0, high = 1;
  bool log = false;

  static Axis fit(const std::vector<double>& values, bool logScale) {
    Axis axis;
    axis.log = logScale;
    double low = std::numeric_limits<double>::max(), high = std::numeric_limits<double>::lowest();
    for (const double v : values) {
      if (logScale && v <= 0) continue;
      low = std::min(low, v);
      high = std::max(high, v);
    }
    if (low > high) low = high = logScale ? 1 : 0;
    if (logScale) {
      axis.low = std::pow(10, std::floor(std::log10(low)));
      axis.high = std::pow(10, std::ceil(std::log10(high)));
      if (axis.high <= axis.low) axis.high = axis.low * 10;
    } else {
      axis.low = std::min(0.0, low);
      const double step = niceStep((high - axis.low) / 5);
      axis.high = std::max(step, std::ceil(high / step) * step);
    }
    return axis;
  }

  static double niceStep(double raw) {
    if (raw <= 0) return 1;
    const double power = std::pow(10, std::floor(std::log10(raw)));
    for (const double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
      if (m * power >= raw) return m * power;
    }
    return 10 * power;
  }

  double fraction(double v) const {
    if (log) {
      v = std::max(v, low);
      return (std::log10(v) - std::log10(low)) / (std::log10(high) - std::log10(low));
    }
    return (v - low) / (high - low);
  }

  std::vector<double> ticks() const {
    std::vector<double> out;
    if (log) {
      for (double v = low; v <= high * 1.0001; v *= 10) out.push_back(v);
    } else {
      const double step = niceStep((high - low) / 5);
      for (double v = low; v <= high + step / 1000; v += step) out.push_back(v);
    }
    return out;
  }
};

}  // namespace

std::string renderSvg(const PlotSpec& spec) {
  const double plotWidth = kWidth - kLeft - kRight;
  const double plotHeight = kHeight - kTop - kBottom;
  std::vector<double> xs, ys, yRights;
  for (const PlotSeries& s : spec.series) {
    for (const auto& [x, y] : s.points) {
      xs.push_back(x);
      (s.rightAxis ? yRights : ys).push_back(y);
    }
  }
  const Axis xAxis = Axis::fit(xs, spec.logX);
  const Axis yAxis = Axis::fit(ys, spec.logY);
  const Axis yRightAxis = Axis::fit(yRights, false);
  auto px = [&](double x) { return kLeft + xAxis.fraction(x) * plotWidth; };
  auto py = [&](double y, bool right) {
    return kTop + (1 - (right ? yRightAxis : yAxis).fraction(y)) * plotHeight;
  };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">{3}</text>\n",
      kWidth, kHeight, kWidth / 2, escape(spec.title));
  // Grid and ticks.
  for (const double t : xAxis.ticks()) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        px(t), kTop, kTop + plotHeight, kTop + plotHeight + 18, label(t));
  }
  for (const double t : yAxis.ticks()) {
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{3}\" y=\"{1:.1f}\" text-anchor=\"end\" dy=\"4\">{4}</text>\n",
        kLeft, py(t, false), kLeft + plotWidth, kLeft - 6, label(t));
  }
  if (!spec.yRightLabel.empty()) {
    for (const double t : yRightAxis.ticks()) {
      svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" dy=\"4\">{}</text>\n", kLeft + plotWidth + 6,
                         py(t, true), label(t));
    }
    svg += fmt::format(
        "<text transform=\"translate({},{}) rotate(90)\" text-anchor=\"middle\">{}</text>\n",
        kWidth - 20, kTop + plotHeight / 2, escape(spec.yRightLabel));
  }
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n"
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n"
      "<text transform=\"translate(22,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
      kLeft, kTop, plotWidth, plotHeight, kLeft + plotWidth / 2, kTop + plotHeight + 40,
      escape(spec.xLabel), kTop + plotHeight / 2, escape(spec.yLabel));
  // Series and legend.
  for (std::size_t i = 0; i < spec.series.size(); ++i) {
    const PlotSeries& s = spec.series[i];
    const char* color = kColors[i % std::size(kColors)];
    std::string points;
    for (const auto& [x, y] : s.points) {
      if ((spec.logX && x <= 0) || (spec.logY && !s.rightAxis && y <= 0)) continue;
      points += fmt::format("{:.1f},{:.1f} ", px(x), py(y, s.rightAxis));
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", px(x),
                         py(y, s.rightAxis), color);
    }
    svg +=
        fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
                    points, color, s.rightAxis ? " stroke-dasharray=\"6,3\"" : "");
    const double legendX = kLeft + static_cast<double>(i % 4) * (plotWidth / 4);
    const double legendY = kHeight - 40 + static_cast<double>(i / 4) * 18;
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
        "stroke-width=\"3\"/><text x=\"{4:.1f}\" y=\"{1:.1f}\" dy=\"4\">{5}</text>\n",
        legendX, legendY, legendX + 24, color, legendX + 30,
        escape(s.name + (s.rightAxis ? " (right axis)" : "")));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace classchat::bench
