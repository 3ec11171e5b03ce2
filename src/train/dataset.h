// Training data: one row per timestamp with per-second feature rates and measured watts per
// component, loaded from kepler-model-db "preprocessed" CSV tables or extracted from Prometheus
// query_range dumps of Kepler-named counters. Pure data; loading is the only I/O.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "models/types.h"

namespace wattson {

struct Dataset {
  std::string name;                        // e.g. "nx12_v0.6"
  std::string origin;                      // file(s) it came from
  std::string sha256;                      // hex SHA-256 of the input bytes (all inputs, in order)
  std::string machine;                     // free-form machine name, if known
  MachineSpec machine_spec;                // if known
  std::vector<double> timestamps;          // unix seconds, one per row (row index if unknown)
  std::vector<std::string> feature_names;  // column names of `features`
  std::vector<std::vector<double>> features;         // features[f][row], per-second rates, finite
  std::map<Component, std::vector<double>> targets;  // watts per row, finite
  std::vector<std::string> notes;  // what loading did (dropped rows, unit fixes), for reports

  std::size_t rows() const { return timestamps.size(); }
  // Index of a feature column, or -1.
  long FeatureIndex(std::string_view name) const;
  // rows × names matrix of the given rows (all rows when `rows` is empty).
  Result<FeatureMatrix> Matrix(const std::vector<std::string>& names,
                               const std::vector<std::size_t>& rows = {}) const;
  // A copy holding only the given rows, in that order (indices >= rows() are skipped, and noted).
  Dataset Subset(const std::vector<std::size_t>& rows) const;
};

struct CsvDatasetOptions {
  std::string name;  // defaults to the file name
  // Multiplies every `<component>_power` column. The Linux-4.15 kepler-model-db tables hold
  // joules per 3-s step, so they need 1/3 to become watts.
  double power_scale = 1.0;
};

// Reads a kepler-model-db "preprocessed" table (or nx12_merged_abs.csv): feature columns,
// `<component>_power` targets (package, core, uncore, dram, platform), an optional `timestamp`.
// Bookkeeping columns (an unnamed index, "Unnamed: 0", `node_type`, `id`, `packge_ratio_*`) are
// ignored. Missing targets, text in numeric cells, NaN, an empty table or a single row give a
// clear error naming the file, row and column. So do a negative power, a `*_power` column that
// names no component (it must never pass as a feature), and timestamps that repeat or are out of
// order: rows must form runs of increasing time (a run ends at a backward jump or a gap of more
// than 10 median steps) that do not overlap, so concatenated benchmark runs (Linux-4.15) load,
// with a note, while a shuffled table does not. Without a `timestamp` column the row index is
// used.
Result<Dataset> LoadDatasetCsv(const std::string& path, const CsvDatasetOptions& options = {});

struct PrometheusExtractOptions {
  std::string name;
  // Energy source whose node counters are the targets ("rapl-sysfs" or "acpi"); series whose
  // `source` label differs are ignored. Empty: accept any source.
  std::string energy_source;
  // Keep only this instance (a node); empty: the dump must hold exactly one instance, else an
  // error listing them (wattson never sums two nodes).
  std::string instance;
};

// Extracts a Dataset from a Prometheus query_range dump:
//   {"<metric>": [{"metric": {labels}, "values": [[ts, "value"], ...]}, ...], ...}
// (kepler-model-server's `query` output; also accepts the raw API shape
// {"status": "success", "data": {"result": [...]}} per metric file).
// Targets from kepler_node_<component>_joules_total (summed over `mode` and `package` labels of one
// instance), features from kepler_container_<feature>_total (summed over containers). Counters
// become rates with each interval's own Δt; an interval where a counter decreased (a reset) is
// dropped, never forward-filled.
// Details: rows are the intervals between consecutive timestamps at which every node energy
// series and every feature metric has a sample; a row's timestamp is its interval's end.
// Container series with job="vm" and the kepler_container_*_joules_total outputs are not
// features. A container that appears or vanishes inside an interval contributes the change
// between its own samples in it (its usage outside them is unknown and counts as 0; noted).
// Dataset.machine is the instance. `path` may also be a directory: every *.json file in it, in
// name order (one metric per file; a raw API response without `__name__` is named by the file
// stem). A series listed twice, non-increasing timestamps within a series, or a value that is not
// a finite number give an error naming the file, metric, labels and sample.
Result<Dataset> LoadPrometheusDump(const std::string& path,
                                   const PrometheusExtractOptions& options = {});

// Hex SHA-256 of bytes.
std::string Sha256Hex(std::string_view bytes);

}  // namespace wattson
