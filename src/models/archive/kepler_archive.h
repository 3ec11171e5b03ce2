// Kepler model archives (kepler-model-server §2.5): a zip, or the same files unpacked in a folder,
// holding metadata.json, a component map <model_name>.json ({component: {model_file, features,
// fe_files}}), joblib pickles of the fitted scikit-learn / kepler_model objects and XGBoost JSON
// models. Loaded into a PipelineModel with the Kepler sidecar's semantics: per component, the
// features in the map's order, each fe_files entry applied in order, the estimator, negatives
// clipped to 0. Nothing in the archive is executed; see pickle.h and sklearn_interpreters.h.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "models/archive/pickle.h"
#include "models/archive/zip_reader.h"
#include "models/power_model.h"

namespace wattson::archive {

struct ArchiveOptions {
  ZipLimits zip;
  PickleOptions pickle;
  std::size_t max_archive_bytes = std::size_t{512} << 20;  // the zip file itself
  std::size_t max_json_bytes = std::size_t{64} << 20;      // one JSON member
  std::size_t max_components = 8;
  std::size_t max_features = 1024;
  // The model's id; the archive's path when empty.
  std::string id;
};

// A loaded archive: the model and the numbers metadata.json publishes about it (mae, mape,
// <component>_mae, ... as written; Kepler's -1 "undefined" MAPEs are left out).
struct KeplerArchive {
  std::unique_ptr<PipelineModel> model;
  std::map<std::string, double, std::less<>> published_metrics;
};

// True if the path names a Kepler archive: a file starting with a zip signature, or a folder with
// metadata.json whose "model_name" names a component map beside it.
bool IsKeplerArchivePath(const std::string& path);

// Loads a .zip archive or an unpacked archive folder. Trainer, feature group, energy source and
// node type come from the kepler-model-db path (<source>/<OutputType>/<FG>/<Trainer>_<n>.zip)
// where it has that shape, and from metadata.json.
Result<KeplerArchive> LoadKeplerArchive(const std::string& path,
                                        const ArchiveOptions& options = {});

// Loads an archive held in memory; `path` names it in errors and is used as above.
Result<KeplerArchive> KeplerArchiveFromZip(std::span<const std::uint8_t> zip,
                                           const std::string& path,
                                           const ArchiveOptions& options = {});

// Loads an archive from its members by name (a zip's members or a folder's files).
Result<KeplerArchive> KeplerArchiveFromMembers(const ZipMembers& members, const std::string& path,
                                               const ArchiveOptions& options = {});

}  // namespace wattson::archive
