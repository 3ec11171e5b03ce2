// The error report of a training run, for people and for machines: Markdown (report.md), a
// self-contained HTML page with inline SVG plots (report.html: predicted vs measured over time,
// error distributions, MAE per feature group and trainer; no scripts, no external assets) and a
// JSON summary (summary.json). Optional comparisons with Kepler's published errors, a
// scikit-learn re-run of Kepler's protocol, a leak-free blocked-CV reference and error targets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/csv.h"
#include "common/json_util.h"
#include "common/status.h"
#include "train/training_run.h"

namespace wattson {

// Where the reference tables are. `dir` supplies any of the four standard file names it holds
// (published_best_errors.csv, reference_rerun_random_split.csv, reference_rerun_blocked_cv.csv,
// error_targets.csv); an explicit path overrides the directory's file and must exist.
struct ComparisonPaths {
  std::string dir;
  std::string published;     // energy_source,output_type,feature_group,best_model,best_mae_W,...
  std::string random_split;  // energy_source,output_type,feature_group,trainer,rerun_median_mae_W,
                             // rerun_min_mae_W,rerun_max_mae_W,published_mae_W
  std::string blocked;       // energy_source,output_type,feature_group,model,component,
                             // blocked10fold_mae_W
  std::string targets;       // energy_source,output_type,feature_group,component,target_mae_W
                             // (blocked-CV MAE of the best trainer must not exceed the target)
  bool empty() const {
    return dir.empty() && published.empty() && random_split.empty() && blocked.empty() &&
           targets.empty();
  }
};

inline constexpr std::string_view kPublishedBestFile = "published_best_errors.csv";
inline constexpr std::string_view kRandomSplitFile = "reference_rerun_random_split.csv";
inline constexpr std::string_view kBlockedFile = "reference_rerun_blocked_cv.csv";
inline constexpr std::string_view kTargetsFile = "error_targets.csv";

// The loaded reference tables (absent ones are nullopt) and their files.
struct ComparisonRefs {
  std::optional<CsvTable> published, random_split, blocked, targets;
  std::string published_path, random_split_path, blocked_path, targets_path;
  bool empty() const { return !published && !random_split && !blocked && !targets; }
};

// Loads and checks the columns of the reference tables. A directory without any of the files,
// a missing explicit file or a missing column is an error naming the file.
Result<ComparisonRefs> LoadComparisonRefs(const ComparisonPaths& paths);

// Kepler trainer name for a reference table's model name: scikit-learn classes
// ("GradientBoostingRegressor", "KNeighborsRegressor", "SVR", "PolynomialRegression", ...) and
// short names ("GBR", "KNN6", "LinearPos", "Poly2", "SGD", "SVR", "XGB"); names that are already
// Kepler trainer names stay. Empty when unknown.
std::string KeplerTrainerForReference(std::string_view name);

// Our kepler-protocol result next to the scikit-learn re-run of the same protocol.
struct RandomSplitRow {
  std::string energy_source, output_type, feature_group, reference_trainer, trainer;
  double rerun_median = kNoValue, rerun_min = kNoValue, rerun_max = kNoValue;
  double published = kNoValue;
  double ours_median = kNoValue, ours_min = kNoValue, ours_max = kNoValue;
  // "better" (below the re-run's min), "within" (inside its min–max), "worse" (above its max),
  // "not trained" (no kepler-protocol result for it), "no reference" (a result of ours that the
  // table has no row for; these follow the table's rows).
  std::string verdict;
};
std::vector<RandomSplitRow> CompareRandomSplit(const TrainingRunResult& run, const CsvTable& table);

// Our best kepler-protocol models per group next to the published best.
struct PublishedBestRow {
  std::string energy_source, output_type, feature_group, published_model;
  double published_mae = kNoValue, published_sgd_mae = kNoValue, published_linear_mae = kNoValue;
  std::string our_best_trainer;
  double our_best_mae = kNoValue, our_sgd_mae = kNoValue, our_linear_mae = kNoValue;
  std::string verdict;  // "better or equal", "worse", "not trained"
};
std::vector<PublishedBestRow> ComparePublishedBest(const TrainingRunResult& run,
                                                   const CsvTable& table);

// Our blocked-CV per-component MAE next to the reference blocked CV.
struct BlockedRow {
  std::string energy_source, output_type, feature_group, reference_model, trainer, component;
  double reference_mae = kNoValue, ours_mae = kNoValue;
  // "better or equal", "close" (at most 10 % worse), "worse", "not trained".
  std::string verdict;
};
std::vector<BlockedRow> CompareBlocked(const TrainingRunResult& run, const CsvTable& table);

// The best blocked-CV MAE of a component over every trainer of the run, against a target.
struct TargetRow {
  std::string energy_source, output_type, feature_group, component;
  double target = kNoValue;
  std::string best_trainer;
  double best_mae = kNoValue;
  std::string verdict;  // "pass", "FAIL", "not trained"
};
std::vector<TargetRow> CheckTargets(const TrainingRunResult& run, const CsvTable& table);

struct ReportOptions {
  std::string title = "wattson training report";
  std::string command_line;  // shown verbatim, so the run can be repeated
  std::string model_db;      // where the models were written; empty: none (evaluate)
  std::vector<std::string> model_db_notes;
  bool plots = true;
  std::size_t max_plot_points = 900;  // per plotted series
};

struct Report {
  std::string markdown;
  std::string html;
  Json summary;
};

Report BuildReport(const TrainingRunResult& run, const ComparisonRefs& refs,
                   const ReportOptions& options = {});

// Writes report.md, report.html and summary.json into dir (created if needed).
Status WriteReport(const Report& report, const std::string& dir);

// "GradientBoostingRegressorTrainer" → "GradientBoosting": the name without "Trainer" and the
// family suffix, for table headers.
std::string ShortTrainerName(std::string_view trainer);

}  // namespace wattson
