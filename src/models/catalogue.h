// ModelCatalogue: an in-memory index of every model under a directory laid out like
// kepler-model-db, and best-model selection over it (kepler-model-server's /model algorithm,
// reference spec §1.4, without its bugs; see docs/kepler-compatibility.md).
//
// Recognised files, anywhere under the root:
//  - Kepler weight JSON: .../<source>/<OutputType>/<FeatureGroup>/<Trainer>_<nodeType>.json, or
//    the v0.5 layout .../<FeatureGroup>/weight.json. Trainer, node type, feature group, output
//    type and energy source come from the path. Published errors come from the nearest ancestor's
//    <source>_<OutputType>_model_metadata*.csv (row with the same model_name, feature_group and,
//    where the CSV has them, node_type and output_type); the machine spec of the node type from
//    the nearest ancestor's node_type_index*.json.
//  - wattson model JSON ({"format": "wattson-model"}), with its own metadata.
//  - Kepler model archives (models/archive/kepler_archive.h): <Trainer>_<nodeType>.zip, id = the
//    path with ".zip", and unpacked archive folders <Trainer>_<nodeType>/ holding metadata.json,
//    id = the folder path with a trailing '/'. Published errors come from their metadata.json.
// Other JSON files (metadata.json, profiles, ...) are skipped. A file that fails to load is
// recorded in problems() and the scan goes on.
//
// A catalogue is immutable once built: every const method is thread-safe, and the entries (and
// the pointers SelectBest returns) live as long as the catalogue.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/logging.h"
#include "common/status.h"
#include "models/power_model.h"
#include "models/types.h"

namespace wattson {

// Numeric model metadata by key, as published (mae, mape, package_mae, dram_mape, abs_max_corr,
// mse, ...). Negative MAPE values (Kepler's "undefined") are left out. Filters and the selection
// error key read this map.
using ModelMetrics = std::map<std::string, double, std::less<>>;

struct CatalogueEntry {
  std::string id;      // root-relative path without ".json"; unique; equals info().id
  std::string path;    // the file
  std::string format;  // "kepler-weights", "kepler-archive" or "wattson"
  // The name of the nearest ancestor directory (the root included) that holds pipeline files
  // (metadata.json, node_type_index*.json, *_model_metadata*.csv), else the first directory
  // under the root, else "". E.g. "specpower-0.7.11_nodetypes0-9", "std_v0.6".
  std::string pipeline;
  ModelMetrics metrics;
  std::shared_ptr<const PipelineModel> model;  // never null
  const ModelInfo& info() const { return model->info(); }
};

struct CatalogueProblem {
  std::string path;
  Status status;
};

// One node type of a node_type_index.json.
struct NodeTypeEntry {
  MachineSpec spec;
  std::size_t members = 0;
};
using NodeTypeIndex = std::map<int, NodeTypeEntry>;

// Parses {"<int>": {"attrs": {processor, cores, chips, memory, frequency}, "members": [...]}}.
Result<NodeTypeIndex> ParseNodeTypeIndex(const Json& j, std::string_view what);

// §4.8 cover rule: every present attribute of `request` (non-empty processor, numbers > 0)
// equals the one of `model` (processor compared case-insensitively). An empty request is covered
// by everything.
bool SpecCovers(const MachineSpec& model, const MachineSpec& request);
// §4.8 similarity in [0, 1]: weights processor 5, cores 1, chips 1, memory 0.5, frequency 0.5,
// over 8. Processor: 1 if equal ignoring case, 0 if either is empty, else 0.5 × the Jaccard index
// of the character sets. Numbers: max(0, 1 − |a−b| / ((a+b)/2)); a missing value scores 0.
double SpecSimilarity(const MachineSpec& a, const MachineSpec& b);

// One term of a filter string "key:value;key2:value2".
struct ModelFilter {
  std::string key;
  double value = 0;                   // numeric terms
  std::vector<std::string> features;  // key "features": the model's features ⊆ this list
};
// Parses a filter string. Empty terms are ignored; a term without ':' or with a non-numeric
// value (other than for "features") is an error.
Result<std::vector<ModelFilter>> ParseModelFilters(std::string_view filter);
// abs_max_corr: metric ≥ value; features: model features ⊆ list; any other key: metric ≤ value.
// A model without the metric fails the term.
bool PassesFilters(const CatalogueEntry& entry, const std::vector<ModelFilter>& filters);

// Parses a Python list-of-strings repr as written by pandas into the metadata CSVs:
// "['a', 'b']", "[]", "[\"a\"]". Anything else is an error (never evaluated).
Result<std::vector<std::string>> ParsePythonStringList(std::string_view cell);

struct SelectionRequest {
  std::vector<std::string> features;  // the features the caller can supply (required, non-empty)
  std::string energy_source;          // normalised; "" = any
  OutputType output_type = OutputType::kAbsPower;
  int node_type = -1;             // -1 = unknown: use spec
  MachineSpec spec;               // used when node_type == -1
  std::string trainer_name;       // substring of the trainer (Kepler's rule); "" = any
  std::string filter;             // "key:value;..." (see ParseModelFilters)
  bool weight_only = false;       // only the four trainers Kepler serves as weight JSON
  std::string error_key = "mae";  // metric to minimise
  std::string feature_group;      // "" = any
  std::string pipeline;           // "" = any
};

struct ScanOptions {
  std::size_t max_files = 200'000;             // files visited
  std::size_t max_file_bytes = 64u << 20;      // per JSON or CSV file
  std::size_t max_archive_bytes = 256u << 20;  // per model archive (zip)
  int max_depth = 32;                          // directory levels below the root
};

class ModelCatalogue {
 public:
  // Indexes every model under root (eagerly: each model is parsed once here). Fails only if root
  // is not a readable directory; per-file failures go to problems().
  static Result<ModelCatalogue> Scan(const std::string& root, Logger* logger = nullptr,
                                     const ScanOptions& options = {});

  const std::string& root() const { return root_; }
  // Sorted by id.
  const std::vector<CatalogueEntry>& entries() const { return entries_; }
  const std::vector<CatalogueProblem>& problems() const { return problems_; }
  // Node-type indexes by root-relative directory ("" for the root).
  const std::map<std::string, NodeTypeIndex>& node_type_indexes() const { return indexes_; }
  const CatalogueEntry* Find(std::string_view id) const;

  // The model with the lowest request.error_key among those that
  //  1. have the requested output type and (normalised) energy source, pipeline, feature group;
  //  2. read only features in request.features;
  //  3. match trainer_name (substring) and weight_only;
  //  4. match the node type: node_type >= 0 → models of exactly that node type (an integer, so 1
  //     never matches 10), or all models if there are none; node_type == -1 with a spec → models
  //     whose machine covers the spec, else those of the most similar machine, else all;
  //  5. pass the filters;
  //  6. have the error key.
  // Ties go to the lowest id. When nothing matches, the error says which step emptied the list.
  // note (optional) receives a remark about a relaxed node-type match, or "".
  Result<const CatalogueEntry*> SelectBest(const SelectionRequest& request,
                                           std::string* note = nullptr) const;

 private:
  ModelCatalogue() = default;
  std::string root_;
  std::vector<CatalogueEntry> entries_;
  std::vector<CatalogueProblem> problems_;
  std::map<std::string, NodeTypeIndex> indexes_;
};

}  // namespace wattson
