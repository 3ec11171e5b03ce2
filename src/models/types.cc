#include "models/types.h"

#include <set>

#include "fmt/format.h"

namespace wattson {

std::string_view ComponentName(Component c) {
  switch (c) {
    case Component::kPackage:
      return "package";
    case Component::kCore:
      return "core";
    case Component::kUncore:
      return "uncore";
    case Component::kDram:
      return "dram";
    case Component::kPlatform:
      return "platform";
  }
  return "unknown";
}

Result<Component> ParseComponent(std::string_view name) {
  for (Component c : kAllComponents) {
    if (ComponentName(c) == name) return c;
  }
  return Status::InvalidArgument(
      fmt::format("unknown component '{}' (package, core, uncore, dram, platform)", name));
}

std::string_view OutputTypeName(OutputType t) {
  return t == OutputType::kAbsPower ? "AbsPower" : "DynPower";
}

Result<OutputType> ParseOutputType(std::string_view name) {
  if (name == "AbsPower") return OutputType::kAbsPower;
  if (name == "DynPower") return OutputType::kDynPower;
  return Status::InvalidArgument(
      fmt::format("unknown output type '{}' (AbsPower or DynPower)", name));
}

FeatureMatrix::FeatureMatrix(std::vector<std::string> names, std::size_t rows)
    : names_(std::move(names)), rows_(rows), data_(rows * names_.size(), 0.0) {}

Result<FeatureMatrix> FeatureMatrix::FromRows(std::vector<std::string> names,
                                              const std::vector<std::vector<double>>& rows) {
  std::set<std::string_view> seen;
  for (const auto& n : names) {
    if (!seen.insert(n).second) {
      return Status::InvalidArgument(fmt::format("feature '{}' appears twice", n));
    }
  }
  FeatureMatrix m(std::move(names), rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != m.cols()) {
      return Status::InvalidArgument(
          fmt::format("row {} has {} values, expected {}", r, rows[r].size(), m.cols()));
    }
    for (std::size_t c = 0; c < m.cols(); ++c) m.at(r, c) = rows[r][c];
  }
  return m;
}

std::optional<std::size_t> FeatureMatrix::ColumnIndex(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return i;
  }
  return std::nullopt;
}

const ComponentPower* PowerPrediction::Find(Component c) const {
  for (const auto& cp : components) {
    if (cp.component == c) return &cp;
  }
  return nullptr;
}

}  // namespace wattson
