#include "models/catalogue.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <optional>
#include <set>
#include <system_error>

#include "common/csv.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "models/archive/kepler_archive.h"
#include "models/feature_groups.h"
#include "models/kepler_weights.h"
#include "models/wattson_format.h"

namespace wattson {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxListItems = 4096;
constexpr std::size_t kMaxFilterTerms = 64;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "a/b/c.json" → "a/b"; "c.json" → "".
std::string ParentDir(std::string_view rel) {
  auto pos = rel.rfind('/');
  return pos == std::string_view::npos ? std::string() : std::string(rel.substr(0, pos));
}

std::string_view FileName(std::string_view rel) {
  auto pos = rel.rfind('/');
  return pos == std::string_view::npos ? rel : rel.substr(pos + 1);
}

std::vector<std::string_view> SplitPath(std::string_view rel) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= rel.size()) {
    std::size_t end = rel.find('/', start);
    if (end == std::string_view::npos) end = rel.size();
    if (end > start) parts.push_back(rel.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool IsNumberPresent(double v) { return std::isfinite(v) && v > 0; }

ModelMetrics MetricsFromErrors(const ModelErrors& e) {
  ModelMetrics m;
  auto put = [&m](const std::string& key, double v) {
    if (std::isnan(v)) return;
    if (key.find("mape") != std::string::npos && v < 0) return;
    m[key] = v;
  };
  put("mae", e.mae);
  put("mape", e.mape);
  for (const auto& [comp, ce] : e.per_component) {
    put(comp + "_mae", ce.mae);
    put(comp + "_mape", ce.mape);
    put(comp + "_max_error", ce.max_error);
    put(comp + "_r2", ce.r2);
  }
  return m;
}

// Kepler names a model folder <Trainer>_<node type>, e.g. "GradientBoostingRegressorTrainer_0".
bool IsModelFolderName(std::string_view name) {
  const auto underscore = name.rfind('_');
  if (underscore == std::string_view::npos || underscore == 0 || underscore + 1 == name.size()) {
    return false;
  }
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(underscore) + 1, name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// Working state of one Scan call.
class Scanner {
 public:
  Scanner(const fs::path& root, Logger* logger, const ScanOptions& options)
      : root_(root), logger_(logger), options_(options) {}

  void AddProblem(std::string path, Status status) {
    if (logger_ != nullptr) logger_->debug("model catalogue: {}: {}", path, status.ToString());
    problems_.push_back({std::move(path), std::move(status)});
  }

  // Walks the tree; fills files_ (root-relative, sorted).
  void Walk() {
    std::error_code ec;
    fs::recursive_directory_iterator it(root_, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
      AddProblem(root_.string(), Status::IoError(ec.message()));
      return;
    }
    std::size_t visited = 0;
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (++visited > options_.max_files) {
        AddProblem(root_.string(),
                   Status::OutOfRange(fmt::format("more than {} files; the rest were not indexed",
                                                  options_.max_files)));
        break;
      }
      if (it.depth() >= options_.max_depth) it.disable_recursion_pending();
      std::error_code fec;
      if (!it->is_regular_file(fec) || fec) continue;
      std::string rel = it->path().lexically_relative(root_).generic_string();
      if (rel.empty() || StartsWith(rel, "..")) continue;
      files_.push_back(std::move(rel));
    }
    if (ec) AddProblem(root_.string(), Status::IoError(fmt::format("walking: {}", ec.message())));
    std::sort(files_.begin(), files_.end());
  }

  void IndexSideFiles() {
    for (const auto& rel : files_) {
      std::string_view name = FileName(rel);
      if (StartsWith(name, "node_type_index") && EndsWith(name, ".json")) {
        LoadNodeTypeIndex(rel);
        pipeline_dirs_.insert(ParentDir(rel));
      } else if (EndsWith(name, ".csv") && name.find("_model_metadata") != std::string_view::npos) {
        csvs_by_dir_[ParentDir(rel)].push_back(rel);
        pipeline_dirs_.insert(ParentDir(rel));
      } else if (name == "metadata.json" && !IsModelFolderName(FileName(ParentDir(rel)))) {
        // A model folder (<Trainer>_<node type>/) carries its own metadata.json; only one
        // outside such a folder describes a pipeline.
        pipeline_dirs_.insert(ParentDir(rel));
      }
    }
  }

  void LoadModels() {
    for (const auto& rel : files_) {
      std::string_view name = FileName(rel);
      if (EndsWith(name, ".zip")) {
        LoadArchive(rel, rel);
        continue;
      }
      if (name == "metadata.json" && IsModelFolderName(FileName(ParentDir(rel))) &&
          archive::IsKeplerArchivePath(FullPath(ParentDir(rel)))) {
        // An unpacked archive; its id ends with '/' so that it never equals the id of a weight
        // JSON <Trainer>_<n>.json beside it.
        LoadArchive(ParentDir(rel), ParentDir(rel) + "/");
        continue;
      }
      if (!EndsWith(name, ".json") || StartsWith(name, "node_type_index")) continue;
      LoadModelFile(rel);
    }
    std::sort(entries_.begin(), entries_.end(),
              [](const CatalogueEntry& a, const CatalogueEntry& b) { return a.id < b.id; });
  }

  std::vector<CatalogueEntry> TakeEntries() { return std::move(entries_); }
  std::vector<CatalogueProblem> TakeProblems() { return std::move(problems_); }
  std::map<std::string, NodeTypeIndex> TakeIndexes() { return std::move(indexes_); }

 private:
  std::string FullPath(const std::string& rel) const { return (root_ / rel).string(); }

  // The pipeline a model belongs to: the name of the nearest ancestor directory (the root
  // included) holding pipeline files (metadata.json, node_type_index*.json, metadata CSVs), else
  // the first directory under the root, else "".
  std::string PipelineOf(const std::string& rel) const {
    std::string dir = ParentDir(rel);
    for (;;) {
      if (pipeline_dirs_.count(dir) != 0) {
        if (!dir.empty()) return std::string(FileName(dir));
        fs::path normal = root_.lexically_normal();
        if (normal.filename().empty()) normal = normal.parent_path();
        return normal.filename().string();
      }
      if (dir.empty()) break;
      dir = ParentDir(dir);
    }
    auto slash = rel.find('/');
    return slash == std::string::npos ? std::string() : rel.substr(0, slash);
  }

  Result<std::string> Read(const std::string& rel) {
    return ReadLocalFile(FullPath(rel), options_.max_file_bytes);
  }

  void LoadNodeTypeIndex(const std::string& rel) {
    auto text = Read(rel);
    if (!text.ok()) return AddProblem(rel, text.status());
    auto j = ParseJson(*text, rel, JsonLimits{options_.max_file_bytes, 64});
    if (!j.ok()) return AddProblem(rel, j.status());
    auto index = ParseNodeTypeIndex(*j, rel);
    if (!index.ok()) return AddProblem(rel, index.status());
    auto& dst = indexes_[ParentDir(rel)];
    for (auto& [nt, entry] : *index) dst.emplace(nt, std::move(entry));
  }

  const CsvTable* Csv(const std::string& rel) {
    auto it = csv_cache_.find(rel);
    if (it != csv_cache_.end()) return it->second ? &*it->second : nullptr;
    std::optional<CsvTable> table;
    auto text = Read(rel);
    if (!text.ok()) {
      AddProblem(rel, text.status());
    } else {
      auto parsed = ParseCsv(*text, rel, CsvLimits{}, /*require_rows=*/false);
      if (!parsed.ok()) {
        AddProblem(rel, parsed.status());
      } else {
        table = std::move(parsed).value();
      }
    }
    auto [pos, inserted] = csv_cache_.emplace(rel, std::move(table));
    return pos->second ? &*pos->second : nullptr;
  }

  // The metrics of the metadata-CSV row describing a Kepler model, if any.
  std::optional<ModelMetrics> FindPublishedMetrics(const std::string& rel,
                                                   std::string_view raw_source,
                                                   const std::string& model_name,
                                                   const KeplerWeightOptions& opt,
                                                   const std::vector<std::string>& features) {
    if (model_name.empty() || opt.output_type.empty()) return std::nullopt;
    std::set<std::string> prefixes;
    if (!raw_source.empty())
      prefixes.insert(fmt::format("{}_{}_model_metadata", raw_source, opt.output_type));
    if (!opt.energy_source.empty()) {
      prefixes.insert(fmt::format("{}_{}_model_metadata", opt.energy_source, opt.output_type));
    }
    const std::set<std::string> want_features(features.begin(), features.end());
    std::string dir = ParentDir(rel);
    for (;;) {
      if (auto it = csvs_by_dir_.find(dir); it != csvs_by_dir_.end()) {
        for (const auto& csv_rel : it->second) {
          std::string_view name = FileName(csv_rel);
          bool match = std::any_of(prefixes.begin(), prefixes.end(),
                                   [&](const std::string& p) { return StartsWith(name, p); });
          if (!match) continue;
          const CsvTable* table = Csv(csv_rel);
          if (table == nullptr) continue;
          if (auto m = MatchRow(*table, model_name, opt, want_features)) return m;
        }
      }
      if (dir.empty()) break;
      dir = ParentDir(dir);
    }
    return std::nullopt;
  }

  static std::optional<ModelMetrics> MatchRow(const CsvTable& t, const std::string& model_name,
                                              const KeplerWeightOptions& opt,
                                              const std::set<std::string>& features) {
    const long c_name = t.ColumnIndex("model_name");
    if (c_name < 0) return std::nullopt;
    const long c_fg = t.ColumnIndex("feature_group");
    const long c_nt = t.ColumnIndex("node_type");
    const long c_ot = t.ColumnIndex("output_type");
    const long c_features = t.ColumnIndex("features");
    auto cell = [](const std::vector<std::string>& row, long c) -> std::string_view {
      return Trim(row[static_cast<std::size_t>(c)]);
    };
    for (const auto& row : t.rows) {
      if (cell(row, c_name) != model_name) continue;
      if (c_fg >= 0 && !opt.feature_group.empty() && cell(row, c_fg) != opt.feature_group) {
        continue;
      }
      if (c_ot >= 0 && cell(row, c_ot) != opt.output_type) continue;
      if (c_nt >= 0 && opt.node_type >= 0) {
        auto nt = ParseFiniteDouble(cell(row, c_nt));
        if (!nt.ok() || *nt != static_cast<double>(opt.node_type)) continue;
      }
      if (c_features >= 0) {
        auto listed = ParsePythonStringList(cell(row, c_features));
        if (listed.ok() && std::set<std::string>(listed->begin(), listed->end()) != features) {
          continue;
        }
      }
      ModelMetrics m;
      for (std::size_t i = 0; i < t.header.size(); ++i) {
        const std::string& key = t.header[i];
        if (key.empty() || StartsWith(key, "Unnamed") || key == "node_type") continue;
        auto v = ParseFiniteDouble(row[i]);
        if (!v.ok()) continue;
        if (key.find("mape") != std::string::npos && *v < 0) continue;  // -1 = undefined
        m[key] = *v;
      }
      return m;
    }
    return std::nullopt;
  }

  const NodeTypeEntry* FindNodeType(const std::string& rel, int node_type) const {
    if (node_type < 0) return nullptr;
    std::string dir = ParentDir(rel);
    for (;;) {
      if (auto it = indexes_.find(dir); it != indexes_.end()) {
        if (auto nt = it->second.find(node_type); nt != it->second.end()) return &nt->second;
      }
      if (dir.empty()) return nullptr;
      dir = ParentDir(dir);
    }
  }

  void LoadModelFile(const std::string& rel) {
    auto text = Read(rel);
    if (!text.ok()) return AddProblem(rel, text.status());
    auto parsed = ParseJson(*text, rel, JsonLimits{options_.max_file_bytes, 64});
    if (!parsed.ok()) return AddProblem(rel, parsed.status());
    const Json& j = *parsed;
    const std::string id = rel.substr(0, rel.size() - 5);  // drop ".json"
    const auto parts = SplitPath(rel);
    CatalogueEntry entry;
    entry.id = id;
    entry.path = FullPath(rel);
    entry.pipeline = PipelineOf(rel);

    if (IsWattsonModelJson(j)) {
      auto model = WattsonModelFromJson(j, rel);
      if (!model.ok()) return AddProblem(rel, model.status());
      ModelInfo info = (*model)->info();
      if (info.provenance.origin.empty()) info.provenance.origin = info.id.empty() ? rel : info.id;
      info.id = id;
      (*model)->SetInfo(std::move(info));
      entry.format = "wattson";
      entry.metrics = MetricsFromErrors((*model)->info().errors);
      entry.model = std::move(model).value();
      entries_.push_back(std::move(entry));
      return;
    }
    if (!IsKeplerWeightJson(j)) {
      if (logger_ != nullptr) logger_->debug("model catalogue: {}: not a model file, skipped", rel);
      return;
    }
    KeplerWeightOptions opt;
    InferKeplerWeightOptionsFromPath(rel, &opt);
    opt.id = id;
    auto model = KeplerWeightsFromJson(j, opt);
    if (!model.ok()) return AddProblem(rel, model.status());
    entry.format = "kepler-weights";

    ModelInfo info = (*model)->info();
    // The raw source directory (e.g. v0.6 "rapl") names the metadata CSVs.
    std::string_view raw_source;
    {
      std::size_t up = FileName(rel) == "weight.json" && opt.node_type >= 0 ? 5 : 4;
      if (parts.size() >= up) raw_source = parts[parts.size() - up];
    }
    const std::string model_name = (!opt.trainer.empty() && opt.node_type >= 0)
                                       ? fmt::format("{}_{}", opt.trainer, opt.node_type)
                                       : std::string();
    if (!model_name.empty()) info.name = model_name;
    if (auto m = FindPublishedMetrics(rel, raw_source, model_name, opt, info.features)) {
      entry.metrics = std::move(*m);
      info.errors = KeplerPublishedErrors(entry.metrics, info.components);
    } else {
      entry.metrics = MetricsFromErrors(info.errors);
    }
    if (const NodeTypeEntry* nt = FindNodeType(rel, opt.node_type)) {
      info.provenance.machine_spec = nt->spec;
    }
    if (!entry.pipeline.empty()) {
      info.provenance.dataset = fmt::format("kepler-model-db {}", entry.pipeline);
    }
    (*model)->SetInfo(std::move(info));
    entry.model = std::move(model).value();
    entries_.push_back(std::move(entry));
  }

  // A Kepler model archive: a zip (rel is the file) or an unpacked folder (rel is the folder).
  void LoadArchive(const std::string& rel, const std::string& id) {
    archive::ArchiveOptions options;
    options.id = id;
    options.max_archive_bytes = options_.max_archive_bytes;
    auto loaded = archive::LoadKeplerArchive(FullPath(rel), options);
    if (!loaded.ok()) return AddProblem(rel, loaded.status());
    CatalogueEntry entry;
    entry.id = id;
    entry.path = FullPath(rel);
    entry.pipeline = PipelineOf(rel);
    entry.format = "kepler-archive";
    entry.metrics = std::move(loaded->published_metrics);
    ModelInfo info = loaded->model->info();
    if (const NodeTypeEntry* nt = FindNodeType(rel, info.node_type);
        nt != nullptr && info.provenance.machine_spec.empty()) {
      info.provenance.machine_spec = nt->spec;
    }
    if (!entry.pipeline.empty()) {
      info.provenance.dataset = fmt::format("kepler-model-db {}", entry.pipeline);
    }
    loaded->model->SetInfo(std::move(info));
    entry.model = std::move(loaded->model);
    entries_.push_back(std::move(entry));
  }

  fs::path root_;
  Logger* logger_;
  const ScanOptions& options_;
  std::vector<std::string> files_;
  std::vector<CatalogueEntry> entries_;
  std::vector<CatalogueProblem> problems_;
  std::map<std::string, NodeTypeIndex> indexes_;
  std::map<std::string, std::vector<std::string>> csvs_by_dir_;
  std::set<std::string> pipeline_dirs_;
  std::map<std::string, std::optional<CsvTable>> csv_cache_;
};

std::string JoinNames(const std::vector<std::string>& names, std::size_t max = 8) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > max) out += fmt::format(", ... ({} in all)", names.size());
  return out;
}

bool ProcessorEqual(std::string_view a, std::string_view b) { return Lower(a) == Lower(b); }

}  // namespace

Result<NodeTypeIndex> ParseNodeTypeIndex(const Json& j, std::string_view what) {
  if (!j.is_object()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected an object of node types, got {}", what, j.type_name()));
  }
  NodeTypeIndex index;
  for (const auto& [key, value] : j.items()) {
    const std::string ctx = JoinPath(what, key);
    auto nt = ParseFiniteDouble(key);
    if (!nt.ok() || *nt < 0 || *nt > 1e9 || *nt != std::floor(*nt)) {
      return Status::InvalidArgument(
          fmt::format("{}: node type is not a non-negative integer", ctx));
    }
    if (!value.is_object()) {
      return Status::InvalidArgument(
          fmt::format("{}: expected an object, got {}", ctx, value.type_name()));
    }
    NodeTypeEntry entry;
    if (const Json* attrs = FindField(value, "attrs"); attrs != nullptr && !attrs->is_null()) {
      WATTSON_ASSIGN_OR_RETURN(entry.spec,
                               KeplerMachineSpecFromJson(*attrs, JoinPath(ctx, "attrs")));
    }
    if (const Json* members = FindField(value, "members");
        members != nullptr && !members->is_null()) {
      if (!members->is_array()) {
        return Status::InvalidArgument(
            fmt::format("{}.members: expected an array, got {}", ctx, members->type_name()));
      }
      entry.members = members->size();
    }
    index[static_cast<int>(*nt)] = std::move(entry);
  }
  return index;
}

bool SpecCovers(const MachineSpec& model, const MachineSpec& request) {
  if (!request.processor.empty() && !ProcessorEqual(model.processor, request.processor)) {
    return false;
  }
  const std::pair<double, double> numbers[] = {{model.cores, request.cores},
                                               {model.chips, request.chips},
                                               {model.memory_gib, request.memory_gib},
                                               {model.frequency_mhz, request.frequency_mhz}};
  for (const auto& [have, want] : numbers) {
    if (IsNumberPresent(want) && have != want) return false;
  }
  return true;
}

double SpecSimilarity(const MachineSpec& a, const MachineSpec& b) {
  double processor = 0;
  if (!a.processor.empty() && !b.processor.empty()) {
    if (ProcessorEqual(a.processor, b.processor)) {
      processor = 1;
    } else {
      const std::string la = Lower(a.processor);
      const std::string lb = Lower(b.processor);
      std::set<char> sa(la.begin(), la.end());
      std::set<char> sb(lb.begin(), lb.end());
      std::size_t common = 0;
      for (char c : sa) common += sb.count(c);
      std::size_t all = sa.size() + sb.size() - common;
      processor = all == 0 ? 0 : 0.5 * static_cast<double>(common) / static_cast<double>(all);
    }
  }
  auto numeric = [](double x, double y) {
    if (!IsNumberPresent(x) || !IsNumberPresent(y)) return 0.0;
    double ratio = std::fabs(x - y) / ((x + y) / 2);
    return ratio >= 1 ? 0.0 : 1 - ratio;
  };
  double s = 5 * processor + numeric(a.cores, b.cores) + numeric(a.chips, b.chips) +
             0.5 * numeric(a.memory_gib, b.memory_gib) +
             0.5 * numeric(a.frequency_mhz, b.frequency_mhz);
  return std::min(1.0, s / 8);
}

Result<std::vector<ModelFilter>> ParseModelFilters(std::string_view filter) {
  std::vector<ModelFilter> out;
  std::size_t start = 0;
  while (start <= filter.size()) {
    std::size_t end = filter.find(';', start);
    if (end == std::string_view::npos) end = filter.size();
    std::string_view term = Trim(filter.substr(start, end - start));
    start = end + 1;
    if (term.empty()) continue;
    if (out.size() >= kMaxFilterTerms) {
      return Status::OutOfRange(fmt::format("filter: more than {} terms", kMaxFilterTerms));
    }
    auto colon = term.find(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument(fmt::format("filter term '{}': expected key:value", term));
    }
    ModelFilter f;
    f.key = std::string(Trim(term.substr(0, colon)));
    std::string_view value = Trim(term.substr(colon + 1));
    if (f.key.empty()) {
      return Status::InvalidArgument(fmt::format("filter term '{}': empty key", term));
    }
    if (f.key == "features") {
      std::size_t s = 0;
      while (s <= value.size()) {
        std::size_t e = value.find(',', s);
        if (e == std::string_view::npos) e = value.size();
        std::string_view name = Trim(value.substr(s, e - s));
        if (!name.empty()) f.features.emplace_back(name);
        s = e + 1;
      }
    } else {
      auto v = ParseFiniteDouble(value);
      if (!v.ok()) {
        return Status::InvalidArgument(
            fmt::format("filter term '{}': {}", term, v.status().message()));
      }
      f.value = *v;
    }
    out.push_back(std::move(f));
  }
  return out;
}

bool PassesFilters(const CatalogueEntry& entry, const std::vector<ModelFilter>& filters) {
  for (const auto& f : filters) {
    if (f.key == "features") {
      for (const auto& feature : entry.info().features) {
        if (std::find(f.features.begin(), f.features.end(), feature) == f.features.end()) {
          return false;
        }
      }
      continue;
    }
    auto it = entry.metrics.find(f.key);
    if (it == entry.metrics.end()) return false;
    if (f.key == "abs_max_corr" ? it->second < f.value : it->second > f.value) return false;
  }
  return true;
}

Result<std::vector<std::string>> ParsePythonStringList(std::string_view cell) {
  std::string_view s = Trim(cell);
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') {
    return Status::InvalidArgument(fmt::format("'{}' is not a Python list", cell.substr(0, 80)));
  }
  s = s.substr(1, s.size() - 2);
  std::vector<std::string> out;
  std::size_t i = 0;
  auto skip_space = [&]() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  for (;;) {
    skip_space();
    if (i >= s.size()) break;
    char quote = s[i];
    if (quote != '\'' && quote != '"') {
      return Status::InvalidArgument(
          fmt::format("'{}': expected a quoted string at offset {}", cell.substr(0, 80), i + 1));
    }
    ++i;
    std::string item;
    bool closed = false;
    while (i < s.size()) {
      char c = s[i++];
      if (c == '\\') {
        if (i >= s.size()) break;
        item.push_back(s[i++]);
        continue;
      }
      if (c == quote) {
        closed = true;
        break;
      }
      item.push_back(c);
    }
    if (!closed) {
      return Status::InvalidArgument(fmt::format("'{}': unterminated string", cell.substr(0, 80)));
    }
    if (out.size() >= kMaxListItems) {
      return Status::OutOfRange(fmt::format("list with more than {} items", kMaxListItems));
    }
    out.push_back(std::move(item));
    skip_space();
    if (i >= s.size()) break;
    if (s[i] != ',') {
      return Status::InvalidArgument(
          fmt::format("'{}': expected ',' at offset {}", cell.substr(0, 80), i + 1));
    }
    ++i;
  }
  return out;
}

Result<ModelCatalogue> ModelCatalogue::Scan(const std::string& root, Logger* logger,
                                            const ScanOptions& options) {
  std::error_code ec;
  fs::path root_path(root);
  if (root.empty() || !fs::is_directory(root_path, ec) || ec) {
    return Status::NotFound(fmt::format("model catalogue: '{}' is not a readable directory", root));
  }
  Scanner scanner(root_path, logger, options);
  scanner.Walk();
  scanner.IndexSideFiles();
  scanner.LoadModels();
  ModelCatalogue cat;
  cat.root_ = root;
  cat.entries_ = scanner.TakeEntries();
  cat.problems_ = scanner.TakeProblems();
  cat.indexes_ = scanner.TakeIndexes();
  if (logger != nullptr) {
    logger->info("model catalogue: {} models under {} ({} problems)", cat.entries_.size(), root,
                 cat.problems_.size());
  }
  return cat;
}

const CatalogueEntry* ModelCatalogue::Find(std::string_view id) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), id,
                             [](const CatalogueEntry& e, std::string_view v) { return e.id < v; });
  return it != entries_.end() && it->id == id ? &*it : nullptr;
}

Result<const CatalogueEntry*> ModelCatalogue::SelectBest(const SelectionRequest& req,
                                                         std::string* note) const {
  if (note != nullptr) note->clear();
  if (req.features.empty()) {
    return Status::InvalidArgument("model selection: the request lists no features");
  }
  if (req.error_key.empty()) {
    return Status::InvalidArgument("model selection: empty error key");
  }
  WATTSON_ASSIGN_OR_RETURN(auto filters, ParseModelFilters(req.filter));
  const std::string source = NormaliseEnergySource(req.energy_source);
  const std::string ot(OutputTypeName(req.output_type));
  const std::string for_source =
      source.empty() ? std::string() : fmt::format(" for energy source '{}'", source);
  const std::string what = fmt::format("{} model{}", ot, for_source);  // singular
  auto models = [&](std::size_t n) {
    return fmt::format("{} {} model{}{}", n, ot, n == 1 ? "" : "s", for_source);
  };

  std::vector<const CatalogueEntry*> pool;
  for (const auto& e : entries_) {
    const ModelInfo& info = e.info();
    if (info.output_type != req.output_type) continue;
    if (!source.empty() && NormaliseEnergySource(info.energy_source) != source) continue;
    if (!req.pipeline.empty() && e.pipeline != req.pipeline) continue;
    if (!req.feature_group.empty() && info.feature_group != req.feature_group) continue;
    pool.push_back(&e);
  }
  if (pool.empty()) {
    std::string extra;
    if (!req.pipeline.empty()) extra += fmt::format(", pipeline '{}'", req.pipeline);
    if (!req.feature_group.empty()) extra += fmt::format(", feature group '{}'", req.feature_group);
    return Status::NotFound(
        fmt::format("no {}{} in the catalogue ({} models in all)", what, extra, entries_.size()));
  }

  // Features: every feature the model reads must be available.
  {
    std::vector<const CatalogueEntry*> kept;
    std::set<std::vector<std::string>> needed;
    for (const auto* e : pool) {
      const auto& f = e->info().features;
      bool ok = std::all_of(f.begin(), f.end(), [&](const std::string& name) {
        return std::find(req.features.begin(), req.features.end(), name) != req.features.end();
      });
      if (ok) {
        kept.push_back(e);
      } else if (needed.size() < 4) {
        needed.insert(f);
      }
    }
    if (kept.empty()) {
      std::vector<std::string> sets;
      for (const auto& f : needed) sets.push_back("[" + JoinNames(f) + "]");
      return Status::NotFound(
          fmt::format("no {} reads only the available features [{}]; the {} need e.g. {}", what,
                      JoinNames(req.features), models(pool.size()), JoinNames(sets)));
    }
    pool = std::move(kept);
  }

  // Trainer and weight-only.
  {
    std::vector<const CatalogueEntry*> kept;
    for (const auto* e : pool) {
      const ModelInfo& info = e->info();
      if (!req.trainer_name.empty() && info.trainer.find(req.trainer_name) == std::string::npos &&
          info.name.find(req.trainer_name) == std::string::npos) {
        continue;
      }
      if (req.weight_only && !IsWeightTrainer(info.trainer)) continue;
      kept.push_back(e);
    }
    if (kept.empty()) {
      return Status::NotFound(fmt::format(
          "none of the {} with usable features {}", models(pool.size()),
          req.weight_only ? fmt::format("is from a weight trainer{}",
                                        req.trainer_name.empty()
                                            ? std::string()
                                            : fmt::format(" matching '{}'", req.trainer_name))
                          : fmt::format("has a trainer matching '{}'", req.trainer_name)));
    }
    pool = std::move(kept);
  }

  // Node type.
  if (req.node_type >= 0) {
    std::vector<const CatalogueEntry*> kept;
    for (const auto* e : pool) {
      if (e->info().node_type == req.node_type) kept.push_back(e);
    }
    if (kept.empty()) {
      if (note != nullptr) {
        *note =
            fmt::format("no candidate of node type {}; chose among all node types", req.node_type);
      }
    } else {
      pool = std::move(kept);
    }
  } else if (!req.spec.empty()) {
    std::vector<const CatalogueEntry*> kept;
    for (const auto* e : pool) {
      const MachineSpec& s = e->info().provenance.machine_spec;
      if (!s.empty() && SpecCovers(s, req.spec)) kept.push_back(e);
    }
    if (kept.empty()) {
      double best = 0;
      for (const auto* e : pool) {
        const MachineSpec& s = e->info().provenance.machine_spec;
        if (s.empty()) continue;
        best = std::max(best, SpecSimilarity(s, req.spec));
      }
      if (best > 0) {
        for (const auto* e : pool) {
          const MachineSpec& s = e->info().provenance.machine_spec;
          if (!s.empty() && SpecSimilarity(s, req.spec) == best) kept.push_back(e);
        }
        if (note != nullptr) {
          *note = fmt::format(
              "no candidate's machine covers the spec; chose the most similar "
              "machine (similarity {:.3f})",
              best);
        }
      } else if (note != nullptr) {
        *note = "no candidate has a machine spec to compare; chose among all node types";
      }
    }
    if (!kept.empty()) pool = std::move(kept);
  }

  // Filters (after the node type, so a filter that rejects every model of a known node type
  // does not silently fall back to other machines).
  if (!filters.empty()) {
    std::vector<const CatalogueEntry*> kept;
    for (const auto* e : pool) {
      if (PassesFilters(*e, filters)) kept.push_back(e);
    }
    if (kept.empty()) {
      return Status::NotFound(fmt::format("none of the {} left passes the filter '{}'",
                                          models(pool.size()), req.filter));
    }
    pool = std::move(kept);
  }

  const CatalogueEntry* best = nullptr;
  double best_error = 0;
  for (const auto* e : pool) {
    auto it = e->metrics.find(req.error_key);
    if (it == e->metrics.end() || !std::isfinite(it->second)) continue;
    if (best == nullptr || it->second < best_error ||
        (it->second == best_error && e->id < best->id)) {
      best = e;
      best_error = it->second;
    }
  }
  if (best == nullptr) {
    return Status::NotFound(fmt::format("none of the {} left has a published '{}' error",
                                        models(pool.size()), req.error_key));
  }
  return best;
}

}  // namespace wattson
