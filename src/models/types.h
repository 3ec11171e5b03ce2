// Value types shared by every model family and format: components, output types, the feature
// matrix a model reads, the per-component watts it returns, and the metadata that travels with a
// model (provenance, measured errors, training range).
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/units.h"

namespace wattson {

// A power component a model predicts. Names are Kepler's.
enum class Component { kPackage, kCore, kUncore, kDram, kPlatform };

std::string_view ComponentName(Component c);
Result<Component> ParseComponent(std::string_view name);
inline constexpr Component kAllComponents[] = {Component::kPackage, Component::kCore,
                                               Component::kUncore, Component::kDram,
                                               Component::kPlatform};

// AbsPower: total power including idle (node level). DynPower: power above idle.
enum class OutputType { kAbsPower, kDynPower };
std::string_view OutputTypeName(OutputType t);
Result<OutputType> ParseOutputType(std::string_view name);

// Categorical features of the machine, e.g. {"cpu_architecture": "Sapphire Rapids"}.
using SystemFeatures = std::map<std::string, std::string, std::less<>>;

// Rows × named columns of per-second feature rates, stored row-major.
class FeatureMatrix {
 public:
  FeatureMatrix() = default;
  FeatureMatrix(std::vector<std::string> names, std::size_t rows);
  // Fails if a row's length differs from names.size() or names repeat.
  static Result<FeatureMatrix> FromRows(std::vector<std::string> names,
                                        const std::vector<std::vector<double>>& rows);

  const std::vector<std::string>& names() const { return names_; }
  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return names_.size(); }
  std::optional<std::size_t> ColumnIndex(std::string_view name) const;
  double& at(std::size_t r, std::size_t c) { return data_[r * names_.size() + c]; }
  double at(std::size_t r, std::size_t c) const { return data_[r * names_.size() + c]; }
  std::span<const double> row(std::size_t r) const {
    return {data_.data() + r * names_.size(), names_.size()};
  }

 private:
  std::vector<std::string> names_;
  std::size_t rows_ = 0;
  std::vector<double> data_;
};

struct ComponentPower {
  Component component;
  std::vector<Watts> watts;  // one per input row; finite and >= 0
};

struct PowerPrediction {
  std::size_t rows = 0;
  std::vector<ComponentPower> components;
  const ComponentPower* Find(Component c) const;
};

// The machine a model was trained on (kepler-model-server node_type_index attrs).
struct MachineSpec {
  std::string processor;  // normalised, e.g. "intel_xeon_platinum_8259cl"
  double cores = 0;       // logical CPUs
  double chips = 0;       // sockets
  double memory_gib = 0;
  double frequency_mhz = 0;
  bool empty() const {
    return processor.empty() && cores == 0 && chips == 0 && memory_gib == 0 && frequency_mhz == 0;
  }
};

struct Provenance {
  std::string dataset;         // e.g. "kepler-model-db nx12_v0.6"
  std::string dataset_sha256;  // of the training table, when known
  std::string machine;         // free-form machine name, e.g. "nx12"
  MachineSpec machine_spec;
  std::string trainer;  // e.g. "GradientBoostingRegressorTrainer"
  std::string created;  // ISO-8601 UTC
  std::string tool;     // e.g. "wattson 0.1.0" or "kepler-model-server"
  std::string origin;   // the file or URL the model was imported from
  std::string notes;
};

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

struct ComponentErrors {
  double mae = kNoValue;        // W
  double mape = kNoValue;       // %, NaN when undefined (no row with a meaningful denominator)
  double max_error = kNoValue;  // W
  double r2 = kNoValue;
};

struct ModelErrors {
  std::string protocol;   // "kepler-random-split", "blocked-cv", "holdout", "kepler-published", ...
  double mae = kNoValue;  // max over components, W
  double mape = kNoValue;  // max over components, %
  std::map<std::string, ComponentErrors> per_component;
  bool has_mae() const { return !std::isnan(mae); }
};

struct FeatureRange {
  std::string feature;
  double min = 0;
  double max = 0;
};

struct ModelInfo {
  std::string id;       // unique within a catalogue (path-like)
  std::string name;     // e.g. "SGDRegressorTrainer_0"
  std::string trainer;  // e.g. "SGDRegressorTrainer"
  OutputType output_type = OutputType::kAbsPower;
  std::string energy_source;                 // "rapl-sysfs", "acpi", ...
  std::string feature_group;                 // e.g. "BPFOnly"; empty when unknown
  int node_type = -1;                        // kepler-model-server node type, -1 when unknown
  std::vector<std::string> features;         // every numeric feature the model reads
  std::vector<std::string> system_features;  // categorical features it uses
  std::vector<Component> components;
  Provenance provenance;
  ModelErrors errors;
  std::vector<FeatureRange> training_range;  // empty when unknown
};

}  // namespace wattson
