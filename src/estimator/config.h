// Estimator configuration from Kepler's configuration surface (reference specs: exporter §1.6,
// §3.4, §5.2; model server §5) and wattson's own keys. One lookup order for every key, unlike
// Kepler (Go: env > file; Python: file > env, untrimmed):
//   command-line flag > environment > wattson --config file > <kepler config dir>/<KEY> file >
//   MODEL_CONFIG entries > default.
// Values are trimmed. MODEL_CONFIG holds KEY=VALUE tokens split at the first '=' (so URLs with
// query strings survive, unlike Kepler's Go parser).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "models/types.h"

namespace wattson::estimator {

// Reads one environment variable (std::getenv in production; a map in tests).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

using KeyValues = std::map<std::string, std::string, std::less<>>;

// MODEL_CONFIG: tokens separated by whitespace or newlines, '#' to the end of a line is a comment,
// each token KEY=VALUE split at the first '='. Tokens without '=' or with an empty key are skipped
// and described in *warnings.
KeyValues ParseModelConfig(std::string_view text, std::vector<std::string>* warnings);

// A wattson --config file: one "KEY = VALUE" per line, '#' comments, blank lines ignored. A line
// without '=' is an error naming its line number.
Result<KeyValues> ParseKeyValueFile(std::string_view text, std::string_view what);

// Layered lookup (see the file comment). Immutable after construction; thread-safe.
class ConfigLookup {
 public:
  // kepler_config_dir: e.g. /etc/kepler/kepler.config ("" = none); a missing directory is fine.
  ConfigLookup(EnvLookup env, KeyValues config_file, std::string kepler_config_dir);

  std::optional<std::string> Get(const std::string& key) const;
  // Where Get(key) found its value: "environment", "config file", "<dir>/<KEY>", "MODEL_CONFIG",
  // or "" when not set.
  std::string Origin(const std::string& key) const;
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::optional<std::string> GetDirect(const std::string& key, std::string* origin) const;
  EnvLookup env_;
  KeyValues file_;
  std::string dir_;
  KeyValues model_config_;
  std::vector<std::string> warnings_;
};

// How a request's trainer_name narrows model choice. kPrefer: models of that trainer first, any
// trainer when none fits (Kepler always sends "SGDRegressorTrainer" by default, whatever model the
// operator configured). kStrict: only that trainer.
enum class TrainerMatch { kPrefer, kStrict };

// One <PREFIX>_INIT_URL with the <PREFIX>_TRAINER hint for Kepler weight files.
struct InitUrl {
  std::string prefix;  // NODE_TOTAL, NODE_COMPONENTS, PROCESS_TOTAL, ...
  std::string url;     // http(s)://, file:// or an absolute path
  std::string trainer;
};

// Where models come from, in the order they are tried after the in-memory cache.
struct ModelSourceConfig {
  std::vector<std::string> model_dirs;  // wattson or Kepler model DB folders
  bool model_server_enable = false;
  std::string model_server_endpoint;  // full URL of POST /model
  std::vector<InitUrl> init_urls;
  std::string error_key = "mae";
  TrainerMatch trainer_match = TrainerMatch::kPrefer;
  std::chrono::milliseconds fetch_timeout{10000};
  std::size_t max_fetch_bytes = std::size_t{64} << 20;
  std::size_t max_cached_selections = 1024;
  // A request whose model could not be found is answered from this negative cache (same error)
  // for this long, so a bad client does not make the estimator rescan or refetch on every request.
  std::chrono::milliseconds retry_after{10000};
};

inline constexpr std::string_view kInitUrlPrefixes[] = {"NODE_TOTAL",      "NODE_COMPONENTS",
                                                        "PROCESS_TOTAL",   "PROCESS_COMPONENTS",
                                                        "CONTAINER_TOTAL", "CONTAINER_COMPONENTS"};

// The prefixes whose INIT_URL may serve a request, in order: AbsPower → NODE_*, DynPower →
// PROCESS_* then CONTAINER_*; *_TOTAL for platform sources (acpi, ...), *_COMPONENTS for RAPL.
// (Kepler's sidecar took the first prefix with the same source, so a process DynPower request could
// load a node AbsPower archive: reference spec §7 item 9.)
std::vector<std::string_view> InitUrlPrefixesFor(OutputType output_type, std::string_view source);

// Reads MODEL_SERVER_ENABLE / _URL / _PORT / _MODEL_REQ_PATH, KEPLER_NAMESPACE, ERROR_KEY and every
// <PREFIX>_INIT_URL / <PREFIX>_TRAINER into sources (other fields are left as they are).
void ApplyKeplerModelConfig(const ConfigLookup& config, ModelSourceConfig* sources);

// "true" (any case) → true; "false", "" → false; anything else is an error naming key.
Result<bool> ParseBool(std::string_view key, std::string_view value);

}  // namespace wattson::estimator
