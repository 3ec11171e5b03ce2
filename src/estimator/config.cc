#include "estimator/config.h"

#include <cctype>
#include <cstdlib>
#include <utility>

#include "common/file_util.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "models/feature_groups.h"

namespace wattson::estimator {

namespace {

bool IsConfigKey(std::string_view key) {
  if (key.empty() || key.size() > 128) return false;
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& key) -> std::optional<std::string> {
    const char* v = std::getenv(key.c_str());  // NOLINT(concurrency-mt-unsafe): read-only use
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

KeyValues ParseModelConfig(std::string_view text, std::vector<std::string>* warnings) {
  KeyValues out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++pos;
      continue;
    }
    if (c == '#') {
      while (pos < text.size() && text[pos] != '\n') ++pos;
      continue;
    }
    std::size_t end = pos;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    std::string_view token = text.substr(pos, end - pos);
    pos = end;
    const auto eq = token.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      if (warnings != nullptr) {
        warnings->push_back(
            fmt::format("MODEL_CONFIG: ignoring '{}' (expected KEY=VALUE)", token.substr(0, 80)));
      }
      continue;
    }
    out[std::string(token.substr(0, eq))] = std::string(token.substr(eq + 1));
  }
  return out;
}

Result<KeyValues> ParseKeyValueFile(std::string_view text, std::string_view what) {
  KeyValues out;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument(
          fmt::format("{}: line {}: expected KEY = VALUE", what, line_no));
    }
    std::string_view key = Trim(line.substr(0, eq));
    if (!IsConfigKey(key)) {
      return Status::InvalidArgument(
          fmt::format("{}: line {}: bad key '{}'", what, line_no, key.substr(0, 80)));
    }
    out[std::string(key)] = std::string(Trim(line.substr(eq + 1)));
  }
  return out;
}

ConfigLookup::ConfigLookup(EnvLookup env, KeyValues config_file, std::string kepler_config_dir)
    : env_(std::move(env)), file_(std::move(config_file)), dir_(std::move(kepler_config_dir)) {
  std::string origin;
  if (auto mc = GetDirect("MODEL_CONFIG", &origin)) {
    model_config_ = ParseModelConfig(*mc, &warnings_);
  }
}

std::optional<std::string> ConfigLookup::GetDirect(const std::string& key,
                                                   std::string* origin) const {
  if (env_) {
    if (auto v = env_(key)) {
      *origin = "environment";
      return std::string(Trim(*v));
    }
  }
  if (auto it = file_.find(key); it != file_.end()) {
    *origin = "config file";
    return it->second;
  }
  if (!dir_.empty() && IsConfigKey(key)) {
    const std::string path = dir_ + "/" + key;
    auto text = ReadLocalFile(path, 1u << 20);
    if (text.ok()) {
      *origin = path;
      return std::string(Trim(*text));
    }
  }
  return std::nullopt;
}

std::optional<std::string> ConfigLookup::Get(const std::string& key) const {
  std::string origin;
  if (auto v = GetDirect(key, &origin)) return v;
  if (auto it = model_config_.find(key); it != model_config_.end()) {
    return std::string(Trim(it->second));
  }
  return std::nullopt;
}

std::string ConfigLookup::Origin(const std::string& key) const {
  std::string origin;
  if (GetDirect(key, &origin)) return origin;
  if (model_config_.count(key) != 0) return "MODEL_CONFIG";
  return "";
}

std::vector<std::string_view> InitUrlPrefixesFor(OutputType output_type, std::string_view source) {
  auto comps = EnergySourceComponents(source);
  const bool platform = comps.ok() && comps->size() == 1 && comps->front() == Component::kPlatform;
  if (output_type == OutputType::kAbsPower) {
    return {platform ? "NODE_TOTAL" : "NODE_COMPONENTS"};
  }
  if (platform) return {"PROCESS_TOTAL", "CONTAINER_TOTAL"};
  return {"PROCESS_COMPONENTS", "CONTAINER_COMPONENTS"};
}

Result<bool> ParseBool(std::string_view key, std::string_view value) {
  const std::string v = Lower(Trim(value));
  if (v == "true") return true;
  if (v == "false" || v.empty()) return false;
  return Status::InvalidArgument(
      fmt::format("{}: expected true or false, got '{}'", key, value.substr(0, 80)));
}

void ApplyKeplerModelConfig(const ConfigLookup& config, ModelSourceConfig* sources) {
  if (auto v = config.Get("MODEL_SERVER_ENABLE")) {
    sources->model_server_enable = Lower(*v) == "true";
  }
  const std::string port = config.Get("MODEL_SERVER_PORT").value_or("8100");
  const std::string ns = config.Get("KEPLER_NAMESPACE").value_or("kepler");
  std::string url = config.Get("MODEL_SERVER_URL").value_or("");
  if (url.empty()) url = fmt::format("kepler-model-server.{}.svc.cluster.local", ns);
  if (url.find("://") == std::string::npos) {
    // A bare host (kepler-model-server's default form): http://<host>:<port>.
    const bool has_port = url.find(':') != std::string::npos;
    url = "http://" + url + (has_port ? "" : ":" + port);
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  std::string path = config.Get("MODEL_SERVER_MODEL_REQ_PATH").value_or("/model");
  if (path.empty() || path.front() != '/') path = "/" + path;
  sources->model_server_endpoint = url + path;
  if (auto v = config.Get("ERROR_KEY"); v && !v->empty()) sources->error_key = *v;
  sources->init_urls.clear();
  for (std::string_view prefix : kInitUrlPrefixes) {
    const std::string p(prefix);
    auto u = config.Get(p + "_INIT_URL");
    if (!u || u->empty()) continue;
    InitUrl iu;
    iu.prefix = p;
    iu.url = *u;
    iu.trainer = config.Get(p + "_TRAINER").value_or("");
    sources->init_urls.push_back(std::move(iu));
  }
}

}  // namespace wattson::estimator
