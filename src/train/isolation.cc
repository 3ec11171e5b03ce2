#include "train/isolation.h"

#include <algorithm>

#include "fmt/format.h"

namespace wattson {

std::string_view IsolationName(IsolationMethod m) {
  switch (m) {
    case IsolationMethod::kNone:
      return "none";
    case IsolationMethod::kMin:
      return "min";
    case IsolationMethod::kProfile:
      return "profile";
  }
  return "none";
}

Result<IsolationMethod> ParseIsolation(std::string_view name) {
  for (IsolationMethod m :
       {IsolationMethod::kNone, IsolationMethod::kMin, IsolationMethod::kProfile}) {
    if (IsolationName(m) == name) return m;
  }
  return Status::InvalidArgument(fmt::format("unknown isolation '{}' (none, min, profile)", name));
}

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

Result<IsolationResult> Isolate(const Dataset& abs, IsolationMethod method, const Dataset* idle) {
  IsolationResult out{abs, {}};
  if (abs.rows() == 0) return Status::InvalidArgument("isolation: the data set has no rows");
  if (method == IsolationMethod::kProfile) {
    if (idle == nullptr || idle->rows() == 0) {
      return Status::InvalidArgument(
          "isolation 'profile' needs an idle run (a data set recorded with no workload)");
    }
  }
  for (auto& [component, y] : out.data.targets) {
    double idle_w = 0;
    switch (method) {
      case IsolationMethod::kNone:
        break;
      case IsolationMethod::kMin:
        idle_w = *std::min_element(y.begin(), y.end());
        break;
      case IsolationMethod::kProfile: {
        auto it = idle->targets.find(component);
        if (it == idle->targets.end() || it->second.empty()) {
          return Status::InvalidArgument(fmt::format(
              "isolation 'profile': the idle run has no {} power", ComponentName(component)));
        }
        idle_w = Median(it->second);
        break;
      }
    }
    for (double& v : y) v = std::max(0.0, v - idle_w);
    out.idle_watts[component] = idle_w;
  }
  out.data.notes.push_back(fmt::format("DynPower by isolation '{}'", IsolationName(method)));
  return out;
}

}  // namespace wattson
