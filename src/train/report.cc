#include "train/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>
#include <utility>

#include "common/file_util.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "models/feature_groups.h"
#include "train/svg_plot.h"
#include "train/trainer.h"

namespace wattson {

namespace fs = std::filesystem;

namespace {

// ---- a tiny document model rendered as Markdown and as HTML --------------------------------

struct DocTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> numeric;                           // right-aligned columns
  std::set<std::pair<std::size_t, std::size_t>> bold;  // (row, column)
  std::map<std::size_t, std::string> row_class;        // HTML row classes ("good", "bad")
};

struct DocBlock {
  enum class Kind { kHeading, kParagraph, kList, kTable, kSvg };
  Kind kind = Kind::kParagraph;
  int level = 2;
  std::string text;
  std::vector<std::string> items;
  DocTable table;
  std::string svg;
  bool markdown_only = false;
};

class Doc {
 public:
  void Heading(int level, std::string text) {
    DocBlock b;
    b.kind = DocBlock::Kind::kHeading;
    b.level = level;
    b.text = std::move(text);
    blocks_.push_back(std::move(b));
  }
  void Para(std::string text) {
    DocBlock b;
    b.text = std::move(text);
    blocks_.push_back(std::move(b));
  }
  void MarkdownPara(std::string text) {
    DocBlock b;
    b.text = std::move(text);
    b.markdown_only = true;
    blocks_.push_back(std::move(b));
  }
  void List(std::vector<std::string> items) {
    if (items.empty()) return;
    DocBlock b;
    b.kind = DocBlock::Kind::kList;
    b.items = std::move(items);
    blocks_.push_back(std::move(b));
  }
  void Table(DocTable t) {
    DocBlock b;
    b.kind = DocBlock::Kind::kTable;
    b.table = std::move(t);
    blocks_.push_back(std::move(b));
  }
  void Svg(std::string svg) {
    DocBlock b;
    b.kind = DocBlock::Kind::kSvg;
    b.svg = std::move(svg);
    blocks_.push_back(std::move(b));
  }
  const std::vector<DocBlock>& blocks() const { return blocks_; }

 private:
  std::vector<DocBlock> blocks_;
};

std::string MdCell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out.empty() ? " " : out;
}

std::string RenderMarkdown(const Doc& doc) {
  std::string out;
  for (const auto& b : doc.blocks()) {
    switch (b.kind) {
      case DocBlock::Kind::kHeading:
        out += std::string(static_cast<std::size_t>(b.level), '#') + " " + b.text + "\n\n";
        break;
      case DocBlock::Kind::kParagraph:
        out += b.text + "\n\n";
        break;
      case DocBlock::Kind::kList:
        for (const auto& i : b.items) out += "- " + i + "\n";
        out += "\n";
        break;
      case DocBlock::Kind::kTable: {
        const DocTable& t = b.table;
        out += "|";
        for (const auto& h : t.header) out += " " + MdCell(h) + " |";
        out += "\n|";
        for (std::size_t c = 0; c < t.header.size(); ++c) {
          const bool num = c < t.numeric.size() && t.numeric[c];
          out += num ? " ---: |" : " --- |";
        }
        out += "\n";
        for (std::size_t r = 0; r < t.rows.size(); ++r) {
          out += "|";
          for (std::size_t c = 0; c < t.rows[r].size(); ++c) {
            std::string cell = MdCell(t.rows[r][c]);
            if (t.bold.count({r, c}) != 0 && cell != " ") cell = "**" + cell + "**";
            out += " " + cell + " |";
          }
          out += "\n";
        }
        out += "\n";
        break;
      }
      case DocBlock::Kind::kSvg:
        break;  // plots are in the HTML page only
    }
  }
  return out;
}

// Escapes text and turns `code` spans into <code> elements.
std::string HtmlInline(std::string_view text) {
  std::string out;
  bool code = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '`') {
      std::string part = XmlEscape(text.substr(start, i - start));
      // **bold** in plain text.
      std::string bolded;
      bool open = false;
      for (std::size_t k = 0; k < part.size(); ++k) {
        if (!code && k + 1 < part.size() && part[k] == '*' && part[k + 1] == '*') {
          bolded += open ? "</strong>" : "<strong>";
          open = !open;
          ++k;
        } else {
          bolded += part[k];
        }
      }
      if (open) bolded += "</strong>";
      out += code ? "<code>" + bolded + "</code>" : bolded;
      if (i < text.size()) code = !code;
      start = i + 1;
    }
  }
  return out;
}

constexpr std::string_view kCss = R"(
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { border-bottom: 2px solid #0072B2; padding-bottom: .2em; }
h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1.2em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; }
th { background: #f0f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.good td { background: #eef8ee; }
tr.bad td { background: #fcecec; }
code { background: #f4f4f4; padding: 0 3px; }
svg { display: block; margin: .4em 0 1em; max-width: 100%; height: auto; }
.plots { display: flex; flex-wrap: wrap; gap: 0 1em; }
)";

std::string RenderHtml(const Doc& doc, const std::string& title) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<title>" + XmlEscape(title) + "</title>\n<style>" + std::string(kCss) +
         "</style>\n</head>\n<body>\n";
  for (const auto& b : doc.blocks()) {
    if (b.markdown_only) continue;
    switch (b.kind) {
      case DocBlock::Kind::kHeading:
        out += fmt::format("<h{0}>{1}</h{0}>\n", b.level, HtmlInline(b.text));
        break;
      case DocBlock::Kind::kParagraph:
        out += "<p>" + HtmlInline(b.text) + "</p>\n";
        break;
      case DocBlock::Kind::kList:
        out += "<ul>\n";
        for (const auto& i : b.items) out += "<li>" + HtmlInline(i) + "</li>\n";
        out += "</ul>\n";
        break;
      case DocBlock::Kind::kTable: {
        const DocTable& t = b.table;
        out += "<table>\n<thead><tr>";
        for (const auto& h : t.header) out += "<th>" + HtmlInline(h) + "</th>";
        out += "</tr></thead>\n<tbody>\n";
        for (std::size_t r = 0; r < t.rows.size(); ++r) {
          auto cls = t.row_class.find(r);
          out += cls == t.row_class.end() ? "<tr>" : "<tr class=\"" + cls->second + "\">";
          for (std::size_t c = 0; c < t.rows[r].size(); ++c) {
            const bool num = c < t.numeric.size() && t.numeric[c];
            std::string cell = HtmlInline(t.rows[r][c]);
            if (t.bold.count({r, c}) != 0) cell = "<strong>" + cell + "</strong>";
            out += (num ? "<td class=\"num\">" : "<td>") + cell + "</td>";
          }
          out += "</tr>\n";
        }
        out += "</tbody>\n</table>\n";
        break;
      }
      case DocBlock::Kind::kSvg:
        out += b.svg;
        break;
    }
  }
  out += "</body>\n</html>\n";
  return out;
}

// ---- numbers and names ---------------------------------------------------------------------

std::string W(double v, int precision = 2) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, precision) : std::string("–");
}

std::string Range3(double median, double lo, double hi) {
  if (!std::isfinite(median)) return "–";
  if (!std::isfinite(lo) || !std::isfinite(hi)) return W(median);
  return fmt::format("{} [{}–{}]", W(median), W(lo), W(hi));
}

Json NumOrNull(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

std::string SetTitle(const TrainingSet& set) {
  return fmt::format("{} {}", set.energy_source, OutputTypeName(set.output_type));
}

std::string ComponentNames(const std::vector<Component>& comps) {
  std::vector<std::string> names;
  for (Component c : comps) names.emplace_back(ComponentName(c));
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string ProtocolExplanation(Protocol p) {
  switch (p) {
    case Protocol::kKepler:
      return "Kepler's published protocol: MaxAbs scaler fitted on all rows, a random 90/10 split "
             "per seed, MAE on the 10 %. It leaks (neighbouring 3-s samples are near-duplicates "
             "and the scaler sees the test rows), so it flatters every model; it is here to "
             "compare with Kepler's numbers. `mae` is the median over seeds of the per-seed max "
             "over components, with its min–max.";
    case Protocol::kBlocked:
      return "Leak-free: contiguous folds in time order, the scaler fitted on the training folds "
             "only; every row is predicted once, out of sample. `mae` is the max over components "
             "of the pooled MAE.";
    case Protocol::kHoldout:
      return "Trained on one part, tested on another that the model never saw (another data set, "
             "or the trailing rows in file order, e.g. another benchmark).";
  }
  return "";
}

// ---- lookups over the run ------------------------------------------------------------------

const TrainingSet* FindSet(const TrainingRunResult& run, const std::string& source,
                           std::string_view ot, std::size_t* index = nullptr) {
  for (std::size_t i = 0; i < run.sets.size(); ++i) {
    const auto& s = run.sets[i];
    if (s.energy_source == source && OutputTypeName(s.output_type) == ot) {
      if (index != nullptr) *index = i;
      return &s;
    }
  }
  return nullptr;
}

const JobResult* FindJob(const TrainingRunResult& run, const std::string& source,
                         std::string_view ot, std::string_view fg, std::string_view trainer) {
  std::size_t set = 0;
  if (FindSet(run, source, ot, &set) == nullptr) return nullptr;
  for (const auto& j : run.jobs) {
    if (j.job.set == set && j.job.feature_group == fg && j.job.trainer == trainer) return &j;
  }
  return nullptr;
}

const ComponentEval* FindComponent(const EvalResult& e, Component c) {
  for (const auto& ce : e.components) {
    if (ce.component == c) return &ce;
  }
  return nullptr;
}

bool Has(const TrainingRunResult& run, Protocol p) {
  return std::find(run.options.protocols.begin(), run.options.protocols.end(), p) !=
         run.options.protocols.end();
}

// Column accessor for a reference table row.
class RowReader {
 public:
  RowReader(const CsvTable& t, const std::vector<std::string>& row) : t_(t), row_(row) {}
  std::string Str(std::string_view col) const {
    long c = t_.ColumnIndex(col);
    return c < 0 ? std::string() : row_[static_cast<std::size_t>(c)];
  }
  double Num(std::string_view col) const {
    auto v = ParseFiniteDouble(Str(col));
    return v.ok() ? *v : kNoValue;
  }

 private:
  const CsvTable& t_;
  const std::vector<std::string>& row_;
};

Status RequireColumns(const CsvTable& t, const std::string& path,
                      const std::vector<std::string_view>& cols) {
  for (auto c : cols) {
    if (t.ColumnIndex(c) < 0) {
      return Status::InvalidArgument(
          fmt::format("{}: missing column '{}' (it has: {})", path, c, fmt::join(t.header, ", ")));
    }
  }
  return Status::Ok();
}

Result<CsvTable> LoadTable(const std::string& path, const std::vector<std::string_view>& cols) {
  WATTSON_ASSIGN_OR_RETURN(std::string text, ReadLocalFile(path, 64u << 20));
  WATTSON_ASSIGN_OR_RETURN(CsvTable t, ParseCsv(text, path));
  WATTSON_RETURN_IF_ERROR(RequireColumns(t, path, cols));
  return t;
}

}  // namespace

// ---- reference tables ----------------------------------------------------------------------

Result<ComparisonRefs> LoadComparisonRefs(const ComparisonPaths& paths) {
  ComparisonRefs refs;
  auto pick = [&](const std::string& explicit_path, std::string_view file) -> std::string {
    if (!explicit_path.empty()) return explicit_path;
    if (paths.dir.empty()) return {};
    const fs::path p = fs::path(paths.dir) / std::string(file);
    std::error_code ec;
    return fs::is_regular_file(p, ec) ? p.string() : std::string();
  };
  if (!paths.dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(paths.dir, ec)) {
      return Status::NotFound(fmt::format("comparison directory {} does not exist", paths.dir));
    }
  }
  refs.published_path = pick(paths.published, kPublishedBestFile);
  refs.random_split_path = pick(paths.random_split, kRandomSplitFile);
  refs.blocked_path = pick(paths.blocked, kBlockedFile);
  refs.targets_path = pick(paths.targets, kTargetsFile);
  const std::vector<std::string_view> key = {"energy_source", "output_type", "feature_group"};
  auto with = [&](std::vector<std::string_view> more) {
    std::vector<std::string_view> cols = key;
    cols.insert(cols.end(), more.begin(), more.end());
    return cols;
  };
  if (!refs.published_path.empty()) {
    WATTSON_ASSIGN_OR_RETURN(refs.published,
                             LoadTable(refs.published_path, with({"best_model", "best_mae_W"})));
  }
  if (!refs.random_split_path.empty()) {
    WATTSON_ASSIGN_OR_RETURN(
        refs.random_split,
        LoadTable(refs.random_split_path,
                  with({"trainer", "rerun_median_mae_W", "rerun_min_mae_W", "rerun_max_mae_W"})));
  }
  if (!refs.blocked_path.empty()) {
    WATTSON_ASSIGN_OR_RETURN(
        refs.blocked,
        LoadTable(refs.blocked_path, with({"model", "component", "blocked10fold_mae_W"})));
  }
  if (!refs.targets_path.empty()) {
    WATTSON_ASSIGN_OR_RETURN(refs.targets,
                             LoadTable(refs.targets_path, with({"component", "target_mae_W"})));
  }
  if (refs.empty() && !paths.dir.empty()) {
    return Status::NotFound(fmt::format("comparison directory {} holds none of {}, {}, {}, {}",
                                        paths.dir, kPublishedBestFile, kRandomSplitFile,
                                        kBlockedFile, kTargetsFile));
  }
  return refs;
}

std::string KeplerTrainerForReference(std::string_view name) {
  static const std::pair<std::string_view, std::string_view> kMap[] = {
      {"gradientboostingregressor", "GradientBoostingRegressorTrainer"},
      {"gbr", "GradientBoostingRegressorTrainer"},
      {"kneighborsregressor", "KNeighborsRegressorTrainer"},
      {"knn", "KNeighborsRegressorTrainer"},
      {"knn6", "KNeighborsRegressorTrainer"},
      {"linearregression", "LinearRegressionTrainer"},
      {"linear", "LinearRegressionTrainer"},
      {"linearpos", "LinearRegressionTrainer"},
      {"polynomialregression", "PolynomialRegressionTrainer"},
      {"poly2", "PolynomialRegressionTrainer"},
      {"sgdregressor", "SGDRegressorTrainer"},
      {"sgd", "SGDRegressorTrainer"},
      {"svr", "SVRRegressorTrainer"},
      {"svrregressor", "SVRRegressorTrainer"},
      {"xgbregressor", "XgboostFitTrainer"},
      {"xgb", "XgboostFitTrainer"},
      {"xgboost", "XgboostFitTrainer"},
      {"logarithmicregression", "LogarithmicRegressionTrainer"},
      {"exponentialregression", "ExponentialRegressionTrainer"},
      {"logisticregression", "LogisticRegressionTrainer"},
  };
  std::string key = Lower(name);
  // "GradientBoostingRegressorTrainer_1" → the trainer.
  if (auto us = key.rfind('_'); us != std::string::npos) key.resize(us);
  for (const auto& t : KeplerTrainerNames()) {
    if (Lower(t) == key) return t;
  }
  for (const auto& [k, v] : kMap) {
    if (k == key) return std::string(v);
  }
  return {};
}

std::string ShortTrainerName(std::string_view trainer) {
  std::string s(trainer);
  for (std::string_view suffix : {"Trainer", "Regressor", "Regression", "Fit"}) {
    if (s.size() > suffix.size() &&
        s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
      s.resize(s.size() - suffix.size());
    }
  }
  if (s == "SVR" || s.empty()) return s.empty() ? std::string(trainer) : s;
  return s;
}

std::vector<RandomSplitRow> CompareRandomSplit(const TrainingRunResult& run,
                                               const CsvTable& table) {
  std::vector<RandomSplitRow> out;
  for (const auto& row : table.rows) {
    RowReader r(table, row);
    RandomSplitRow x;
    x.energy_source = NormaliseEnergySource(r.Str("energy_source"));
    x.output_type = r.Str("output_type");
    x.feature_group = r.Str("feature_group");
    x.reference_trainer = r.Str("trainer");
    x.trainer = KeplerTrainerForReference(x.reference_trainer);
    x.rerun_median = r.Num("rerun_median_mae_W");
    x.rerun_min = r.Num("rerun_min_mae_W");
    x.rerun_max = r.Num("rerun_max_mae_W");
    x.published = r.Num("published_mae_W");
    const JobResult* job = FindJob(run, x.energy_source, x.output_type, x.feature_group, x.trainer);
    const EvalResult* e = job != nullptr ? job->Evaluation(Protocol::kKepler) : nullptr;
    if (e == nullptr || !std::isfinite(e->mae)) {
      x.verdict = "not trained";
    } else {
      x.ours_median = e->mae;
      x.ours_min = e->mae_min;
      x.ours_max = e->mae_max;
      if (x.ours_median < x.rerun_min) {
        x.verdict = "better";
      } else if (x.ours_median <= x.rerun_max) {
        x.verdict = "within";
      } else {
        x.verdict = "worse";
      }
    }
    out.push_back(std::move(x));
  }
  // Our kepler-protocol results that the re-run has no row for (e.g. XGBoost, the curve fits).
  for (const auto& j : run.jobs) {
    const EvalResult* e = j.Evaluation(Protocol::kKepler);
    if (e == nullptr) continue;
    const TrainingSet& set = run.sets[j.job.set];
    const std::string ot(OutputTypeName(set.output_type));
    const bool listed = std::any_of(out.begin(), out.end(), [&](const RandomSplitRow& r) {
      return r.energy_source == set.energy_source && r.output_type == ot &&
             r.feature_group == j.job.feature_group && r.trainer == j.job.trainer;
    });
    if (listed) continue;
    RandomSplitRow x;
    x.energy_source = set.energy_source;
    x.output_type = ot;
    x.feature_group = j.job.feature_group;
    x.trainer = j.job.trainer;
    x.ours_median = e->mae;
    x.ours_min = e->mae_min;
    x.ours_max = e->mae_max;
    x.verdict = "no reference";
    out.push_back(std::move(x));
  }
  return out;
}

std::vector<PublishedBestRow> ComparePublishedBest(const TrainingRunResult& run,
                                                   const CsvTable& table) {
  std::vector<PublishedBestRow> out;
  for (const auto& row : table.rows) {
    RowReader r(table, row);
    PublishedBestRow x;
    x.energy_source = NormaliseEnergySource(r.Str("energy_source"));
    x.output_type = r.Str("output_type");
    x.feature_group = r.Str("feature_group");
    x.published_model = r.Str("best_model");
    x.published_mae = r.Num("best_mae_W");
    x.published_sgd_mae = r.Num("best_sgd_mae_W");
    x.published_linear_mae = r.Num("best_linear_mae_W");
    std::size_t set = 0;
    if (FindSet(run, x.energy_source, x.output_type, &set) != nullptr) {
      const auto kepler = KeplerTrainerNames();
      for (const auto& j : run.jobs) {
        if (j.job.set != set || j.job.feature_group != x.feature_group) continue;
        const EvalResult* e = j.Evaluation(Protocol::kKepler);
        if (e == nullptr || !std::isfinite(e->mae)) continue;
        if (j.job.trainer == "SGDRegressorTrainer") x.our_sgd_mae = e->mae;
        if (j.job.trainer == "LinearRegressionTrainer") x.our_linear_mae = e->mae;
        if (std::find(kepler.begin(), kepler.end(), j.job.trainer) == kepler.end()) continue;
        if (!std::isfinite(x.our_best_mae) || e->mae < x.our_best_mae) {
          x.our_best_mae = e->mae;
          x.our_best_trainer = j.job.trainer;
        }
      }
    }
    if (!std::isfinite(x.our_best_mae)) {
      x.verdict = "not trained";
    } else {
      x.verdict = x.our_best_mae <= x.published_mae ? "better or equal" : "worse";
    }
    out.push_back(std::move(x));
  }
  return out;
}

std::vector<BlockedRow> CompareBlocked(const TrainingRunResult& run, const CsvTable& table) {
  std::vector<BlockedRow> out;
  for (const auto& row : table.rows) {
    RowReader r(table, row);
    BlockedRow x;
    x.energy_source = NormaliseEnergySource(r.Str("energy_source"));
    x.output_type = r.Str("output_type");
    x.feature_group = r.Str("feature_group");
    x.reference_model = r.Str("model");
    x.trainer = KeplerTrainerForReference(x.reference_model);
    x.component = r.Str("component");
    x.reference_mae = r.Num("blocked10fold_mae_W");
    const JobResult* job = FindJob(run, x.energy_source, x.output_type, x.feature_group, x.trainer);
    const EvalResult* e = job != nullptr ? job->Evaluation(Protocol::kBlocked) : nullptr;
    auto comp = ParseComponent(x.component);
    const ComponentEval* ce = e != nullptr && comp.ok() ? FindComponent(*e, *comp) : nullptr;
    if (ce == nullptr || !std::isfinite(ce->pooled.mae)) {
      x.verdict = "not trained";
    } else {
      x.ours_mae = ce->pooled.mae;
      // The reference is rounded to 0.01 W: equal at that precision counts as equal.
      if (x.ours_mae <= x.reference_mae + 0.005) {
        x.verdict = "better or equal";
      } else if (x.ours_mae <= 1.1 * x.reference_mae) {
        x.verdict = "close";
      } else {
        x.verdict = "worse";
      }
    }
    out.push_back(std::move(x));
  }
  return out;
}

std::vector<TargetRow> CheckTargets(const TrainingRunResult& run, const CsvTable& table) {
  std::vector<TargetRow> out;
  for (const auto& row : table.rows) {
    RowReader r(table, row);
    TargetRow x;
    x.energy_source = NormaliseEnergySource(r.Str("energy_source"));
    x.output_type = r.Str("output_type");
    x.feature_group = r.Str("feature_group");
    x.component = r.Str("component");
    x.target = r.Num("target_mae_W");
    std::size_t set = 0;
    auto comp = ParseComponent(x.component);
    if (comp.ok() && FindSet(run, x.energy_source, x.output_type, &set) != nullptr) {
      for (const auto& j : run.jobs) {
        if (j.job.set != set || j.job.feature_group != x.feature_group) continue;
        const EvalResult* e = j.Evaluation(Protocol::kBlocked);
        const ComponentEval* ce = e != nullptr ? FindComponent(*e, *comp) : nullptr;
        if (ce == nullptr || !std::isfinite(ce->pooled.mae)) continue;
        if (!std::isfinite(x.best_mae) || ce->pooled.mae < x.best_mae) {
          x.best_mae = ce->pooled.mae;
          x.best_trainer = j.job.trainer;
        }
      }
    }
    if (!std::isfinite(x.best_mae)) {
      x.verdict = "not trained";
    } else {
      x.verdict = x.best_mae <= x.target ? "pass" : "FAIL";
    }
    out.push_back(std::move(x));
  }
  return out;
}

// ---- the report ----------------------------------------------------------------------------

namespace {

// The best job (lowest mae under p) per (set, feature group).
std::map<std::pair<std::size_t, std::string>, const JobResult*> BestJobs(
    const TrainingRunResult& run, Protocol p) {
  std::map<std::pair<std::size_t, std::string>, const JobResult*> best;
  for (const auto& j : run.jobs) {
    const EvalResult* e = j.Evaluation(p);
    if (e == nullptr || !std::isfinite(e->mae)) continue;
    auto key = std::make_pair(j.job.set, j.job.feature_group);
    auto it = best.find(key);
    if (it == best.end() || e->mae < it->second->Evaluation(p)->mae) best[key] = &j;
  }
  return best;
}

std::vector<std::string> Trainers(const TrainingRunResult& run) {
  std::vector<std::string> out;
  for (const auto& j : run.jobs) {
    if (std::find(out.begin(), out.end(), j.job.trainer) == out.end()) out.push_back(j.job.trainer);
  }
  return out;
}

void AddSummary(const TrainingRunResult& run, const ReportOptions& options, Doc* doc) {
  doc->Para(fmt::format("Created {} by wattson; {} jobs, {} models, {} failed, {:.1f} s wall time.",
                        run.created, run.jobs.size(), run.models(), run.failures(),
                        run.wall_seconds));
  if (!options.command_line.empty()) doc->Para("Command: `" + options.command_line + "`");
  doc->Heading(2, "Data");
  DocTable t;
  t.header = {"data set", "file", "SHA-256"};
  for (std::size_t i = 0; i < run.input_names.size(); ++i) {
    t.rows.push_back({run.input_names[i], i < run.input_origins.size() ? run.input_origins[i] : "",
                      i < run.input_sha256.size() ? run.input_sha256[i] : ""});
  }
  doc->Table(std::move(t));
  DocTable sets;
  sets.header = {"energy source",       "output",         "components",       "rows",
                 "idle subtracted (W)", "feature groups", "holdout test rows"};
  sets.numeric = {false, false, false, true, false, false, false};
  for (const auto& s : run.sets) {
    std::string idle;
    for (const auto& [c, w] : s.idle_watts) {
      idle += fmt::format("{}{} {}", idle.empty() ? "" : ", ", ComponentName(c), W(w, 3));
    }
    sets.rows.push_back({s.energy_source, std::string(OutputTypeName(s.output_type)),
                         ComponentNames(s.components), std::to_string(s.data.rows()),
                         s.output_type == OutputType::kDynPower
                             ? fmt::format("{} ({})", idle, IsolationName(run.options.isolation))
                             : "–",
                         fmt::format("{}", fmt::join(s.feature_groups, ", ")),
                         s.holdout ? s.holdout_origin : "–"});
  }
  doc->Table(std::move(sets));
  std::vector<std::string> notes = run.notes;
  std::set<std::string> seen(notes.begin(), notes.end());
  for (const auto& s : run.sets) {
    for (const auto& n : s.data.notes) {
      if (seen.insert(n).second) notes.push_back(n);
    }
  }
  if (!notes.empty()) {
    doc->Para("Notes from loading and planning:");
    doc->List(notes);
  }
  doc->Heading(2, "Protocols");
  std::vector<std::string> items;
  for (Protocol p : run.options.protocols) {
    std::string detail;
    for (const auto& j : run.jobs) {
      if (const EvalResult* e = j.Evaluation(p)) {
        detail = e->protocol_detail;
        break;
      }
    }
    items.push_back(fmt::format("**{}**{}: {}", MetadataProtocolName(p),
                                detail.empty() ? "" : " (" + detail + ")", ProtocolExplanation(p)));
  }
  if (items.empty()) items.push_back("none: the models were not evaluated and carry no errors");
  doc->List(items);
  doc->Para(fmt::format("Trainers: {}. Final models are fitted on all rows with seed {}.",
                        fmt::join(run.options.trainers, ", "), run.options.first_seed));
}

void AddResultTables(const TrainingRunResult& run, Protocol p, const ReportOptions& options,
                     Doc* doc) {
  const std::vector<std::string> trainers = Trainers(run);
  doc->Heading(2, fmt::format("Results: {}", MetadataProtocolName(p)));
  doc->Para(p == Protocol::kKepler
                ? "MAE in W, the max over components; median over seeds [min–max]. Bold: the "
                  "best trainer of the feature group."
                : "MAE in W, the max over components of the pooled out-of-sample MAE. Bold: the "
                  "best trainer of the feature group.");
  for (std::size_t s = 0; s < run.sets.size(); ++s) {
    const TrainingSet& set = run.sets[s];
    doc->Heading(3,
                 fmt::format("{} (components: {})", SetTitle(set), ComponentNames(set.components)));
    DocTable t;
    t.header = {"feature group"};
    t.numeric = {false};
    for (const auto& tr : trainers) {
      t.header.push_back(ShortTrainerName(tr));
      t.numeric.push_back(true);
    }
    std::vector<BarGroup> bars;
    for (const auto& fg : set.feature_groups) {
      std::vector<std::string> row = {fg};
      BarGroup g{fg, {}};
      double best = kNoValue;
      std::size_t best_col = 0;
      for (std::size_t k = 0; k < trainers.size(); ++k) {
        const JobResult* j =
            FindJob(run, set.energy_source, OutputTypeName(set.output_type), fg, trainers[k]);
        const EvalResult* e = j != nullptr ? j->Evaluation(p) : nullptr;
        if (j != nullptr && !j->error.empty()) {
          row.push_back("failed");
          g.values.push_back(kNoValue);
          continue;
        }
        if (e == nullptr) {
          row.push_back("–");
          g.values.push_back(kNoValue);
          continue;
        }
        row.push_back(p == Protocol::kKepler ? Range3(e->mae, e->mae_min, e->mae_max) : W(e->mae));
        g.values.push_back(e->mae);
        if (std::isfinite(e->mae) && (!std::isfinite(best) || e->mae < best)) {
          best = e->mae;
          best_col = k + 1;
        }
      }
      if (best_col > 0) t.bold.insert({t.rows.size(), best_col});
      t.rows.push_back(std::move(row));
      bars.push_back(std::move(g));
    }
    doc->Table(std::move(t));
    if (options.plots && !bars.empty()) {
      std::vector<std::string> names;
      for (const auto& tr : trainers) names.push_back(ShortTrainerName(tr));
      ChartSpec spec;
      spec.title = fmt::format("{} · {} · MAE by feature group and trainer", SetTitle(set),
                               MetadataProtocolName(p));
      spec.x_label = "MAE (W), max over components";
      doc->Svg(SvgGroupedBars(spec, names, bars));
    }
  }
}

void AddComponentTable(const TrainingRunResult& run, Protocol p, Doc* doc) {
  doc->Heading(2, fmt::format("Per-component errors: {}", MetadataProtocolName(p)));
  doc->Para(p == Protocol::kKepler
                ? "Per component: medians over seeds. MAPE over rows with more than 0.5 W."
                : "Per component, pooled over every out-of-sample row. MAPE over rows with more "
                  "than 0.5 W.");
  DocTable t;
  t.header = {"source", "output", "feature group", "trainer", "component",
              "MAE W",  "MAPE %", "max error W",   "R²",      "note"};
  t.numeric = {false, false, false, false, false, true, true, true, true, false};
  for (const auto& j : run.jobs) {
    const TrainingSet& set = run.sets[j.job.set];
    const EvalResult* e = j.Evaluation(p);
    if (e == nullptr) continue;
    const ModelErrors errors = ToModelErrors(*e);
    for (const auto& ce : e->components) {
      const std::string c(ComponentName(ce.component));
      auto it = errors.per_component.find(c);
      const ComponentErrors err = it == errors.per_component.end() ? ComponentErrors{} : it->second;
      t.rows.push_back({set.energy_source, std::string(OutputTypeName(set.output_type)),
                        j.job.feature_group, j.job.trainer, c, W(err.mae), W(err.mape),
                        W(err.max_error), W(err.r2, 3), ce.skipped});
    }
  }
  doc->Table(std::move(t));
}

// Out-of-sample predictions of the best model per (set, feature group), over time.
void AddPlots(const TrainingRunResult& run, const ReportOptions& options, Doc* doc) {
  Protocol plot_protocol = run.options.protocols.front();
  for (Protocol p : {Protocol::kBlocked, Protocol::kHoldout, Protocol::kKepler}) {
    if (Has(run, p)) {
      plot_protocol = p;
      break;
    }
  }
  const Protocol rank = run.options.protocols.front();
  const auto best = BestJobs(run, rank);
  doc->Heading(2, "Predicted vs measured");
  doc->Para(fmt::format(
      "For the best trainer of each feature group (by {} MAE): out-of-sample predictions under "
      "{}{}, and the distribution of the errors (predicted − measured).",
      MetadataProtocolName(rank), MetadataProtocolName(plot_protocol),
      plot_protocol == Protocol::kKepler ? " (the first seed's test rows)" : ""));
  for (std::size_t s = 0; s < run.sets.size(); ++s) {
    const TrainingSet& set = run.sets[s];
    doc->Heading(3, SetTitle(set));
    for (const auto& fg : set.feature_groups) {
      auto it = best.find({s, fg});
      if (it == best.end()) continue;
      const JobResult& j = *it->second;
      const EvalResult* e = j.Evaluation(plot_protocol);
      if (e == nullptr) continue;
      for (const auto& ce : e->components) {
        if (ce.truth.empty() || ce.skipped.rfind("constant target", 0) == 0) continue;
        const double t0 = ce.timestamps.empty()
                              ? 0
                              : *std::min_element(ce.timestamps.begin(), ce.timestamps.end());
        std::vector<double> x;
        x.reserve(ce.timestamps.size());
        for (double t : ce.timestamps) x.push_back((t - t0) / 60.0);
        if (x.size() != ce.truth.size()) {
          x.resize(ce.truth.size());
          for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i);
        }
        PlotSeries measured{"measured", "#444444", x, ce.truth, false};
        PlotSeries predicted{"predicted", PaletteColor(1), x, ce.pred, false};
        const bool sparse = plot_protocol == Protocol::kKepler;
        measured.markers = predicted.markers = sparse;
        DecimateSeries(&measured.x, &measured.y, options.max_plot_points);
        DecimateSeries(&predicted.x, &predicted.y, options.max_plot_points);
        const std::string comp(ComponentName(ce.component));
        const ComponentErrors err = [&] {
          const ModelErrors me = ToModelErrors(*e);
          auto f = me.per_component.find(comp);
          return f == me.per_component.end() ? ComponentErrors{} : f->second;
        }();
        ChartSpec spec;
        spec.title = fmt::format("{} · {} · {} · {} (MAE {} W)", SetTitle(set), fg,
                                 ShortTrainerName(j.job.trainer), comp, W(err.mae));
        spec.x_label = "minutes since the first sample";
        spec.y_label = comp + " W";
        doc->Svg(SvgLineChart(spec, {measured, predicted}));
        std::vector<double> residuals;
        residuals.reserve(ce.truth.size());
        for (std::size_t i = 0; i < ce.truth.size() && i < ce.pred.size(); ++i) {
          residuals.push_back(ce.pred[i] - ce.truth[i]);
        }
        ChartSpec hspec;
        hspec.title = fmt::format("{} · {} · {} · {}: error distribution", SetTitle(set), fg,
                                  ShortTrainerName(j.job.trainer), comp);
        hspec.x_label = "predicted − measured (W)";
        hspec.y_label = "rows";
        hspec.height = 200;
        doc->Svg(SvgHistogram(hspec, residuals, 40, PaletteColor(0)));
      }
    }
  }
}

void AddComparisons(const TrainingRunResult& run, const ComparisonRefs& refs, Doc* doc,
                    Json* json) {
  if (refs.empty()) return;
  doc->Heading(2, "Comparison with Kepler");
  if (refs.random_split) {
    doc->Heading(3, "Kepler protocol: ours vs the scikit-learn re-run and the published value");
    doc->Para(
        fmt::format("Reference: `{}`. MAE in W (max over components). Verdict: within the "
                    "re-run's min–max, better (below its min) or worse (above its max).",
                    refs.random_split_path));
    Json rows = Json::array();
    if (!Has(run, Protocol::kKepler)) {
      doc->Para("Not compared: this run did not use the kepler protocol (`--protocol kepler`).");
    } else {
      const auto cmp = CompareRandomSplit(run, *refs.random_split);
      DocTable t;
      t.header = {"source",
                  "output",
                  "feature group",
                  "trainer",
                  "ours median [min–max]",
                  "re-run median [min–max]",
                  "published",
                  "verdict"};
      t.numeric = {false, false, false, false, true, true, true, false};
      std::map<std::string, int> counts;
      for (const auto& r : cmp) {
        ++counts[r.verdict];
        if (r.verdict == "better" || r.verdict == "within") t.row_class[t.rows.size()] = "good";
        if (r.verdict == "worse") t.row_class[t.rows.size()] = "bad";
        t.rows.push_back({r.energy_source, r.output_type, r.feature_group,
                          r.trainer.empty() ? r.reference_trainer : r.trainer,
                          Range3(r.ours_median, r.ours_min, r.ours_max),
                          Range3(r.rerun_median, r.rerun_min, r.rerun_max), W(r.published),
                          r.verdict});
        rows.push_back(Json{{"energy_source", r.energy_source},
                            {"output_type", r.output_type},
                            {"feature_group", r.feature_group},
                            {"reference_trainer", r.reference_trainer},
                            {"trainer", r.trainer},
                            {"ours_median_mae_W", NumOrNull(r.ours_median)},
                            {"ours_min_mae_W", NumOrNull(r.ours_min)},
                            {"ours_max_mae_W", NumOrNull(r.ours_max)},
                            {"rerun_median_mae_W", NumOrNull(r.rerun_median)},
                            {"rerun_min_mae_W", NumOrNull(r.rerun_min)},
                            {"rerun_max_mae_W", NumOrNull(r.rerun_max)},
                            {"published_mae_W", NumOrNull(r.published)},
                            {"verdict", r.verdict}});
      }
      std::vector<std::string> summary;
      for (const auto& [k, n] : counts) summary.push_back(fmt::format("{} {}", n, k));
      doc->Para(fmt::format("{} rows: {}.", cmp.size(), fmt::join(summary, ", ")));
      doc->Table(std::move(t));
    }
    (*json)["random_split"] = std::move(rows);
  }
  if (refs.published) {
    doc->Heading(3, "Best published model per feature group (Kepler protocol)");
    doc->Para(
        fmt::format("Reference: `{}`. Ours: the best of Kepler's trainers by median MAE "
                    "under the kepler protocol.",
                    refs.published_path));
    Json rows = Json::array();
    if (!Has(run, Protocol::kKepler)) {
      doc->Para("Not compared: this run did not use the kepler protocol.");
    } else {
      const auto cmp = ComparePublishedBest(run, *refs.published);
      DocTable t;
      t.header = {"source",    "output",           "feature group", "published best",
                  "published", "ours best",        "ours",          "published SGD",
                  "ours SGD",  "published linear", "ours linear",   "verdict"};
      t.numeric = {false, false, false, false, true, false, true, true, true, true, true, false};
      for (const auto& r : cmp) {
        if (r.verdict == "better or equal") t.row_class[t.rows.size()] = "good";
        if (r.verdict == "worse") t.row_class[t.rows.size()] = "bad";
        t.rows.push_back({r.energy_source, r.output_type, r.feature_group, r.published_model,
                          W(r.published_mae), r.our_best_trainer, W(r.our_best_mae),
                          W(r.published_sgd_mae), W(r.our_sgd_mae), W(r.published_linear_mae),
                          W(r.our_linear_mae), r.verdict});
        rows.push_back(Json{{"energy_source", r.energy_source},
                            {"output_type", r.output_type},
                            {"feature_group", r.feature_group},
                            {"published_model", r.published_model},
                            {"published_mae_W", NumOrNull(r.published_mae)},
                            {"our_best_trainer", r.our_best_trainer},
                            {"our_best_mae_W", NumOrNull(r.our_best_mae)},
                            {"verdict", r.verdict}});
      }
      doc->Table(std::move(t));
    }
    (*json)["published_best"] = std::move(rows);
  }
  if (refs.blocked) {
    doc->Heading(3, "Blocked CV: ours vs the reference");
    doc->Para(
        fmt::format("Reference: `{}` (contiguous 10-fold CV). Per-component pooled MAE in "
                    "W. Verdict: better or equal, close (at most 10 % worse), worse.",
                    refs.blocked_path));
    Json rows = Json::array();
    if (!Has(run, Protocol::kBlocked)) {
      doc->Para("Not compared: this run did not use the blocked protocol (`--protocol blocked`).");
    } else {
      const auto cmp = CompareBlocked(run, *refs.blocked);
      DocTable t;
      t.header = {"source",    "output",    "feature group", "model",
                  "component", "reference", "ours",          "verdict"};
      t.numeric = {false, false, false, false, false, true, true, false};
      for (const auto& r : cmp) {
        if (r.verdict == "better or equal" || r.verdict == "close") {
          t.row_class[t.rows.size()] = "good";
        }
        if (r.verdict == "worse") t.row_class[t.rows.size()] = "bad";
        t.rows.push_back({r.energy_source, r.output_type, r.feature_group,
                          fmt::format("{} ({})", r.reference_model,
                                      r.trainer.empty() ? "?" : ShortTrainerName(r.trainer)),
                          r.component, W(r.reference_mae), W(r.ours_mae), r.verdict});
        rows.push_back(Json{{"energy_source", r.energy_source},
                            {"output_type", r.output_type},
                            {"feature_group", r.feature_group},
                            {"reference_model", r.reference_model},
                            {"trainer", r.trainer},
                            {"component", r.component},
                            {"reference_mae_W", NumOrNull(r.reference_mae)},
                            {"ours_mae_W", NumOrNull(r.ours_mae)},
                            {"verdict", r.verdict}});
      }
      doc->Table(std::move(t));
    }
    (*json)["blocked"] = std::move(rows);
  }
  if (refs.targets) {
    doc->Heading(3, "Error targets (blocked CV)");
    doc->Para(
        fmt::format("Targets: `{}`. The best trainer of the run per row, by its pooled "
                    "blocked-CV MAE of the component.",
                    refs.targets_path));
    Json rows = Json::array();
    if (!Has(run, Protocol::kBlocked)) {
      doc->Para("Not checked: this run did not use the blocked protocol.");
    } else {
      const auto cmp = CheckTargets(run, *refs.targets);
      DocTable t;
      t.header = {"source",   "output",       "feature group", "component",
                  "target W", "best trainer", "best MAE W",    "verdict"};
      t.numeric = {false, false, false, false, true, false, true, false};
      for (const auto& r : cmp) {
        t.row_class[t.rows.size()] = r.verdict == "pass" ? "good" : "bad";
        t.rows.push_back({r.energy_source, r.output_type, r.feature_group, r.component, W(r.target),
                          r.best_trainer, W(r.best_mae), r.verdict});
        rows.push_back(Json{{"energy_source", r.energy_source},
                            {"output_type", r.output_type},
                            {"feature_group", r.feature_group},
                            {"component", r.component},
                            {"target_mae_W", NumOrNull(r.target)},
                            {"best_trainer", r.best_trainer},
                            {"best_mae_W", NumOrNull(r.best_mae)},
                            {"verdict", r.verdict}});
      }
      doc->Table(std::move(t));
    }
    (*json)["targets"] = std::move(rows);
  }
}

void AddFailures(const TrainingRunResult& run, Doc* doc) {
  std::vector<std::string> items;
  for (const auto& j : run.jobs) {
    const TrainingSet& set = run.sets[j.job.set];
    if (!j.error.empty()) {
      items.push_back(fmt::format("{} {} {} {}: **failed**: {}", set.energy_source,
                                  OutputTypeName(set.output_type), j.job.feature_group,
                                  j.job.trainer, j.error));
    }
  }
  std::set<std::string> constant_notes;
  for (const auto& j : run.jobs) {
    const TrainingSet& set = run.sets[j.job.set];
    for (const auto& e : j.evaluations) {
      for (const auto& ce : e.components) {
        if (ce.skipped.empty()) continue;
        if (ce.skipped.rfind("constant target", 0) == 0) {
          constant_notes.insert(fmt::format("{} {} {}: {}", set.energy_source,
                                            OutputTypeName(set.output_type),
                                            ComponentName(ce.component), ce.skipped));
          continue;
        }
        items.push_back(fmt::format("{} {} {} {} ({}), {}: {}", set.energy_source,
                                    OutputTypeName(set.output_type), j.job.feature_group,
                                    j.job.trainer, MetadataProtocolName(e.protocol),
                                    ComponentName(ce.component), ce.skipped));
      }
    }
  }
  doc->Heading(2, "Failures and skipped components");
  if (items.empty() && constant_notes.empty()) {
    doc->Para("None.");
    return;
  }
  items.insert(items.end(), constant_notes.begin(), constant_notes.end());
  doc->List(std::move(items));
}

Json EvalJson(const EvalResult& e) {
  Json comps = Json::object();
  for (const auto& ce : e.components) {
    comps[std::string(ComponentName(ce.component))] =
        Json{{"mae", NumOrNull(ce.pooled.mae)},
             {"mape", NumOrNull(ce.pooled.mape)},
             {"max_error", NumOrNull(ce.pooled.max_error)},
             {"r2", NumOrNull(ce.pooled.r2)},
             {"n", ce.pooled.n},
             {"median_mae", NumOrNull(ce.median_mae)},
             {"min_mae", NumOrNull(ce.min_mae)},
             {"max_mae", NumOrNull(ce.max_mae)},
             {"skipped", ce.skipped}};
  }
  const ModelErrors me = ToModelErrors(e);
  Json meta_comps = Json::object();
  for (const auto& [c, err] : me.per_component) {
    meta_comps[c] = Json{{"mae", NumOrNull(err.mae)},
                         {"mape", NumOrNull(err.mape)},
                         {"max_error", NumOrNull(err.max_error)},
                         {"r2", NumOrNull(err.r2)}};
  }
  return Json{{"mae", NumOrNull(e.mae)},
              {"mae_min", NumOrNull(e.mae_min)},
              {"mae_max", NumOrNull(e.mae_max)},
              {"mape", NumOrNull(e.mape)},
              {"protocol_detail", e.protocol_detail},
              {"fit_seconds", e.seconds},
              {"metadata_errors", std::move(meta_comps)},
              {"pooled", std::move(comps)}};
}

Json SummaryJson(const TrainingRunResult& run, const ReportOptions& options) {
  Json datasets = InputDatasetsJson(run);
  Json protocols = ProtocolsJson(run.options);
  Json output_types = Json::array();
  for (OutputType ot : run.options.output_types) output_types.push_back(OutputTypeName(ot));
  Json sets = Json::array();
  for (const auto& s : run.sets) {
    Json idle = Json::object();
    for (const auto& [c, w] : s.idle_watts) idle[std::string(ComponentName(c))] = w;
    Json comps = Json::array();
    for (Component c : s.components) comps.push_back(std::string(ComponentName(c)));
    sets.push_back(Json{{"energy_source", s.energy_source},
                        {"output_type", OutputTypeName(s.output_type)},
                        {"components", std::move(comps)},
                        {"rows", s.data.rows()},
                        {"idle_watts", std::move(idle)},
                        {"feature_groups", s.feature_groups},
                        {"holdout", s.holdout ? Json(s.holdout_origin) : Json(nullptr)}});
  }
  Json results = Json::array();
  for (const auto& j : run.jobs) {
    const TrainingSet& set = run.sets[j.job.set];
    Json evals = Json::object();
    for (const auto& e : j.evaluations) evals[MetadataProtocolName(e.protocol)] = EvalJson(e);
    results.push_back(Json{{"energy_source", set.energy_source},
                           {"output_type", OutputTypeName(set.output_type)},
                           {"feature_group", j.job.feature_group},
                           {"features", j.job.features},
                           {"trainer", j.job.trainer},
                           {"error", j.error.empty() ? Json(nullptr) : Json(j.error)},
                           {"model", j.model ? Json(j.model->info().id) : Json(nullptr)},
                           {"seconds", j.seconds},
                           {"evaluations", std::move(evals)}});
  }
  Json best = Json::array();
  for (Protocol p : run.options.protocols) {
    for (const auto& [key, job] : BestJobs(run, p)) {
      const TrainingSet& set = run.sets[key.first];
      best.push_back(Json{{"protocol", MetadataProtocolName(p)},
                          {"energy_source", set.energy_source},
                          {"output_type", OutputTypeName(set.output_type)},
                          {"feature_group", key.second},
                          {"trainer", job->job.trainer},
                          {"mae", NumOrNull(job->Evaluation(p)->mae)}});
    }
  }
  return Json{
      {"tool", "wattson 0.1.0"},
      {"title", options.title},
      {"created", run.created},
      {"command_line", options.command_line},
      {"wall_seconds", run.wall_seconds},
      {"feature_version", run.feature_version == KeplerFeatureVersion::kV06 ? "v0.6" : "v0.7"},
      {"datasets", std::move(datasets)},
      {"notes", run.notes},
      {"options", Json{{"protocols", std::move(protocols)},
                       {"seeds", run.options.seeds},
                       {"first_seed", run.options.first_seed},
                       {"folds", run.options.folds},
                       {"test_fraction", run.options.test_fraction},
                       {"isolation", IsolationName(run.options.isolation)},
                       {"node_type", run.options.node_type},
                       {"output_types", std::move(output_types)},
                       {"trainers", run.options.trainers},
                       {"threads", run.options.threads}}},
      {"sets", std::move(sets)},
      {"jobs", run.jobs.size()},
      {"models", run.models()},
      {"failures", run.failures()},
      {"model_db", options.model_db.empty() ? Json(nullptr) : Json(options.model_db)},
      {"results", std::move(results)},
      {"best", std::move(best)}};
}

}  // namespace

Report BuildReport(const TrainingRunResult& run, const ComparisonRefs& refs,
                   const ReportOptions& options) {
  Doc doc;
  doc.Heading(1, options.title);
  AddSummary(run, options, &doc);
  Json comparisons = Json::object();
  // Comparisons first: they are what a reader checks.
  AddComparisons(run, refs, &doc, &comparisons);
  for (Protocol p : run.options.protocols) AddResultTables(run, p, options, &doc);
  if (options.plots && !run.options.protocols.empty()) {
    doc.MarkdownPara(
        "Plots (MAE by feature group and trainer, predicted vs measured over time, "
        "error distributions) are in report.html.");
  }
  if (options.plots && !run.options.protocols.empty()) AddPlots(run, options, &doc);
  for (Protocol p : run.options.protocols) AddComponentTable(run, p, &doc);
  AddFailures(run, &doc);
  if (!options.model_db.empty()) {
    doc.Heading(2, "Model DB");
    doc.Para(
        fmt::format("{} models written to `{}` (kepler-model-db layout; list them with "
                    "`wattson models list {}`).",
                    run.models(), options.model_db, options.model_db));
    doc.List(options.model_db_notes);
  }
  Report report;
  report.markdown = RenderMarkdown(doc);
  report.html = RenderHtml(doc, options.title);
  report.summary = SummaryJson(run, options);
  report.summary["comparisons"] = std::move(comparisons);
  return report;
}

Status WriteReport(const Report& report, const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("no report directory given");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError(fmt::format("cannot create {}: {}", dir, ec.message()));
  const fs::path d(dir);
  WATTSON_RETURN_IF_ERROR(WriteLocalFileAtomic((d / "report.md").string(), report.markdown));
  WATTSON_RETURN_IF_ERROR(WriteLocalFileAtomic((d / "report.html").string(), report.html));
  WATTSON_RETURN_IF_ERROR(WriteLocalFileAtomic(
      (d / "summary.json").string(),
      report.summary.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"));
  return Status::Ok();
}

}  // namespace wattson
