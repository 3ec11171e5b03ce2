// ModelStore: which model answers a request, and keeping the answer fresh. Sources, in order:
// the in-memory cache of earlier choices; the model directories (catalogue selection: the lowest
// published error among valid models, trainer_name narrowing it); the model server (POST /model);
// the <PREFIX>_INIT_URL documents. Choices are cached per request signature (output type, source,
// trainer, filter, metric names and order, system features) with a bound, and failures are cached
// for a short time so a bad client cannot make the store rescan or refetch on every request.
//
// Refresh() re-reads every source off to the side and swaps changed models in under a lock:
// readers hold shared_ptrs, so a request never sees a half-loaded model and an old model lives
// until its last request ends. A new model that fails to load or to predict is rejected and the
// old one kept; the error is kept for telemetry.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/logging.h"
#include "common/status.h"
#include "estimator/config.h"
#include "estimator/request.h"
#include "models/catalogue.h"
#include "models/power_model.h"

namespace wattson::estimator {

// A model ready to serve and where it came from.
struct ServedModel {
  std::shared_ptr<const PipelineModel> model;
  std::string kind;               // "catalogue", "model-server", "init-url"
  std::string origin;             // e.g. "/models: acpi/AbsPower/BPFOnly/SGDRegressorTrainer_0"
  std::string path;               // catalogue file, when kind == "catalogue"
  std::uint64_t fingerprint = 0;  // of the model's content; equal fingerprints = same model
};

// A model chosen for one request signature: the model and, for each of its features (in
// model->info().features order), the column of that feature in the request's metrics.
struct Resolution {
  std::shared_ptr<const ServedModel> served;
  std::vector<std::size_t> columns;
};

struct StoreSnapshot {
  struct Loaded {
    std::string id;
    std::string kind;
    std::string origin;
    std::string trainer;
    std::string output_type;
    std::string energy_source;
    std::size_t selections = 0;  // cached request signatures served by it
  };
  std::vector<Loaded> models;                 // distinct models in use, by id
  std::map<std::string, std::string> errors;  // source → its last error ("" entries omitted)
  std::size_t cached_selections = 0;
  std::size_t cached_failures = 0;
  std::uint64_t refreshes = 0;
  std::uint64_t swaps = 0;
  std::uint64_t rejected = 0;  // new models refused at refresh (broken), old kept
};

struct RefreshReport {
  std::size_t swapped = 0;
  std::size_t kept_on_error = 0;
  std::vector<std::string> errors;
};

class ModelStore {
 public:
  // Scans the model directories once. Fails if a directory cannot be read at all; per-file
  // problems are logged and kept for telemetry.
  static Result<std::unique_ptr<ModelStore>> Create(ModelSourceConfig config,
                                                    std::shared_ptr<Logger> logger);
  ~ModelStore();
  ModelStore(const ModelStore&) = delete;
  ModelStore& operator=(const ModelStore&) = delete;

  // The model for a request. Thread-safe; a cache hit takes a shared lock and copies a pointer.
  Result<std::shared_ptr<const Resolution>> Resolve(const EstimateRequest& request);

  // Re-reads every source now and swaps changed models in (see the file comment).
  RefreshReport Refresh();
  // Calls Refresh() every interval on a background thread until StopRefresher() (or the
  // destructor). interval <= 0 does nothing.
  void StartRefresher(std::chrono::milliseconds interval);
  void StopRefresher();

  StoreSnapshot Snapshot() const;
  const ModelSourceConfig& config() const { return config_; }

  // Builds the cache key of a request (length-prefixed parts, so no two requests collide).
  static std::string SignatureOf(const EstimateRequest& request);

 private:
  // What a cached signature needs to be resolved again at refresh.
  struct Spec {
    OutputType output_type = OutputType::kAbsPower;
    std::string source;
    std::string trainer;  // trainer_name, or the legacy model_name
    std::string filter;
    std::vector<std::string> metrics;
    std::vector<std::string> system_features;
  };
  struct Entry {
    Spec spec;
    std::shared_ptr<const Resolution> resolution;  // null: a cached failure
    Status error;
    std::chrono::steady_clock::time_point retry_at;
  };
  struct UrlModel {
    std::shared_ptr<const ServedModel> served;  // last good version (may be null)
    Status error;                               // last fetch error
    std::chrono::steady_clock::time_point retry_at;
  };
  // One scanned model directory.
  struct Catalogue {
    std::string dir;
    std::shared_ptr<const ModelCatalogue> catalogue;  // null if the first scan failed
  };

  ModelStore(ModelSourceConfig config, std::shared_ptr<Logger> logger)
      : config_(std::move(config)), logger_(std::move(logger)) {}

  // All with load_mu_ held.
  Result<std::shared_ptr<const Resolution>> ResolveLocked(const Spec& spec);
  Result<std::shared_ptr<const ServedModel>> FromCatalogues(const Spec& spec);
  Result<std::shared_ptr<const ServedModel>> FromModelServer(const Spec& spec);
  Result<std::shared_ptr<const ServedModel>> FromInitUrls(const Spec& spec);
  // Fetches init.url into url_models_ if it is not there (or refetch), keeping an old good model
  // when the new fetch fails.
  void EnsureUrlModel(const InitUrl& init, bool refetch);
  Result<std::shared_ptr<const ServedModel>> FetchInitUrl(const InitUrl& init, OutputType ot,
                                                          std::string_view source);
  std::shared_ptr<const ServedModel> WrapCatalogueEntry(const std::string& dir,
                                                        const CatalogueEntry& entry);
  void ScanCatalogues(bool keep_old_on_error, RefreshReport* report);
  void NoteError(const std::string& source, const std::string& error);
  void ClearError(const std::string& source);

  const ModelSourceConfig config_;
  const std::shared_ptr<Logger> logger_;

  mutable std::shared_mutex cache_mu_;
  std::unordered_map<std::string, Entry> cache_;

  std::mutex load_mu_;  // serialises loading and refreshing; guards the source state below
  std::vector<Catalogue> catalogues_;
  std::map<std::string, std::shared_ptr<const ServedModel>> wrapped_;  // dir + '\n' + id
  std::map<std::string, UrlModel> url_models_;                         // by URL
  std::map<std::string, std::string> catalogue_problems_;              // path → message

  mutable std::mutex stats_mu_;
  std::map<std::string, std::string> errors_;
  std::uint64_t refreshes_ = 0;
  std::uint64_t swaps_ = 0;
  std::uint64_t rejected_ = 0;

  std::mutex refresher_mu_;
  std::condition_variable refresher_cv_;
  bool refresher_stop_ = false;
  std::thread refresher_;
};

// Content fingerprint of a model (hash of its wattson-format serialisation).
std::uint64_t ModelFingerprint(const PipelineModel& model);

// Checks that a model predicts finite watts for an all-zero row and a row of ones (a model that
// cannot is not swapped in).
Status ProbeModel(const PipelineModel& model);

}  // namespace wattson::estimator
