// Writes a training run as a model DB in kepler-model-db layout (reference spec §2), so that
// wattson's catalogue, `wattson models list` and Kepler's tools can index it:
//
//   <dir>/metadata.json                               pipeline metadata (name, isolator, trainers,
//                                                     init_time, tool, data sets, protocols)
//   <dir>/node_type_index.json                        when the machine spec is known
//   <dir>/<source>_<OutputType>_model_metadata.csv    Kepler's columns, sorted by (group, mae)
//   <dir>/<source>/<OutputType>/<FeatureGroup>/
//       <Trainer>_<nt>/metadata.json                  Kepler metadata + wattson extensions
//       <Trainer>_<nt>/model.wattson.json             the model (wattson format)
//       <Trainer>_<nt>/predictions.csv                the final model on the training rows
//       <Trainer>_<nt>/weight.json                    Kepler weights (weight trainers only)
//       <Trainer>_<nt>.json                           the same weights, where Kepler's DB has them
//
// `mape` is the true max over components (Kepler writes the last component's); undefined MAPE is
// written as -1, as Kepler does. Other undefined numbers are null (JSON) or empty (CSV).
#pragma once

#include <string>
#include <vector>

#include "common/json_util.h"
#include "common/status.h"
#include "train/training_run.h"

namespace wattson {

struct ModelDbOptions {
  std::string name;         // pipeline name; empty: the directory's name
  bool force = false;       // replace `dir` if it holds a model DB wattson wrote
  bool predictions = true;  // write predictions.csv beside each model
  std::string tool = "wattson 0.1.0";
};

// What WriteModelDb wrote.
struct ModelDbSummary {
  std::string dir;
  std::size_t models = 0;
  std::size_t weight_files = 0;    // Kepler weight JSON files (siblings)
  std::vector<std::string> notes;  // models without Kepler weights and why, failed jobs
};

// Writes every job with a final model. `dir` must not exist, be empty, or (with force) hold a
// model DB written by wattson (its metadata.json names the tool), which is replaced.
Result<ModelDbSummary> WriteModelDb(const TrainingRunResult& run, const std::string& dir,
                                    const ModelDbOptions& options = {});

// The per-model metadata.json of a job with a model.
Json ModelMetadataJson(const TrainingRunResult& run, const JobResult& job,
                       const std::string& tool = "wattson 0.1.0");
// The pipeline-level metadata.json.
Json PipelineMetadataJson(const TrainingRunResult& run, const std::string& name,
                          const std::string& tool = "wattson 0.1.0");
// <source>_<OutputType>_model_metadata.csv for the jobs of one source and output type.
std::string ModelMetadataCsv(const TrainingRunResult& run, const std::string& energy_source,
                             OutputType output_type);
// "row,timestamp,<component>..." (components in Kepler's order, watts via FormatDouble; row is
// 1-based, as `wattson predict` numbers rows).
std::string PredictionsCsv(const std::vector<double>& timestamps, const PowerPrediction& p);
// A Python list-of-strings repr as pandas writes it: "['a', 'b']".
std::string PythonListRepr(const std::vector<std::string>& items);
// "<source>/<OutputType>/<FeatureGroup>/<Trainer>_<nt>" of a job with a model.
std::string ModelDirName(const TrainingRunResult& run, const JobResult& job);

}  // namespace wattson
