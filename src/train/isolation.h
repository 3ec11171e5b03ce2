// Isolation: turns absolute (AbsPower) targets into dynamic (DynPower) targets.
//   none:    dyn = abs.
//   min:     dyn_c = abs_c − min_t abs_c over the whole data set (Kepler's MinIdleIsolator).
//   profile: dyn_c = max(0, abs_c − idle_c), idle_c = the median of component c over a separate
//            idle run (Kepler's ProfileBackgroundIsolator idea with a robust statistic).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "train/dataset.h"

namespace wattson {

enum class IsolationMethod { kNone, kMin, kProfile };
std::string_view IsolationName(IsolationMethod m);
Result<IsolationMethod> ParseIsolation(std::string_view name);

struct IsolationResult {
  Dataset data;                            // targets are DynPower
  std::map<Component, double> idle_watts;  // what was subtracted per component
};

// idle is required for kProfile and ignored otherwise.
Result<IsolationResult> Isolate(const Dataset& abs, IsolationMethod method,
                                const Dataset* idle = nullptr);

}  // namespace wattson
