// Fetching models from outside the process: <PREFIX>_INIT_URL documents (http, https, file:// or
// a local path) and kepler-model-server's POST /model, with timeouts and a size limit. Kepler
// weight JSON and wattson model JSON are read; Kepler's .zip archives (pickled scikit-learn
// models) are not readable yet and give a clear FailedPrecondition error instead.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "models/power_model.h"

namespace wattson::estimator {

struct FetchOptions {
  std::chrono::milliseconds timeout{10000};  // connect, and each read or write
  std::size_t max_bytes = std::size_t{64} << 20;
};

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

// GET for http(s) URLs; file:// URLs and absolute paths are read from disk. A non-200 HTTP status
// is an error that quotes the start of the body.
Result<std::string> FetchUrl(const std::string& url, const FetchOptions& options);

// POST body (application/json) to an http(s) URL. Any HTTP status is returned; only transport
// failures, timeouts and oversized bodies are errors.
Result<HttpReply> PostJson(const std::string& url, const std::string& body,
                           const FetchOptions& options);

// What the bytes alone may not say about a Kepler weight document.
struct ModelHints {
  std::string path;           // URL or file path: trainer, output type, source, group from it
  std::string trainer;        // e.g. "LogarithmicRegressionTrainer" (wins over the path)
  std::string output_type;    // "AbsPower"/"DynPower" when the path does not say
  std::string energy_source;  // when neither the path nor the components say
};

// Reads a wattson model JSON, a Kepler weight JSON or a Kepler model archive (zip bytes; see
// models/archive/kepler_archive.h). what names it in errors.
Result<std::unique_ptr<PipelineModel>> ModelFromBytes(std::string_view bytes, std::string_view what,
                                                      const ModelHints& hints);

// kepler-model-server's /model request for the features a client has.
struct ModelServerQuery {
  std::vector<std::string> metrics;  // numeric features + system feature names
  std::string output_type;           // "AbsPower" / "DynPower"
  std::string source;                // "rapl-sysfs" / "acpi"
  std::string trainer_name;
  std::string filter;
};

// Asks the model server: first {"weight": true} (Kepler weight JSON, 200), then, if that finds
// nothing, {"weight": false} (an archive; a zip is reported as not readable yet; a JSON model is
// read). Errors quote the server's status and message.
Result<std::unique_ptr<PipelineModel>> FetchFromModelServer(const std::string& endpoint,
                                                            const ModelServerQuery& query,
                                                            const FetchOptions& options);

}  // namespace wattson::estimator
