#include "estimator/model_store.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <utility>

#include "estimator/model_fetch.h"
#include "fmt/format.h"
#include "models/feature_groups.h"
#include "models/wattson_format.h"

namespace wattson::estimator {

namespace {

std::string JoinNames(const std::vector<std::string>& names, std::string_view sep = ", ") {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += sep;
    out += n;
  }
  return out;
}

void AppendPart(std::string* key, std::string_view part) {
  const auto n = static_cast<std::uint32_t>(part.size());
  key->append(reinterpret_cast<const char*>(&n), sizeof(n));
  key->append(part);
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool TrainerMatches(const ModelInfo& info, std::string_view trainer) {
  return trainer.empty() || info.trainer.find(trainer) != std::string::npos ||
         info.name.find(trainer) != std::string::npos;
}

// The request may use the model: output type, components of the source, features, trainer.
Status CheckFits(const PipelineModel& model, const std::vector<std::string>& metrics,
                 OutputType output_type, std::string_view source, std::string_view trainer,
                 TrainerMatch match) {
  const ModelInfo& info = model.info();
  if (info.output_type != output_type) {
    return Status::NotFound(fmt::format("the model is {}, the request asks for {}",
                                        OutputTypeName(info.output_type),
                                        OutputTypeName(output_type)));
  }
  auto comps = EnergySourceComponents(source);
  if (!comps.ok()) return comps.status();
  for (Component c : info.components) {
    if (std::find(comps->begin(), comps->end(), c) == comps->end()) {
      return Status::NotFound(fmt::format("the model predicts {}, which source {} does not have",
                                          ComponentName(c), source));
    }
  }
  std::vector<std::string> missing;
  for (const auto& f : info.features) {
    if (!Contains(metrics, f)) missing.push_back(f);
  }
  if (!missing.empty()) {
    return Status::NotFound(
        fmt::format("the model needs features the request lacks: [{}]", JoinNames(missing)));
  }
  if (match == TrainerMatch::kStrict && !TrainerMatches(info, trainer)) {
    return Status::NotFound(
        fmt::format("the model's trainer {} does not match '{}'", info.trainer, trainer));
  }
  return Status::Ok();
}

// Catalogue selection among models without a published error: the lowest id that fits.
Result<const CatalogueEntry*> SelectWithoutError(const ModelCatalogue& catalogue,
                                                 const SelectionRequest& req) {
  WATTSON_ASSIGN_OR_RETURN(auto filters, ParseModelFilters(req.filter));
  const std::string source = NormaliseEnergySource(req.energy_source);
  for (const auto& e : catalogue.entries()) {
    const ModelInfo& info = e.info();
    if (info.output_type != req.output_type) continue;
    if (!source.empty() && NormaliseEnergySource(info.energy_source) != source) continue;
    if (!std::all_of(info.features.begin(), info.features.end(),
                     [&](const std::string& f) { return Contains(req.features, f); })) {
      continue;
    }
    if (!TrainerMatches(info, req.trainer_name)) continue;
    if (!filters.empty() && !PassesFilters(e, filters)) continue;
    return &e;
  }
  return Status::NotFound("no model fits");
}

OutputType PrefixOutputType(std::string_view prefix) {
  return prefix.substr(0, 4) == "NODE" ? OutputType::kAbsPower : OutputType::kDynPower;
}

}  // namespace

std::uint64_t ModelFingerprint(const PipelineModel& model) {
  return std::hash<std::string>{}(WattsonModelToJson(model).dump());
}

Status ProbeModel(const PipelineModel& model) {
  const ModelInfo& info = model.info();
  FeatureMatrix x(info.features, 2);
  for (std::size_t c = 0; c < x.cols(); ++c) x.at(1, c) = 1.0;
  SystemFeatures system;
  for (const auto& s : info.system_features) system[s] = "";
  auto p = model.Predict(x, system);
  if (!p.ok()) return p.status().WithContext("the model fails on probe rows");
  return Status::Ok();
}

std::string ModelStore::SignatureOf(const EstimateRequest& r) {
  std::string key;
  std::size_t n = 64 + r.source.size() + r.trainer_name.size() + r.filter.size();
  for (const auto& m : r.metrics) n += m.size() + 4;
  for (const auto& s : r.system_features) n += s.size() + 4;
  key.reserve(n);
  key.push_back(r.output_type == OutputType::kAbsPower ? 'A' : 'D');
  AppendPart(&key, r.source);
  AppendPart(&key, r.model_name.empty() ? r.trainer_name : r.model_name);
  AppendPart(&key, r.filter);
  const auto count = static_cast<std::uint32_t>(r.metrics.size());
  key.append(reinterpret_cast<const char*>(&count), sizeof(count));
  for (const auto& m : r.metrics) AppendPart(&key, m);
  for (const auto& s : r.system_features) AppendPart(&key, s);
  return key;
}

Result<std::unique_ptr<ModelStore>> ModelStore::Create(ModelSourceConfig config,
                                                       std::shared_ptr<Logger> logger) {
  if (!logger) logger = MakeNullLogger();
  std::unique_ptr<ModelStore> store(new ModelStore(std::move(config), std::move(logger)));
  {
    std::lock_guard<std::mutex> load(store->load_mu_);
    RefreshReport report;
    store->ScanCatalogues(false, &report);
    for (const auto& c : store->catalogues_) {
      if (!c.catalogue) {
        return Status::InvalidArgument(
            fmt::format("model directory {}: {}", c.dir,
                        report.errors.empty() ? std::string("cannot be read") : report.errors[0]));
      }
    }
  }
  return store;
}

ModelStore::~ModelStore() { StopRefresher(); }

void ModelStore::NoteError(const std::string& source, const std::string& error) {
  std::lock_guard<std::mutex> lock(stats_mu_);
  errors_[source] = error;
}

void ModelStore::ClearError(const std::string& source) {
  std::lock_guard<std::mutex> lock(stats_mu_);
  errors_.erase(source);
}

void ModelStore::ScanCatalogues(bool keep_old_on_error, RefreshReport* report) {
  std::vector<Catalogue> fresh;
  std::map<std::string, std::string> problems;
  for (std::size_t i = 0; i < config_.model_dirs.size(); ++i) {
    const std::string& dir = config_.model_dirs[i];
    const std::string source = "model dir " + dir;
    // Per-file problems are summarised below rather than logged file by file at every refresh.
    auto scanned = ModelCatalogue::Scan(dir, nullptr);
    if (!scanned.ok()) {
      const std::string msg = scanned.status().message();
      NoteError(source, msg);
      report->errors.push_back(msg);
      logger_->warn("{}: {}{}", source, msg,
                    keep_old_on_error ? "; keeping the models loaded before" : "");
      if (keep_old_on_error && i < catalogues_.size()) {
        fresh.push_back(catalogues_[i]);
      } else {
        fresh.push_back({dir, nullptr});
      }
      continue;
    }
    const auto& probs = scanned->problems();
    // Problem paths are relative to the root; entries carry full paths.
    for (const auto& p : probs) {
      problems[(std::filesystem::path(dir) / p.path).string()] = p.status.message();
    }
    if (probs.empty()) {
      ClearError(source);
    } else {
      NoteError(source, fmt::format("{} file(s) could not be loaded, e.g. {}: {}", probs.size(),
                                    probs.front().path, probs.front().status.message()));
      logger_->warn("{}: {} file(s) could not be loaded, e.g. {}: {}", source, probs.size(),
                    probs.front().path, probs.front().status.message());
    }
    logger_->debug("{}: {} models", source, scanned->entries().size());
    fresh.push_back({dir, std::make_shared<const ModelCatalogue>(std::move(scanned).value())});
  }
  catalogues_ = std::move(fresh);
  catalogue_problems_ = std::move(problems);
}

std::shared_ptr<const ServedModel> ModelStore::WrapCatalogueEntry(const std::string& dir,
                                                                  const CatalogueEntry& entry) {
  const std::string key = dir + '\n' + entry.id;
  auto it = wrapped_.find(key);
  if (it != wrapped_.end() && it->second->model == entry.model) return it->second;
  auto served = std::make_shared<ServedModel>();
  served->model = entry.model;
  served->kind = "catalogue";
  served->origin = dir + ": " + entry.id;
  served->path = entry.path;
  served->fingerprint = ModelFingerprint(*entry.model);
  if (it != wrapped_.end() && it->second->fingerprint == served->fingerprint) {
    // Rescanned but unchanged: keep serving the object already in use.
    return it->second;
  }
  std::shared_ptr<const ServedModel> out = std::move(served);
  wrapped_[key] = out;
  return out;
}

Result<std::shared_ptr<const ServedModel>> ModelStore::FromCatalogues(const Spec& spec) {
  SelectionRequest req;
  req.features = spec.metrics;
  req.energy_source = spec.source;
  req.output_type = spec.output_type;
  req.trainer_name = spec.trainer;
  req.filter = spec.filter;
  req.error_key = config_.error_key;
  SelectionRequest any_trainer = req;
  any_trainer.trainer_name.clear();
  const bool relax = !req.trainer_name.empty() && config_.trainer_match == TrainerMatch::kPrefer;

  std::vector<std::string> reasons;
  for (const auto& c : catalogues_) {
    if (!c.catalogue) continue;
    const ModelCatalogue& cat = *c.catalogue;
    // Trainer match first, then models with a published error first.
    auto best = cat.SelectBest(req);
    const Status first = best.ok() ? Status::Ok() : best.status();
    if (!best.ok()) best = SelectWithoutError(cat, req);
    if (!best.ok() && relax) {
      best = cat.SelectBest(any_trainer);
      if (!best.ok()) best = SelectWithoutError(cat, any_trainer);
    }
    if (!best.ok()) {
      reasons.push_back(fmt::format("{}: {}", c.dir, first.message()));
      continue;
    }
    const CatalogueEntry& entry = **best;
    Status fits = CheckFits(*entry.model, spec.metrics, spec.output_type, spec.source, spec.trainer,
                            config_.trainer_match);
    if (fits.ok()) fits = ProbeModel(*entry.model);
    if (!fits.ok()) {
      reasons.push_back(fmt::format("{}: {}: {}", c.dir, entry.id, fits.message()));
      continue;
    }
    return WrapCatalogueEntry(c.dir, entry);
  }
  return Status::NotFound(JoinNames(reasons, "; "));
}

Result<std::shared_ptr<const ServedModel>> ModelStore::FromModelServer(const Spec& spec) {
  ModelServerQuery q;
  q.metrics = spec.metrics;
  q.metrics.insert(q.metrics.end(), spec.system_features.begin(), spec.system_features.end());
  q.output_type = std::string(OutputTypeName(spec.output_type));
  q.source = spec.source;
  q.trainer_name = spec.trainer;
  q.filter = spec.filter;
  FetchOptions fo;
  fo.timeout = config_.fetch_timeout;
  fo.max_bytes = config_.max_fetch_bytes;
  const std::string source = "model server";
  auto model = FetchFromModelServer(config_.model_server_endpoint, q, fo);
  if (!model.ok()) {
    NoteError(source, model.status().message());
    return model.status();
  }
  std::shared_ptr<const PipelineModel> m = std::move(model).value();
  Status fits = CheckFits(*m, spec.metrics, spec.output_type, spec.source, spec.trainer,
                          config_.trainer_match);
  if (fits.ok()) fits = ProbeModel(*m);
  if (!fits.ok()) {
    const std::string msg =
        fmt::format("model server {}: {}", config_.model_server_endpoint, fits.message());
    NoteError(source, msg);
    return Status::NotFound(msg);
  }
  ClearError(source);
  auto served = std::make_shared<ServedModel>();
  served->kind = "model-server";
  served->origin = fmt::format("{}: {}", config_.model_server_endpoint, m->info().name);
  served->fingerprint = ModelFingerprint(*m);
  served->model = std::move(m);
  return std::shared_ptr<const ServedModel>(std::move(served));
}

Result<std::shared_ptr<const ServedModel>> ModelStore::FetchInitUrl(const InitUrl& init,
                                                                    OutputType ot,
                                                                    std::string_view source) {
  FetchOptions fo;
  fo.timeout = config_.fetch_timeout;
  fo.max_bytes = config_.max_fetch_bytes;
  const std::string what = fmt::format("{}_INIT_URL {}", init.prefix, init.url);
  auto bytes = FetchUrl(init.url, fo);
  if (!bytes.ok()) return bytes.status().WithContext(init.prefix + "_INIT_URL");
  ModelHints hints;
  hints.path = init.url;
  hints.trainer = init.trainer;
  hints.output_type = std::string(OutputTypeName(ot));
  hints.energy_source = std::string(source);
  auto model = ModelFromBytes(*bytes, what, hints);
  if (!model.ok()) return model.status();
  std::shared_ptr<const PipelineModel> m = std::move(model).value();
  WATTSON_RETURN_IF_ERROR(ProbeModel(*m).WithContext(what));
  auto served = std::make_shared<ServedModel>();
  served->kind = "init-url";
  served->origin = what;
  served->fingerprint = ModelFingerprint(*m);
  served->model = std::move(m);
  return std::shared_ptr<const ServedModel>(std::move(served));
}

void ModelStore::EnsureUrlModel(const InitUrl& init, bool refetch) {
  const std::string source = init.prefix + "_INIT_URL";
  UrlModel& um = url_models_[init.url];
  const auto now = std::chrono::steady_clock::now();
  if (!refetch && (um.served || now < um.retry_at)) return;
  const bool total = init.prefix.find("TOTAL") != std::string::npos;
  auto fetched = FetchInitUrl(init, PrefixOutputType(init.prefix), total ? "acpi" : "rapl-sysfs");
  if (fetched.ok()) {
    if (!um.served || um.served->fingerprint != (*fetched)->fingerprint) {
      if (um.served) logger_->info("{}: a changed model was loaded", source);
      um.served = *fetched;
    }
    um.error = Status::Ok();
    ClearError(source);
    return;
  }
  um.error = fetched.status();
  um.retry_at = now + config_.retry_after;
  NoteError(source, fetched.status().message());
  logger_->warn("{}{}", fetched.status().message(),
                um.served ? "; keeping the model loaded before" : "");
  if (um.served) {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++rejected_;
  }
}

Result<std::shared_ptr<const ServedModel>> ModelStore::FromInitUrls(const Spec& spec) {
  const auto prefixes = InitUrlPrefixesFor(spec.output_type, spec.source);
  std::vector<std::string> reasons;
  bool configured = false;
  for (std::string_view prefix : prefixes) {
    for (const InitUrl& init : config_.init_urls) {
      if (init.prefix != prefix) continue;
      configured = true;
      EnsureUrlModel(init, false);
      const UrlModel& um = url_models_[init.url];
      if (!um.served) {
        reasons.push_back(um.error.message());
        continue;
      }
      Status fits = CheckFits(*um.served->model, spec.metrics, spec.output_type, spec.source,
                              spec.trainer, config_.trainer_match);
      if (fits.ok()) return um.served;
      reasons.push_back(fmt::format("{}: {}", um.served->origin, fits.message()));
    }
  }
  if (!configured) {
    std::vector<std::string> names;
    for (auto p : prefixes) names.push_back(std::string(p) + "_INIT_URL");
    return Status::NotFound(fmt::format("{} not configured", JoinNames(names, " / ")));
  }
  return Status::NotFound(JoinNames(reasons, "; "));
}

Result<std::shared_ptr<const Resolution>> ModelStore::ResolveLocked(const Spec& spec) {
  std::vector<std::string> reasons;
  Result<std::shared_ptr<const ServedModel>> served = Status::NotFound("no source");
  bool found = false;
  if (!config_.model_dirs.empty()) {
    served = FromCatalogues(spec);
    if (served.ok()) {
      found = true;
    } else {
      reasons.push_back(served.status().message());
    }
  }
  if (!found && config_.model_server_enable) {
    served = FromModelServer(spec);
    if (served.ok()) {
      found = true;
    } else {
      reasons.push_back(served.status().message());
    }
  }
  if (!found && !config_.init_urls.empty()) {
    served = FromInitUrls(spec);
    if (served.ok()) {
      found = true;
    } else {
      reasons.push_back(served.status().message());
    }
  }
  if (!found) {
    if (reasons.empty()) {
      return Status::FailedPrecondition(
          "no model source is configured (give --model-dir, a MODEL_CONFIG <PREFIX>_INIT_URL, or "
          "MODEL_SERVER_ENABLE=true)");
    }
    return Status::NotFound(
        fmt::format("no {} model for source {} and metrics [{}]{}: {}",
                    OutputTypeName(spec.output_type), spec.source, JoinNames(spec.metrics),
                    spec.trainer.empty() ? std::string() : ", trainer " + spec.trainer,
                    JoinNames(reasons, "; ")));
  }
  auto res = std::make_shared<Resolution>();
  res->served = *served;
  for (const auto& f : res->served->model->info().features) {
    auto it = std::find(spec.metrics.begin(), spec.metrics.end(), f);
    if (it == spec.metrics.end()) {
      return Status::Internal(fmt::format("model feature {} is not in the request", f));
    }
    res->columns.push_back(static_cast<std::size_t>(it - spec.metrics.begin()));
  }
  return std::shared_ptr<const Resolution>(std::move(res));
}

Result<std::shared_ptr<const Resolution>> ModelStore::Resolve(const EstimateRequest& request) {
  const std::string key = SignatureOf(request);
  auto lookup = [&]() -> std::optional<Result<std::shared_ptr<const Resolution>>> {
    std::shared_lock<std::shared_mutex> lock(cache_mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) return std::nullopt;
    if (it->second.resolution) return it->second.resolution;
    if (std::chrono::steady_clock::now() < it->second.retry_at) return it->second.error;
    return std::nullopt;
  };
  if (auto hit = lookup()) return std::move(*hit);

  std::lock_guard<std::mutex> load(load_mu_);
  if (auto hit = lookup()) return std::move(*hit);  // loaded while we waited
  Entry entry;
  entry.spec.output_type = request.output_type;
  entry.spec.source = request.source;
  entry.spec.trainer = request.model_name.empty() ? request.trainer_name : request.model_name;
  entry.spec.filter = request.filter;
  entry.spec.metrics = request.metrics;
  entry.spec.system_features = request.system_features;
  auto resolved = ResolveLocked(entry.spec);
  if (resolved.ok()) {
    entry.resolution = *resolved;
    const ServedModel& s = *entry.resolution->served;
    logger_->info("serving {} {} requests with metrics [{}] from {}",
                  OutputTypeName(request.output_type), request.source, JoinNames(request.metrics),
                  s.origin);
  } else {
    entry.error = resolved.status();
    entry.retry_at = std::chrono::steady_clock::now() + config_.retry_after;
    logger_->debug("no model: {}", entry.error.message());
  }
  std::unique_lock<std::shared_mutex> lock(cache_mu_);
  if (cache_.size() >= config_.max_cached_selections) {
    std::erase_if(cache_, [](const auto& kv) { return !kv.second.resolution; });
    if (cache_.size() >= config_.max_cached_selections) cache_.clear();
  }
  cache_[key] = std::move(entry);
  return resolved;
}

RefreshReport ModelStore::Refresh() {
  RefreshReport report;
  std::lock_guard<std::mutex> load(load_mu_);
  ScanCatalogues(true, &report);

  // Refetch each configured URL once (keeping the old model when the new one is broken).
  std::set<std::string> fetched;
  for (const InitUrl& init : config_.init_urls) {
    if (fetched.insert(init.url).second) EnsureUrlModel(init, true);
  }

  struct Todo {
    std::string key;
    Spec spec;
    std::shared_ptr<const Resolution> old;
  };
  std::vector<Todo> todo;
  {
    std::shared_lock<std::shared_mutex> lock(cache_mu_);
    for (const auto& [key, e] : cache_) {
      if (e.resolution) todo.push_back({key, e.spec, e.resolution});
    }
  }
  std::vector<std::pair<std::string, std::shared_ptr<const Resolution>>> swaps;
  std::uint64_t rejected = 0;
  for (auto& t : todo) {
    const ServedModel& old = *t.old->served;
    if (old.kind == "catalogue") {
      if (auto p = catalogue_problems_.find(old.path); p != catalogue_problems_.end()) {
        ++report.kept_on_error;
        ++rejected;
        report.errors.push_back(
            fmt::format("{}: {}; keeping the version loaded before", old.path, p->second));
        continue;
      }
    }
    auto fresh = ResolveLocked(t.spec);
    if (!fresh.ok()) {
      ++report.kept_on_error;
      report.errors.push_back(fmt::format("{}; keeping {}", fresh.status().message(), old.origin));
      continue;
    }
    if ((*fresh)->served == t.old->served || ((*fresh)->served->fingerprint == old.fingerprint &&
                                              (*fresh)->served->origin == old.origin)) {
      continue;
    }
    logger_->info("model refresh: {} replaces {}", (*fresh)->served->origin, old.origin);
    swaps.emplace_back(t.key, *fresh);
  }
  {
    std::unique_lock<std::shared_mutex> lock(cache_mu_);
    for (auto& [key, res] : swaps) {
      auto it = cache_.find(key);
      if (it != cache_.end() && it->second.resolution) it->second.resolution = std::move(res);
    }
    std::erase_if(cache_, [](const auto& kv) { return !kv.second.resolution; });
  }
  report.swapped = swaps.size();
  // Drop wrappers no cache entry uses any more, so their models can be freed.
  {
    std::set<const ServedModel*> used;
    std::shared_lock<std::shared_mutex> lock(cache_mu_);
    for (const auto& [key, e] : cache_) used.insert(e.resolution->served.get());
    std::erase_if(wrapped_, [&](const auto& kv) { return used.count(kv.second.get()) == 0; });
  }
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++refreshes_;
    swaps_ += report.swapped;
    rejected_ += rejected;
  }
  for (const auto& e : report.errors) logger_->warn("model refresh: {}", e);
  return report;
}

void ModelStore::StartRefresher(std::chrono::milliseconds interval) {
  if (interval.count() <= 0 || refresher_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(refresher_mu_);
    refresher_stop_ = false;
  }
  refresher_ = std::thread([this, interval] {
    std::unique_lock<std::mutex> lock(refresher_mu_);
    while (!refresher_cv_.wait_for(lock, interval, [this] { return refresher_stop_; })) {
      lock.unlock();
      (void)Refresh();
      lock.lock();
    }
  });
}

void ModelStore::StopRefresher() {
  {
    std::lock_guard<std::mutex> lock(refresher_mu_);
    refresher_stop_ = true;
  }
  refresher_cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

StoreSnapshot ModelStore::Snapshot() const {
  StoreSnapshot s;
  {
    std::map<const ServedModel*, std::size_t> uses;
    std::shared_lock<std::shared_mutex> lock(cache_mu_);
    for (const auto& [key, e] : cache_) {
      if (!e.resolution) {
        ++s.cached_failures;
        continue;
      }
      ++s.cached_selections;
      ++uses[e.resolution->served.get()];
    }
    for (const auto& [m, n] : uses) {
      const ModelInfo& info = m->model->info();
      s.models.push_back({info.id, m->kind, m->origin, info.trainer,
                          std::string(OutputTypeName(info.output_type)), info.energy_source, n});
    }
  }
  std::sort(s.models.begin(), s.models.end(),
            [](const auto& a, const auto& b) { return a.origin < b.origin; });
  std::lock_guard<std::mutex> lock(stats_mu_);
  s.errors = errors_;
  s.refreshes = refreshes_;
  s.swaps = swaps_;
  s.rejected = rejected_;
  return s;
}

}  // namespace wattson::estimator
