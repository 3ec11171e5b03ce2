#include "train/dataset.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <string_view>
#include <utility>

#include "common/csv.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "fmt/format.h"
#include "models/feature_groups.h"

namespace wattson {

// ---------------------------------------------------------------------------------------------
// Dataset

long Dataset::FeatureIndex(std::string_view feature) const {
  for (std::size_t i = 0; i < feature_names.size(); ++i) {
    if (feature_names[i] == feature) return static_cast<long>(i);
  }
  return -1;
}

Result<FeatureMatrix> Dataset::Matrix(const std::vector<std::string>& names,
                                      const std::vector<std::size_t>& row_ids) const {
  const std::vector<std::size_t>& rows = row_ids;
  std::vector<std::size_t> cols;
  cols.reserve(names.size());
  std::set<std::string_view> seen;
  for (const auto& n : names) {
    if (!seen.insert(n).second) {
      return Status::InvalidArgument(
          fmt::format("data set '{}': feature '{}' requested twice", this->name, n));
    }
    const long c = FeatureIndex(n);
    if (c < 0) {
      return Status::InvalidArgument(
          fmt::format("data set '{}' has no feature '{}'", this->name, n));
    }
    cols.push_back(static_cast<std::size_t>(c));
  }
  const std::size_t n_rows = rows.empty() ? this->rows() : rows.size();
  for (std::size_t r : rows) {
    if (r >= this->rows()) {
      return Status::OutOfRange(
          fmt::format("data set '{}': row {} out of range ({} rows)", this->name, r, this->rows()));
    }
  }
  FeatureMatrix m(names, n_rows);
  for (std::size_t i = 0; i < n_rows; ++i) {
    const std::size_t r = rows.empty() ? i : rows[i];
    for (std::size_t c = 0; c < cols.size(); ++c) m.at(i, c) = features[cols[c]][r];
  }
  return m;
}

Dataset Dataset::Subset(const std::vector<std::size_t>& row_ids) const {
  const std::vector<std::size_t>& rows = row_ids;
  Dataset out;
  out.name = name;
  out.origin = origin;
  out.sha256 = sha256;
  out.machine = machine;
  out.machine_spec = machine_spec;
  out.feature_names = feature_names;
  out.notes = notes;
  std::vector<std::size_t> keep;
  keep.reserve(rows.size());
  for (std::size_t r : rows) {
    if (r < this->rows()) keep.push_back(r);  // out-of-range indices are skipped (documented)
  }
  out.timestamps.reserve(keep.size());
  for (std::size_t r : keep) out.timestamps.push_back(timestamps[r]);
  out.features.resize(features.size());
  for (std::size_t f = 0; f < features.size(); ++f) {
    out.features[f].reserve(keep.size());
    for (std::size_t r : keep) out.features[f].push_back(features[f][r]);
  }
  for (const auto& [component, y] : targets) {
    auto& dst = out.targets[component];
    dst.reserve(keep.size());
    for (std::size_t r : keep) dst.push_back(y[r]);
  }
  if (keep.size() != rows.size()) {
    out.notes.push_back(
        fmt::format("subset: skipped {} out-of-range row indices", rows.size() - keep.size()));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// SHA-256

std::string Sha256Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xF]);
  }
  return out;
}

namespace {

std::string FileNameOf(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

std::string JoinNames(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s.empty() ? "''" : s;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// CSV tables

bool IsBookkeepingColumn(std::string_view name) {
  return name.empty() || StartsWith(name, "Unnamed:") || name == "node_type" || name == "id" ||
         StartsWith(name, "packge_ratio_") || StartsWith(name, "package_ratio_");
}

// See LoadDatasetCsv: splits timestamps into runs and checks that the runs do not overlap.
Status CheckRuns(const std::string& path, const std::vector<double>& ts,
                 std::vector<std::string>* notes) {
  const std::size_t n = ts.size();
  std::vector<double> steps;
  for (std::size_t r = 1; r < n; ++r) {
    if (ts[r] == ts[r - 1]) {
      return Status::InvalidArgument(
          fmt::format("{}: row {} (line {}), column 'timestamp': {} repeats the previous row's "
                      "timestamp",
                      path, r + 1, r + 2, FormatDouble(ts[r])));
    }
    if (ts[r] > ts[r - 1]) steps.push_back(ts[r] - ts[r - 1]);
  }
  double median_step = 0;
  if (!steps.empty()) {
    std::nth_element(steps.begin(), steps.begin() + static_cast<long>(steps.size() / 2),
                     steps.end());
    median_step = steps[steps.size() / 2];
  }
  struct Run {
    double first, last;
    std::size_t row;
  };
  std::vector<Run> runs{{ts[0], ts[0], 0}};
  std::vector<std::size_t> back_rows;
  for (std::size_t r = 1; r < n; ++r) {
    const bool back = ts[r] < ts[r - 1];
    if (back || ts[r] - ts[r - 1] > 10 * median_step) {
      if (back) back_rows.push_back(r);
      runs.push_back({ts[r], ts[r], r});
    } else {
      runs.back().last = ts[r];
    }
  }
  if (back_rows.empty()) return Status::Ok();  // monotonic, perhaps with gaps
  std::vector<Run> sorted = runs;
  std::sort(sorted.begin(), sorted.end(),
            [](const Run& a, const Run& b) { return a.first < b.first; });
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].first <= sorted[i - 1].last) {
      const std::size_t r = std::max(sorted[i].row, sorted[i - 1].row);
      return Status::InvalidArgument(fmt::format(
          "{}: row {} (line {}), column 'timestamp': timestamps are not monotonic (the rows from "
          "row {} overlap in time with those from row {}); sort the table by time",
          path, r + 1, r + 2, std::min(sorted[i].row, sorted[i - 1].row) + 1, r + 1));
    }
  }
  std::string starts, backs;
  for (const Run& run : runs) starts += (starts.empty() ? "" : ", ") + std::to_string(run.row + 1);
  for (std::size_t r : back_rows) backs += (backs.empty() ? "" : ", ") + std::to_string(r + 1);
  notes->push_back(fmt::format(
      "{} runs starting at rows {} (time goes back at row {}); the runs do not overlap in time",
      runs.size(), starts, backs));
  return Status::Ok();
}

}  // namespace

Result<Dataset> LoadDatasetCsv(const std::string& path, const CsvDatasetOptions& options) {
  if (!std::isfinite(options.power_scale) || options.power_scale <= 0) {
    return Status::InvalidArgument(fmt::format(
        "{}: power_scale must be a finite number > 0, not {}", path, options.power_scale));
  }
  WATTSON_ASSIGN_OR_RETURN(std::string text, ReadLocalFile(path));
  WATTSON_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, path));

  Dataset ds;
  ds.name = options.name.empty() ? FileNameOf(path) : options.name;
  ds.origin = path;
  ds.sha256 = Sha256Hex(text);

  // Classify the header.
  std::vector<std::size_t> feature_cols;
  std::vector<std::pair<Component, std::size_t>> target_cols;
  long ts_col = -1;
  std::vector<std::string> ignored;
  std::set<std::string_view> seen;
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    const std::string& h = table.header[c];
    if (!seen.insert(h).second) {
      return Status::InvalidArgument(
          fmt::format("{}: column '{}' appears twice in the header", path, h));
    }
    if (IsBookkeepingColumn(h)) {
      ignored.push_back(h);
      continue;
    }
    if (h == "timestamp") {
      ts_col = static_cast<long>(c);
      continue;
    }
    if (EndsWith(h, "_power")) {
      auto comp = ParseComponent(std::string_view(h).substr(0, h.size() - 6));
      if (!comp.ok()) {
        // Never let an unknown power column pass as a feature: it would leak the target.
        return Status::InvalidArgument(fmt::format(
            "{}: column '{}': unknown power column (expected <component>_power with component "
            "package, core, uncore, dram or platform)",
            path, h));
      }
      target_cols.emplace_back(*comp, c);
      continue;
    }
    feature_cols.push_back(c);
  }
  if (target_cols.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: no target column (<component>_power: package_power, core_power, uncore_power, "
        "dram_power or platform_power); header: {}",
        path, JoinNames(table.header)));
  }
  if (feature_cols.empty()) {
    return Status::InvalidArgument(
        fmt::format("{}: no feature column; header: {}", path, JoinNames(table.header)));
  }
  const std::size_t n = table.rows.size();
  if (n < 2) {
    return Status::InvalidArgument(
        fmt::format("{}: only {} data row; training needs at least 2", path, n));
  }

  for (std::size_t c : feature_cols) ds.feature_names.push_back(table.header[c]);
  ds.features.assign(feature_cols.size(), std::vector<double>(n));
  for (const auto& [comp, c] : target_cols) ds.targets[comp].resize(n);
  ds.timestamps.resize(n);

  for (std::size_t r = 0; r < n; ++r) {
    const auto& row = table.rows[r];
    auto cell = [&](std::size_t c) -> Result<double> {
      auto v = ParseFiniteDouble(row[c]);
      if (!v.ok()) {
        return Status::InvalidArgument(fmt::format("{}: row {} (line {}), column '{}': {}", path,
                                                   r + 1, r + 2, table.header[c],
                                                   v.status().message()));
      }
      return v;
    };
    if (ts_col >= 0) {
      WATTSON_ASSIGN_OR_RETURN(ds.timestamps[r], cell(static_cast<std::size_t>(ts_col)));
    } else {
      ds.timestamps[r] = static_cast<double>(r);
    }
    for (std::size_t f = 0; f < feature_cols.size(); ++f) {
      WATTSON_ASSIGN_OR_RETURN(ds.features[f][r], cell(feature_cols[f]));
    }
    for (const auto& [comp, c] : target_cols) {
      WATTSON_ASSIGN_OR_RETURN(double v, cell(c));
      if (v < 0) {
        return Status::InvalidArgument(
            fmt::format("{}: row {} (line {}), column '{}': negative power {}", path, r + 1, r + 2,
                        table.header[c], row[c]));
      }
      ds.targets[comp][r] = v * options.power_scale;
    }
  }

  // Timestamps: distinct and increasing within runs. A run ends at a backward jump or at a
  // forward gap of more than 10 median steps. Runs may come in any order (the Linux-4.15 tables
  // concatenate three benchmark runs out of time order) but must not overlap in time; anything
  // else (a shuffled or mis-sorted table) is an error.
  if (ts_col >= 0) {
    WATTSON_RETURN_IF_ERROR(CheckRuns(path, ds.timestamps, &ds.notes));
  } else {
    ds.notes.push_back("no 'timestamp' column: the row index stands in for time");
  }

  ds.notes.push_back(fmt::format(
      "loaded {} rows, {} features, targets: {} from {}", n, ds.feature_names.size(),
      [&] {
        std::string s;
        for (const auto& [comp, y] : ds.targets) {
          if (!s.empty()) s += ", ";
          s += ComponentName(comp);
        }
        return s;
      }(),
      FileNameOf(path)));
  if (!ignored.empty()) {
    ds.notes.push_back(fmt::format("ignored bookkeeping columns: {}", JoinNames(ignored)));
  }
  if (options.power_scale != 1.0) {
    ds.notes.push_back(
        fmt::format("multiplied every *_power column by {:.6g} (e.g. joules per 3-s step to watts)",
                    options.power_scale));
  }
  return ds;
}

// ---------------------------------------------------------------------------------------------
// Prometheus query_range dumps

namespace {

using Labels = std::map<std::string, std::string>;

// One Prometheus series: metric name, labels and strictly increasing samples.
struct Series {
  std::string metric;
  Labels labels;
  std::vector<double> ts;
  std::vector<double> v;
  std::vector<std::size_t> decreases;  // decreases[k]: samples k' <= k with v[k'] < v[k'-1]

  std::string Label(const std::string& key) const {
    auto it = labels.find(key);
    return it == labels.end() ? std::string() : it->second;
  }
};

std::string DescribeSeries(const std::string& metric, const Labels& labels) {
  std::string out = metric + "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    first = false;
    out += fmt::format("{}=\"{}\"", k, v);
  }
  return out + "}";
}

Result<double> SampleNumber(const Json& j, std::string_view ctx) {
  if (j.is_string()) {
    auto v = ParseFiniteDouble(j.get<std::string>());
    if (!v.ok()) return Status::InvalidArgument(fmt::format("{}: {}", ctx, v.status().message()));
    return v;
  }
  if (j.is_number()) return AsFiniteNumber(j, ctx);
  return Status::InvalidArgument(fmt::format("{}: expected a number or a numeric string", ctx));
}

// Parses {"metric": {labels}, "values": [[ts, "value"], ...]}. `metric` may be empty, then the
// `__name__` label names the series.
Result<Series> ParseSeries(const Json& j, const std::string& metric, std::string_view ctx) {
  if (!j.is_object()) {
    return Status::InvalidArgument(fmt::format("{}: a series must be an object", ctx));
  }
  Series s;
  s.metric = metric;
  if (const Json* m = FindField(j, "metric"); m != nullptr) {
    if (!m->is_object()) {
      return Status::InvalidArgument(fmt::format("{}.metric: labels must be an object", ctx));
    }
    for (const auto& [k, v] : m->items()) {
      if (!v.is_string()) {
        return Status::InvalidArgument(
            fmt::format("{}.metric.{}: label values must be strings", ctx, k));
      }
      if (k == "__name__") {
        if (s.metric.empty()) s.metric = v.get<std::string>();
        continue;
      }
      s.labels[k] = v.get<std::string>();
    }
  }
  if (s.metric.empty()) {
    return Status::InvalidArgument(fmt::format("{}: the series has no metric name", ctx));
  }
  const Json* values = FindField(j, "values");
  if (values == nullptr) {
    if (FindField(j, "value") != nullptr) {
      return Status::InvalidArgument(fmt::format(
          "{} ({}): an instant vector ('value'); wattson needs a range query ('values')", ctx,
          s.metric));
    }
    return Status::InvalidArgument(fmt::format("{} ({}): no 'values' array", ctx, s.metric));
  }
  if (!values->is_array()) {
    return Status::InvalidArgument(
        fmt::format("{} ({}): 'values' must be an array", ctx, s.metric));
  }
  const std::string where = DescribeSeries(s.metric, s.labels);
  s.ts.reserve(values->size());
  s.v.reserve(values->size());
  s.decreases.reserve(values->size());
  for (std::size_t k = 0; k < values->size(); ++k) {
    const Json& p = (*values)[k];
    const std::string sctx = fmt::format("{}: {} sample {}", ctx, where, k);
    if (!p.is_array() || p.size() != 2) {
      return Status::InvalidArgument(fmt::format("{}: expected [timestamp, \"value\"]", sctx));
    }
    WATTSON_ASSIGN_OR_RETURN(double t, SampleNumber(p[0], sctx + " timestamp"));
    WATTSON_ASSIGN_OR_RETURN(double v, SampleNumber(p[1], sctx + " value"));
    if (!s.ts.empty() && t <= s.ts.back()) {
      return Status::InvalidArgument(fmt::format("{}: timestamps are not increasing ({} after {})",
                                                 sctx, FormatDouble(t), FormatDouble(s.ts.back())));
    }
    const std::size_t prev = s.decreases.empty() ? 0 : s.decreases.back();
    s.decreases.push_back(prev + ((!s.v.empty() && v < s.v.back()) ? 1 : 0));
    s.ts.push_back(t);
    s.v.push_back(v);
  }
  return s;
}

Status ParseDumpDocument(const Json& doc, std::string_view what, const std::string& fallback_name,
                         std::vector<Series>* out) {
  if (!doc.is_object()) {
    return Status::InvalidArgument(fmt::format(
        "{}: not a Prometheus query_range dump (expected an object of metric -> series list)",
        what));
  }
  const Json* data = FindField(doc, "data");
  const Json* status = FindField(doc, "status");
  if (data != nullptr && status != nullptr) {  // raw API response
    if (!status->is_string() || status->get<std::string>() != "success") {
      return Status::InvalidArgument(
          fmt::format("{}: Prometheus response status is not \"success\"", what));
    }
    const Json* result = data->is_object() ? FindField(*data, "result") : nullptr;
    if (result == nullptr || !result->is_array()) {
      return Status::InvalidArgument(fmt::format("{}: data.result must be an array", what));
    }
    if (const Json* type = FindField(*data, "resultType");
        type != nullptr && (!type->is_string() || type->get<std::string>() != "matrix")) {
      return Status::InvalidArgument(
          fmt::format("{}: data.resultType must be \"matrix\" (a range query)", what));
    }
    for (std::size_t i = 0; i < result->size(); ++i) {
      const Json& sj = (*result)[i];
      std::string name;
      if (const Json* m = FindField(sj, "metric");
          m == nullptr || !m->is_object() || FindField(*m, "__name__") == nullptr) {
        name = fallback_name;
      }
      WATTSON_ASSIGN_OR_RETURN(Series s,
                               ParseSeries(sj, name, fmt::format("{}: data.result[{}]", what, i)));
      out->push_back(std::move(s));
    }
    return Status::Ok();
  }
  for (const auto& [metric, list] : doc.items()) {
    if (!list.is_array()) {
      return Status::InvalidArgument(fmt::format(
          "{}: metric '{}' must map to a list of series ({{\"metric\": ..., \"values\": ...}})",
          what, metric));
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      WATTSON_ASSIGN_OR_RETURN(
          Series s, ParseSeries(list[i], metric, fmt::format("{}: {}[{}]", what, metric, i)));
      s.metric = metric;
      out->push_back(std::move(s));
    }
  }
  return Status::Ok();
}

// Change of a counter over [a, b] from the series' own samples inside that range. `reset` is set
// when the counter decreased anywhere in it; `partial` when the series has no sample at a or b
// (it appeared or vanished inside the interval, so usage outside its samples is unknown).
struct Delta {
  double value = 0;
  bool reset = false;
  bool partial = false;
};

Delta CounterDelta(const Series& s, double a, double b) {
  Delta d;
  const auto lo_it = std::lower_bound(s.ts.begin(), s.ts.end(), a);
  const auto hi_it = std::upper_bound(s.ts.begin(), s.ts.end(), b);
  if (lo_it == s.ts.end() || lo_it >= hi_it) return d;  // no sample in [a, b]
  const auto lo = static_cast<std::size_t>(lo_it - s.ts.begin());
  const auto hi = static_cast<std::size_t>(hi_it - s.ts.begin()) - 1;
  d.partial = s.ts[lo] != a || s.ts[hi] != b;
  if (hi == lo) return d;
  d.reset = s.decreases[hi] != s.decreases[lo];
  d.value = s.v[hi] - s.v[lo];
  return d;
}

}  // namespace

Result<Dataset> LoadPrometheusDump(const std::string& path,
                                   const PrometheusExtractOptions& options) {
  // Inputs: one file, or every *.json file of a directory in name order (one metric per file).
  std::vector<std::string> files;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
      if (e.is_regular_file(ec) && e.path().extension() == ".json") {
        files.push_back(e.path().string());
      }
    }
    if (ec) {
      return Status::IoError(fmt::format("{}: cannot list directory: {}", path, ec.message()));
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) return Status::NotFound(fmt::format("{}: no *.json files", path));
  } else {
    files.push_back(path);
  }
  std::vector<Series> all;
  std::string all_bytes;
  for (const auto& f : files) {
    WATTSON_ASSIGN_OR_RETURN(std::string text, ReadLocalFile(f));
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
      return Status::InvalidArgument(fmt::format("{}: empty file", f));
    }
    WATTSON_ASSIGN_OR_RETURN(Json doc, ParseJson(text, f));
    WATTSON_RETURN_IF_ERROR(
        ParseDumpDocument(doc, f, std::filesystem::path(f).stem().string(), &all));
    all_bytes += text;
  }

  {
    std::set<std::string> seen;
    for (const Series& s : all) {
      std::string id = DescribeSeries(s.metric, s.labels);
      if (!seen.insert(id).second) {
        return Status::InvalidArgument(
            fmt::format("{}: series {} appears twice (it would be counted twice)", path, id));
      }
    }
  }

  Dataset ds;
  ds.name = options.name.empty() ? FileNameOf(path) : options.name;
  ds.origin = files.size() == 1 ? files[0] : path;
  ds.sha256 = Sha256Hex(all_bytes);

  // Classify the series.
  static constexpr std::string_view kNodePrefix = "kepler_node_";
  static constexpr std::string_view kContainerPrefix = "kepler_container_";
  static constexpr std::string_view kJoulesSuffix = "_joules_total";
  static constexpr std::string_view kTotalSuffix = "_total";
  const std::string want_source = NormaliseEnergySource(options.energy_source);
  std::map<Component, std::vector<const Series*>> target_series;
  std::map<std::string, std::vector<const Series*>> feature_series;
  std::set<std::string> ignored_metrics;
  std::size_t other_source = 0, vm_series = 0, no_source_label = 0;
  for (const Series& s : all) {
    std::string_view m = s.metric;
    if (StartsWith(m, kNodePrefix) && EndsWith(m, kJoulesSuffix)) {
      auto comp = ParseComponent(
          m.substr(kNodePrefix.size(), m.size() - kNodePrefix.size() - kJoulesSuffix.size()));
      if (!comp.ok()) {
        ignored_metrics.insert(s.metric);
        continue;
      }
      if (!want_source.empty()) {
        auto it = s.labels.find("source");
        if (it == s.labels.end()) {
          ++no_source_label;
        } else if (NormaliseEnergySource(it->second) != want_source) {
          ++other_source;
          continue;
        }
      }
      target_series[*comp].push_back(&s);
    } else if (StartsWith(m, kContainerPrefix) && EndsWith(m, kTotalSuffix) &&
               !EndsWith(m, kJoulesSuffix)) {
      if (s.Label("job") == "vm") {
        ++vm_series;
        continue;
      }
      feature_series[std::string(
                         m.substr(kContainerPrefix.size(),
                                  m.size() - kContainerPrefix.size() - kTotalSuffix.size()))]
          .push_back(&s);
    } else {
      ignored_metrics.insert(s.metric);
    }
  }
  if (target_series.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: no kepler_node_<component>_joules_total series{} (targets); metrics found: {}", path,
        want_source.empty() ? "" : fmt::format(" with source \"{}\"", want_source), [&] {
          std::set<std::string> names;
          for (const auto& s : all) names.insert(s.metric);
          return JoinNames({names.begin(), names.end()});
        }()));
  }
  if (feature_series.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: no kepler_container_<feature>_total series (features) outside job=\"vm\"", path));
  }

  // Instances: never mix two nodes.
  std::set<std::string> instances;
  for (const auto& [c, v] : target_series) {
    for (const Series* s : v) instances.insert(s->Label("instance"));
  }
  for (const auto& [f, v] : feature_series) {
    for (const Series* s : v) instances.insert(s->Label("instance"));
  }
  const auto list_instances = [&] {
    std::vector<std::string> v;
    for (const auto& i : instances) v.push_back(i.empty() ? "(no instance label)" : i);
    return JoinNames(v);
  };
  std::string instance = options.instance;
  if (instance.empty()) {
    if (instances.size() > 1) {
      return Status::InvalidArgument(fmt::format(
          "{}: the dump holds {} instances ({}); choose one (wattson never sums two nodes)", path,
          instances.size(), list_instances()));
    }
    instance = *instances.begin();
  } else if (instances.count(instance) == 0) {
    return Status::NotFound(fmt::format("{}: instance '{}' is not in the dump; instances: {}", path,
                                        instance, list_instances()));
  }
  const auto keep_instance = [&](auto& by_key) {
    for (auto it = by_key.begin(); it != by_key.end();) {
      auto& v = it->second;
      v.erase(std::remove_if(v.begin(), v.end(),
                             [&](const Series* s) { return s->Label("instance") != instance; }),
              v.end());
      it = v.empty() ? by_key.erase(it) : std::next(it);
    }
  };
  keep_instance(target_series);
  keep_instance(feature_series);
  if (target_series.empty() || feature_series.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: instance '{}' has {} (it needs both node energy and container counters)", path,
        instance, target_series.empty() ? "no node energy series" : "no container series"));
  }

  // Row grid: timestamps where every node energy series has a sample and every feature metric has
  // at least one container sample.
  std::vector<double> grid;
  bool first = true;
  const auto intersect = [&](std::vector<double> ts) {
    if (first) {
      grid = std::move(ts);
      first = false;
      return;
    }
    std::vector<double> out;
    std::set_intersection(grid.begin(), grid.end(), ts.begin(), ts.end(), std::back_inserter(out));
    grid = std::move(out);
  };
  for (const auto& [c, v] : target_series) {
    for (const Series* s : v) intersect(s->ts);
  }
  for (const auto& [f, v] : feature_series) {
    std::set<double> any;
    for (const Series* s : v) any.insert(s->ts.begin(), s->ts.end());
    intersect({any.begin(), any.end()});
  }
  if (grid.size() < 3) {
    return Status::InvalidArgument(fmt::format(
        "{}: only {} timestamps are common to the node energy and container series; need at "
        "least 3 (2 intervals)",
        path, grid.size()));
  }

  // Per-interval rates.
  std::vector<std::string> feature_names;
  for (const auto& [f, v] : feature_series) feature_names.push_back(f);
  ds.feature_names = feature_names;
  ds.features.assign(feature_names.size(), {});
  std::map<std::string, std::size_t> resets_by_metric;
  std::set<const Series*> partial_series;
  double min_dt = 0, max_dt = 0;
  std::size_t dropped = 0;
  for (std::size_t k = 1; k < grid.size(); ++k) {
    const double a = grid[k - 1], b = grid[k], dt = b - a;
    std::set<std::string> reset_metrics;
    std::map<Component, double> watts;
    for (const auto& [c, v] : target_series) {
      double joules = 0;
      for (const Series* s : v) {
        const Delta d = CounterDelta(*s, a, b);
        if (d.reset || d.value < 0) reset_metrics.insert(s->metric);
        joules += d.value;
      }
      watts[c] = joules / dt;
    }
    std::vector<double> rates(feature_names.size(), 0.0);
    std::size_t f = 0;
    for (const auto& [name, v] : feature_series) {
      double total = 0;
      for (const Series* s : v) {
        const Delta d = CounterDelta(*s, a, b);
        if (d.reset || d.value < 0) reset_metrics.insert(s->metric);
        if (d.partial) partial_series.insert(s);
        total += d.value;
      }
      rates[f++] = total / dt;
    }
    if (!reset_metrics.empty()) {
      for (const auto& m : reset_metrics) ++resets_by_metric[m];
      ++dropped;
      continue;
    }
    if (ds.timestamps.empty()) {
      min_dt = max_dt = dt;
    } else {
      min_dt = std::min(min_dt, dt);
      max_dt = std::max(max_dt, dt);
    }
    ds.timestamps.push_back(b);
    for (std::size_t i = 0; i < rates.size(); ++i) ds.features[i].push_back(rates[i]);
    for (const auto& [c, w] : watts) ds.targets[c].push_back(w);
  }
  if (ds.rows() < 2) {
    return Status::InvalidArgument(fmt::format(
        "{}: only {} usable interval(s) after dropping {} with a counter reset; need at least 2",
        path, ds.rows(), dropped));
  }

  std::size_t n_containers = 0;
  for (const auto& [name, v] : feature_series) n_containers += v.size();
  ds.machine = instance;
  ds.notes.push_back(
      fmt::format("extracted {} rows from {} intervals of instance '{}'; per-interval Δt {}..{} s",
                  ds.rows(), grid.size() - 1, instance.empty() ? "(none)" : instance,
                  FormatDouble(min_dt), FormatDouble(max_dt)));
  for (const auto& [metric, count] : resets_by_metric) {
    ds.notes.push_back(fmt::format("dropped {} interval{} with a counter reset on {}", count,
                                   count == 1 ? "" : "s", metric));
  }
  {
    std::string comps;
    for (const auto& [c, v] : target_series) {
      if (!comps.empty()) comps += ", ";
      comps += fmt::format("{} ({} series)", ComponentName(c), v.size());
    }
    ds.notes.push_back(fmt::format(
        "targets: watts from kepler_node_<component>_joules_total summed over mode/package: {}",
        comps));
  }
  ds.notes.push_back(fmt::format(
      "features: per-second rates of {} kepler_container_*_total metrics summed over {} "
      "container series",
      feature_names.size(), n_containers));
  if (!partial_series.empty()) {
    ds.notes.push_back(fmt::format(
        "{} container series start or end inside the range: usage outside their samples is "
        "unknown and counts as 0",
        partial_series.size()));
  }
  if (instances.size() > 1) {
    ds.notes.push_back(fmt::format("kept instance '{}' of {}", instance, instances.size()));
  }
  if (other_source > 0) {
    ds.notes.push_back(fmt::format("ignored {} node energy series with a source other than '{}'",
                                   other_source, want_source));
  }
  if (no_source_label > 0) {
    ds.notes.push_back(
        fmt::format("{} node energy series have no 'source' label and were kept", no_source_label));
  }
  if (vm_series > 0) {
    ds.notes.push_back(fmt::format("ignored {} container series with job=\"vm\"", vm_series));
  }
  if (!ignored_metrics.empty()) {
    ds.notes.push_back(fmt::format("ignored metrics: {}",
                                   JoinNames({ignored_metrics.begin(), ignored_metrics.end()})));
  }
  return ds;
}

}  // namespace wattson
