// Line charts as standalone SVG, written by hand (no dependencies).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace classchat::bench {

struct PlotSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in order
  bool rightAxis = false;                         // plotted against the right-hand axis
};

struct PlotSpec {
  std::string title;
  std::string xLabel;
  std::string yLabel;
  std::string yRightLabel;  // empty: no right axis
  bool logX = false;
  bool logY = false;  // left axis logarithmic (latency spans decades)
  std::vector<PlotSeries> series;
};

// Renders a chart with axes, ticks, a legend and one polyline (with markers) per
// series. Thread-safe (pure).
std::string renderSvg(const PlotSpec& spec);

}  // namespace classchat::bench
