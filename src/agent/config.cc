#include "agent/config.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "common/file_util.h"
#include "common/json_util.h"
#include "common/net_text.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "yaml-cpp/yaml.h"

namespace wattson::agent {

namespace {

Result<bool> ParseBoolValue(std::string_view v) {
  const std::string l = Lower(Trim(v));
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  return Status::InvalidArgument(fmt::format("'{}' is not a boolean (true or false)", v));
}

Result<double> ParseNumber(std::string_view v) {
  const std::string s(Trim(v));
  if (s.empty()) return Status::InvalidArgument("empty value where a number is needed");
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(d)) {
    return Status::InvalidArgument(fmt::format("'{}' is not a number", v));
  }
  return d;
}

Result<long long> ParseInteger(std::string_view v, long long min, long long max) {
  const std::string_view s = Trim(v);
  long long n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return Status::InvalidArgument(fmt::format("'{}' is not an integer", v));
  }
  if (n < min || n > max) {
    return Status::InvalidArgument(fmt::format("{} is outside [{}, {}]", n, min, max));
  }
  return n;
}

std::vector<std::string> SplitComma(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = Trim(text.substr(pos, end - pos));
    if (!item.empty()) out.emplace_back(item);
    pos = end + 1;
  }
  return out;
}

// Applies one key's value; the error message is the reason only (the caller adds key and origin).
Status ApplyKey(std::string_view key, std::string_view raw, AgentConfig* c) {
  const std::string value(Trim(raw));
  auto str = [&](std::string* out) {
    *out = value;
    return Status::Ok();
  };
  auto boolean = [&](bool* out) {
    WATTSON_ASSIGN_OR_RETURN(*out, ParseBoolValue(value));
    return Status::Ok();
  };
  if (key == "host_root") {
    if (value.empty() || value.front() != '/') {
      return Status::InvalidArgument(fmt::format("'{}' is not an absolute path", value));
    }
    return str(&c->host_root);
  }
  if (key == "period") {
    WATTSON_ASSIGN_OR_RETURN(double p, ParseNumber(value));
    if (!(p >= 0.01 && p <= 3600.0)) {
      return Status::InvalidArgument(fmt::format("{} s is outside [0.01, 3600] seconds", p));
    }
    c->period = Seconds(p);
    return Status::Ok();
  }
  if (key == "listen") {
    std::string host;
    int port = 0;
    Status s = ParseHostPort(value, "listen address", &host, &port);
    if (!s.ok()) {
      return Status::InvalidArgument(fmt::format("'{}' is not HOST:PORT ({})", value, s.message()));
    }
    return str(&c->listen);
  }
  if (key == "metrics_path") {
    if (value.empty() || value.front() != '/' || value == "/") {
      return Status::InvalidArgument(
          fmt::format("'{}' must be a path starting with '/' (and not '/' itself)", value));
    }
    return str(&c->metrics_path);
  }
  if (key == "ticks") {
    WATTSON_ASSIGN_OR_RETURN(c->ticks, ParseInteger(value, 0, 1LL << 40));
    return Status::Ok();
  }
  if (key == "error_log_every") {
    WATTSON_ASSIGN_OR_RETURN(c->error_log_every, ParseInteger(value, 1, 1LL << 40));
    return Status::Ok();
  }
  if (key == "proc_open_files") {
    WATTSON_ASSIGN_OR_RETURN(c->proc_open_files, ParseInteger(value, 0, 1LL << 22));
    return Status::Ok();
  }
  if (key == "cpu_time_source") {
    if (value != "auto" && value != "ebpf" && value != "procfs") {
      return Status::InvalidArgument(
          fmt::format("'{}' is not a CPU time source (auto, ebpf, procfs)", value));
    }
    return str(&c->cpu_time_source);
  }
  if (key == "port_file") return str(&c->port_file);
  if (key == "node_name") return str(&c->node_name);
  if (key == "model") return str(&c->model);
  if (key == "estimator_socket") return str(&c->estimator_socket);
  if (key == "process_metrics") return boolean(&c->process_metrics);
  if (key == "container_metrics") return boolean(&c->container_metrics);
  if (key == "vm_metrics") return boolean(&c->vm_metrics);
  if (key == "idle_metrics") return boolean(&c->idle_metrics);
  if (key == "component_metrics") return boolean(&c->component_metrics);
  if (key == "hw_counters") return boolean(&c->hw_counters);
  if (key == "enable_gpu") return boolean(&c->enable_gpu);
  if (key == "estimate_platform") return boolean(&c->estimate_platform);
  if (key == "kubelet_insecure_skip_tls_verify") {
    return boolean(&c->kubelet_insecure_skip_tls_verify);
  }
  if (key == "meters") {
    std::vector<std::string> meters = SplitComma(value);
    if (meters.size() == 1 && meters[0] == "none") meters.clear();
    if (meters.empty() && value != "none") {
      return Status::InvalidArgument("an empty list (write \"none\" to always estimate)");
    }
    for (std::size_t i = 0; i < meters.size(); ++i) {
      const std::string& m = meters[i];
      if (m != "rapl" && m != "hwmon" && m != "nvml" && m != "passthrough") {
        return Status::InvalidArgument(
            fmt::format("unknown meter '{}' (known: rapl, hwmon, nvml, passthrough, or none)", m));
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (meters[j] == m) {
          return Status::InvalidArgument(fmt::format("meter '{}' is listed twice", m));
        }
      }
    }
    c->meters = std::move(meters);
    return Status::Ok();
  }
  if (key == "passthrough_file") return str(&c->passthrough_file);
  if (key == "passthrough_url") {
    if (!value.empty() && value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0) {
      return Status::InvalidArgument(fmt::format("'{}' is not an http:// or https:// URL", value));
    }
    return str(&c->passthrough_url);
  }
  if (key == "kubelet_url") {
    if (!value.empty() && value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0) {
      return Status::InvalidArgument(fmt::format("'{}' is not an http:// or https:// URL", value));
    }
    return str(&c->kubelet_url);
  }
  if (key == "kubelet_token_file") return str(&c->kubelet_token_file);
  if (key == "kubelet_ca_file") return str(&c->kubelet_ca_file);
  if (key == "pod_list_file") return str(&c->pod_list_file);
  if (key == "kepler_config_dir") return str(&c->kepler_config_dir);
  if (key == "cpu_arch") return str(&c->cpu_arch);
  if (key == "model_config") {
    c->model_config = std::string(raw);  // whitespace separates its tokens: keep it as given
    return Status::Ok();
  }
  if (key == "idle_apportioning") {
    auto rule = attribution::ParseIdleApportioning(value);
    if (!rule) {
      return Status::InvalidArgument(fmt::format(
          "'{}' is not an idle apportioning rule (none, cpu_time, even_active_containers)", value));
    }
    c->idle_apportioning = *rule;
    return Status::Ok();
  }
  return Status::InvalidArgument(fmt::format("unknown key '{}'", key));
}

const ConfigKeyDef* FindKey(std::string_view key) {
  for (const auto& d : AgentConfigKeys()) {
    if (d.key == key) return &d;
  }
  return nullptr;
}

std::string KnownKeysList() {
  std::string out;
  for (const auto& d : AgentConfigKeys()) {
    if (!out.empty()) out += ", ";
    out += d.key;
  }
  return out;
}

// MODEL_CONFIG: Kepler's <PREFIX>_<FIELD> entries; only the node targets matter to wattson.
Status ApplyModelConfig(AgentConfig* c, const std::string& origin) {
  std::vector<std::string> warnings;
  const estimator::KeyValues kv = estimator::ParseModelConfig(c->model_config, &warnings);
  for (auto& w : warnings) c->warnings.push_back(origin + ": " + w);
  static constexpr std::string_view kPrefixes[] = {"NODE_TOTAL",      "NODE_COMPONENTS",
                                                   "PROCESS_TOTAL",   "PROCESS_COMPONENTS",
                                                   "CONTAINER_TOTAL", "CONTAINER_COMPONENTS"};
  static constexpr std::string_view kFields[] = {
      "ESTIMATOR", "LOCAL_REGRESSOR", "INIT_URL", "TRAINER", "FILTERS", "NODE_TYPE", "RATIO"};
  for (const auto& [key, value] : kv) {
    std::string_view prefix, field;
    for (auto p : kPrefixes) {
      if (key.size() > p.size() + 1 && key.compare(0, p.size(), p) == 0 && key[p.size()] == '_') {
        const std::string_view rest = std::string_view(key).substr(p.size() + 1);
        for (auto f : kFields) {
          if (rest == f) {
            prefix = p;
            field = f;
          }
        }
      }
    }
    if (prefix.empty()) {
      return Status::InvalidArgument(fmt::format(
          "{}: unknown entry '{}' (expected <PREFIX>_<FIELD> with PREFIX one of NODE_TOTAL, "
          "NODE_COMPONENTS, PROCESS_TOTAL, PROCESS_COMPONENTS, CONTAINER_TOTAL, "
          "CONTAINER_COMPONENTS and FIELD one of ESTIMATOR, LOCAL_REGRESSOR, INIT_URL, TRAINER, "
          "FILTERS, NODE_TYPE, RATIO)",
          origin, key));
    }
    TargetModelConfig* target = prefix == "NODE_TOTAL"        ? &c->platform
                                : prefix == "NODE_COMPONENTS" ? &c->components
                                                              : nullptr;
    if (target == nullptr) {
      c->warnings.push_back(fmt::format(
          "{}: {} ignored: wattson splits node power over processes and containers by usage "
          "ratios, so process/container models are not used",
          origin, key));
      continue;
    }
    if (field == "ESTIMATOR") {
      auto b = ParseBoolValue(value);
      if (!b.ok()) {
        return Status::InvalidArgument(
            fmt::format("{}: {}: {}", origin, key, b.status().message()));
      }
      target->use_estimator = *b;
    } else if (field == "INIT_URL") {
      std::string path = value;
      if (path.rfind("file://", 0) == 0) path = path.substr(7);
      if (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0) {
        return Status::InvalidArgument(fmt::format(
            "{}: {}: the agent reads models from local files only; fetch '{}' with the "
            "estimator sidecar (<PREFIX>_ESTIMATOR=true, --estimator-socket) or download it",
            origin, key, value));
      }
      if (path.empty() || path.front() != '/') {
        return Status::InvalidArgument(
            fmt::format("{}: {}: '{}' is not an absolute path or file:// URL", origin, key, value));
      }
      target->model_path = path;
    } else if (field == "TRAINER") {
      target->trainer = value;
    } else {
      c->warnings.push_back(
          fmt::format("{}: {} ignored (not used by the wattson agent)", origin, key));
    }
  }
  return Status::Ok();
}

}  // namespace

const std::vector<ConfigKeyDef>& AgentConfigKeys() {
  static const std::vector<ConfigKeyDef> kKeys = {
      {"host_root", "--host-root", "", "root of the host tree read through HostFs"},
      {"period", "--period", "SAMPLE_PERIOD_SEC", "tick period in seconds"},
      {"listen", "--listen", "BIND_ADDRESS", "HTTP address HOST:PORT"},
      {"metrics_path", "--metrics-path", "METRIC_PATH", "Prometheus path"},
      {"ticks", "--ticks", "", "exit after N ticks (0 = until a signal)"},
      {"port_file", "--port-file", "", "write the bound port here"},
      {"node_name", "--node-name", "NODE_NAME", "instance label"},
      {"model", "--model", "", "model file or model DB folder"},
      {"estimator_socket", "--estimator-socket", "", "estimator sidecar socket"},
      {"process_metrics", "--process-metrics", "ENABLE_PROCESS_METRICS", "per-process series"},
      {"container_metrics", "--container-metrics", "EXPOSE_CONTAINER_METRICS",
       "per-container series"},
      {"vm_metrics", "--vm-metrics", "EXPOSE_VM_METRICS", "per-VM series"},
      {"idle_metrics", "--idle-metrics", "EXPOSE_ESTIMATED_IDLE_POWER_METRICS",
       "mode=\"idle\" series"},
      {"component_metrics", "--component-metrics", "EXPOSE_COMPONENT_POWER",
       "per-component series"},
      {"hw_counters", "--hw-counters", "EXPOSE_HW_COUNTER_METRICS",
       "node perf counters as model features"},
      {"enable_gpu", "--enable-gpu", "ENABLE_GPU", "probe NVML GPUs"},
      {"meters", "--meters", "", "meters to probe"},
      {"passthrough_file", "--passthrough-file", "", "passthrough power file"},
      {"passthrough_url", "--passthrough-url", "", "passthrough power URL"},
      {"kubelet_url", "--kubelet-url", "", "kubelet pod list URL"},
      {"kubelet_token_file", "--kubelet-token-file", "", "bearer token file"},
      {"kubelet_ca_file", "--kubelet-ca-file", "", "CA bundle of the kubelet"},
      {"kubelet_insecure_skip_tls_verify", "--kubelet-insecure-skip-tls-verify", "",
       "do not verify the kubelet's certificate"},
      {"pod_list_file", "--pod-list-file", "", "static PodList JSON"},
      {"kepler_config_dir", "--kepler-config-dir", "", "Kepler's config folder"},
      {"cpu_arch", "--cpu-arch", "CPU_ARCH_OVERRIDE", "cpu_architecture label"},
      {"model_config", "--model-config", "MODEL_CONFIG", "Kepler MODEL_CONFIG entries"},
      {"idle_apportioning", "--idle-apportioning", "", "idle split to workloads"},
      {"error_log_every", "--error-log-every", "", "log a failing source once per N ticks"},
      {"proc_open_files", "--proc-open-files", "",
       "most /proc/<pid>/stat files kept open between ticks"},
      {"cpu_time_source", "--cpu-time-source", "", "per-process CPU time: auto, ebpf, procfs"},
      {"estimate_platform", "--estimate-platform", "",
       "estimate platform power when no meter has it"},
  };
  return kKeys;
}

Result<std::map<std::string, std::string>> ParseAgentConfigText(std::string_view text,
                                                                std::string_view what,
                                                                std::string_view format) {
  std::string fmt_name(format);
  if (fmt_name.empty()) {
    const std::string lower = Lower(what);
    auto ends = [&](std::string_view suffix) {
      return lower.size() >= suffix.size() &&
             lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends(".json")) {
      fmt_name = "json";
    } else if (ends(".yaml") || ends(".yml")) {
      fmt_name = "yaml";
    } else {
      fmt_name = !Trim(text).empty() && Trim(text).front() == '{' ? "json" : "yaml";
    }
  }
  std::map<std::string, std::string> out;
  auto add = [&](const std::string& key, std::string value) -> Status {
    if (FindKey(key) == nullptr) {
      return Status::InvalidArgument(
          fmt::format("config file {}: unknown key '{}' (known: {})", what, key, KnownKeysList()));
    }
    if (out.count(key) != 0) {
      return Status::InvalidArgument(
          fmt::format("config file {}: key '{}' appears twice", what, key));
    }
    out[key] = std::move(value);
    return Status::Ok();
  };
  if (fmt_name == "json") {
    WATTSON_ASSIGN_OR_RETURN(
        Json j, ParseJson(text, fmt::format("config file {}", what), JsonLimits{1u << 20, 16}));
    if (!j.is_object()) {
      return Status::InvalidArgument(
          fmt::format("config file {}: expected a JSON object of settings", what));
    }
    for (const auto& [key, v] : j.items()) {
      std::string value;
      if (v.is_string()) {
        value = v.get<std::string>();
      } else if (v.is_boolean()) {
        value = v.get<bool>() ? "true" : "false";
      } else if (v.is_number_integer()) {
        value = std::to_string(v.get<long long>());
      } else if (v.is_number()) {
        value = fmt::format("{}", v.get<double>());
      } else if (v.is_array()) {
        for (const auto& item : v) {
          if (!item.is_string()) {
            return Status::InvalidArgument(
                fmt::format("config file {}: key '{}': a list may hold strings only", what, key));
          }
          if (!value.empty()) value += ",";
          value += item.get<std::string>();
        }
        if (v.empty()) value = "none";
      } else {
        return Status::InvalidArgument(fmt::format(
            "config file {}: key '{}': expected a string, number, boolean or list", what, key));
      }
      WATTSON_RETURN_IF_ERROR(add(key, std::move(value)));
    }
    return out;
  }
  if (fmt_name != "yaml") {
    return Status::InvalidArgument(fmt::format("unknown config format '{}'", fmt_name));
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(
        fmt::format("config file {}: malformed YAML: {}", what, e.what()));
  }
  if (root.IsNull()) return out;  // an empty file
  if (!root.IsMap()) {
    return Status::InvalidArgument(
        fmt::format("config file {}: expected a YAML mapping of settings", what));
  }
  for (const auto& item : root) {
    if (!item.first.IsScalar()) {
      return Status::InvalidArgument(fmt::format("config file {}: a key is not a string", what));
    }
    const std::string key = item.first.Scalar();
    const YAML::Node& v = item.second;
    std::string value;
    if (v.IsScalar()) {
      value = v.Scalar();
    } else if (v.IsNull()) {
      value = "";
    } else if (v.IsSequence()) {
      for (const auto& e : v) {
        if (!e.IsScalar()) {
          return Status::InvalidArgument(fmt::format(
              "config file {}: key '{}': a list may hold plain values only", what, key));
        }
        if (!value.empty()) value += ",";
        value += e.Scalar();
      }
      if (v.size() == 0) value = "none";
    } else {
      return Status::InvalidArgument(fmt::format(
          "config file {}: key '{}': expected a value or a list, not a mapping", what, key));
    }
    WATTSON_RETURN_IF_ERROR(add(key, std::move(value)));
  }
  return out;
}

Result<AgentConfig> LoadAgentConfig(const ConfigSources& sources) {
  for (const auto& [key, value] : sources.flags) {
    if (FindKey(key) == nullptr) {
      return Status::InvalidArgument(fmt::format("unknown setting '{}'", key));
    }
  }
  std::map<std::string, std::string> file;
  std::string file_origin;
  if (!sources.config_file.empty()) {
    WATTSON_ASSIGN_OR_RETURN(std::string text, ReadLocalFile(sources.config_file, 1u << 20));
    WATTSON_ASSIGN_OR_RETURN(file, ParseAgentConfigText(text, sources.config_file));
    file_origin = "config file " + sources.config_file;
  }
  AgentConfig c;
  // The Kepler folder itself may be set by a flag or the config file.
  std::string kepler_dir = c.kepler_config_dir;
  if (auto it = sources.flags.find("kepler_config_dir"); it != sources.flags.end()) {
    kepler_dir = std::string(Trim(it->second));
  } else if (auto f = file.find("kepler_config_dir"); f != file.end()) {
    kepler_dir = std::string(Trim(f->second));
  }

  for (const auto& def : AgentConfigKeys()) {
    const std::string key(def.key);
    std::optional<std::string> value;
    std::string origin;
    if (auto it = sources.flags.find(key); it != sources.flags.end()) {
      value = it->second;
      origin = fmt::format("flag {}", def.flag);
    }
    if (!value && !def.env.empty() && sources.env) {
      if (auto v = sources.env(std::string(def.env))) {
        value = *v;
        origin = fmt::format("environment {}", def.env);
      }
    }
    if (!value && !def.env.empty() && !kepler_dir.empty()) {
      const std::string path = (std::filesystem::path(kepler_dir) / std::string(def.env)).string();
      std::error_code ec;
      if (std::filesystem::is_regular_file(path, ec)) {
        auto text = ReadLocalFile(path, 1u << 20);
        if (!text.ok()) {
          return Status::InvalidArgument(
              fmt::format("setting '{}' from {}: {}", key, path, text.status().message()));
        }
        value = std::string(Trim(*text));
        origin = path;
      }
    }
    if (!value) {
      if (auto it = file.find(key); it != file.end()) {
        value = it->second;
        origin = file_origin;
      }
    }
    if (!value) {
      c.origins[key] = "default";
      continue;
    }
    Status s = ApplyKey(key, *value, &c);
    if (!s.ok()) {
      return Status::InvalidArgument(
          fmt::format("setting '{}' from {}: {}", key, origin, s.message()));
    }
    c.origins[key] = origin;
  }
  if (!c.passthrough_file.empty() && !c.passthrough_url.empty()) {
    return Status::InvalidArgument(
        "passthrough_file and passthrough_url are both set: give one of them");
  }
  if (!c.model_config.empty()) {
    WATTSON_RETURN_IF_ERROR(ApplyModelConfig(&c, c.origins["model_config"]));
  }
  return c;
}

}  // namespace wattson::agent
