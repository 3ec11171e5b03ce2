#include "sources/usage/pod_resolver.h"

#include <cmath>
#include <ctime>
#include <memory>
#include <utility>

#include "common/file_util.h"
#include "common/json_util.h"
#include "fmt/format.h"
#include "httplib.h"

namespace wattson::usage {

namespace {

// A string field, or "" if absent or not a string.
std::string StringOr(const Json& obj, std::string_view key) {
  const Json* v = FindField(obj, key);
  return (v != nullptr && v->is_string()) ? v->get<std::string>() : std::string();
}

std::string Trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

Status ParseStatuses(const Json& status, std::string_view key, const std::string& pod_uid,
                     std::string_view ctx, PodTable& table) {
  const Json* list = FindField(status, key);
  if (list == nullptr || list->is_null()) return Status::Ok();
  if (!list->is_array()) {
    return Status::InvalidArgument(fmt::format("{}.{}: not an array", ctx, key));
  }
  for (const Json& cs : *list) {
    if (!cs.is_object()) continue;
    const std::string id(StripRuntimePrefix(StringOr(cs, "containerID")));
    if (id.empty()) continue;  // not started yet
    table.containers[id] = ContainerMeta{StringOr(cs, "name"), pod_uid};
  }
  return Status::Ok();
}

struct SplitUrl {
  std::string origin;  // scheme://host[:port]
  std::string target;  // /path?query
  bool https = false;
};

Result<SplitUrl> Split(const std::string& url) {
  SplitUrl out;
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = std::string_view(url).substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = std::string_view(url).substr(8);
    out.https = true;
  } else {
    return Status::InvalidArgument(
        fmt::format("kubelet URL '{}': only http:// and https:// are supported", url));
  }
  const auto slash = rest.find('/');
  const std::string_view host = rest.substr(0, slash);
  if (host.empty()) return Status::InvalidArgument(fmt::format("kubelet URL '{}': no host", url));
  out.origin = std::string(url.substr(0, url.size() - rest.size())) + std::string(host);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  return out;
}

}  // namespace

std::string_view StripRuntimePrefix(std::string_view container_id) {
  const auto at = container_id.find("://");
  return at == std::string_view::npos ? container_id : container_id.substr(at + 3);
}

Result<PodTable> ParsePodList(std::string_view json) {
  WATTSON_ASSIGN_OR_RETURN(Json doc, ParseJson(json, "pod list", JsonLimits{64u << 20, 64}));
  if (!doc.is_object()) return Status::InvalidArgument("pod list: not a JSON object");
  const Json* items = FindField(doc, "items");
  if (items == nullptr) return Status::InvalidArgument("pod list: no 'items' field");
  PodTable table;
  if (items->is_null()) return table;  // the kubelet sends null for an empty list
  if (!items->is_array()) return Status::InvalidArgument("pod list: 'items' is not an array");
  for (std::size_t i = 0; i < items->size(); ++i) {
    const Json& item = (*items)[i];
    const std::string ctx = fmt::format("items[{}]", i);
    if (!item.is_object()) return Status::InvalidArgument(ctx + ": not an object");
    const Json* meta = FindField(item, "metadata");
    if (meta == nullptr || !meta->is_object()) continue;
    PodMeta pod;
    pod.uid = StringOr(*meta, "uid");
    if (pod.uid.empty()) continue;
    pod.name = StringOr(*meta, "name");
    pod.namespace_name = StringOr(*meta, "namespace");
    if (pod.name.empty()) pod.name = pod.uid;
    if (const Json* status = FindField(item, "status"); status != nullptr && status->is_object()) {
      for (std::string_view key :
           {"containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"}) {
        WATTSON_RETURN_IF_ERROR(ParseStatuses(*status, key, pod.uid, ctx + ".status", table));
      }
    }
    table.pods[pod.uid] = std::move(pod);
  }
  return table;
}

PodResolver::PodResolver(PodResolverOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

Result<std::string> PodResolver::Fetch() const {
  if (options_.kubelet_url.empty()) {
    if (options_.static_file.empty()) {
      return Status::FailedPrecondition("pod resolver: neither a kubelet URL nor a file is set");
    }
    return ReadLocalFile(options_.static_file, options_.max_bytes);
  }
  WATTSON_ASSIGN_OR_RETURN(SplitUrl url, Split(options_.kubelet_url));
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
  if (url.https) {
    return Status::FailedPrecondition(fmt::format(
        "{}: https needs cpp-httplib built with SSL (CPPHTTPLIB_OPENSSL_SUPPORT), which this "
        "build lacks; use the kubelet's http read-only port or a static pod list file",
        options_.kubelet_url));
  }
#endif
  std::string token;
  if (!options_.token_path.empty()) {
    WATTSON_ASSIGN_OR_RETURN(std::string raw, ReadLocalFile(options_.token_path, 1u << 20));
    token = Trim(std::move(raw));
  }
  httplib::Client client(url.origin);
  if (!client.is_valid()) {
    return Status::InvalidArgument(
        fmt::format("{}: cannot make an HTTP client", options_.kubelet_url));
  }
  const double t = std::isfinite(options_.timeout.value()) && options_.timeout.value() > 0
                       ? options_.timeout.value()
                       : 5.0;
  const auto sec = static_cast<time_t>(t);
  const auto usec = static_cast<time_t>((t - static_cast<double>(sec)) * 1e6);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  client.set_keep_alive(false);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  if (url.https) {
    if (!options_.ca_cert_path.empty()) client.set_ca_cert_path(options_.ca_cert_path.c_str());
    client.enable_server_certificate_verification(!options_.insecure_skip_tls_verify);
  }
#endif
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  std::string body;
  bool too_big = false;
  auto res = client.Get(
      url.target, headers, [&](const httplib::Response&) { return true; },
      [&](const char* data, std::size_t len) {
        if (body.size() + len > options_.max_bytes) {
          too_big = true;
          return false;
        }
        body.append(data, len);
        return true;
      });
  if (too_big) {
    return Status::OutOfRange(
        fmt::format("{}: reply larger than {} bytes", options_.kubelet_url, options_.max_bytes));
  }
  if (!res) {
    return Status::Unavailable(
        fmt::format("{}: GET failed: {}", options_.kubelet_url, httplib::to_string(res.error())));
  }
  if (res->status != 200) {
    return Status::Unavailable(fmt::format("{}: HTTP {}{}", options_.kubelet_url, res->status,
                                           res->status == 401 || res->status == 403
                                               ? " (check the bearer token and its RBAC: "
                                                 "nodes/proxy or nodes/pods get)"
                                               : ""));
  }
  return body;
}

Status PodResolver::MaybeRefresh(bool force) {
  {
    std::lock_guard lock(mu_);
    const auto now = clock_.Now();
    if (!force && attempted_ &&
        SecondsBetween(last_attempt_, now) < options_.min_refresh_interval) {
      return Status::Ok();
    }
    attempted_ = true;
    last_attempt_ = now;
  }
  // Fetch without the lock: Resolve keeps working on the old table meanwhile.
  Status status;
  auto text = Fetch();
  if (!text.ok()) {
    status = text.status().WithContext("pod resolver");
  } else {
    auto table = ParsePodList(*text);
    if (!table.ok()) {
      status = table.status().WithContext(
          fmt::format("pod resolver: {} (keeping the previous mapping)",
                      options_.kubelet_url.empty() ? options_.static_file : options_.kubelet_url));
    } else {
      std::lock_guard lock(mu_);
      table_ = std::move(*table);
    }
  }
  std::lock_guard lock(mu_);
  last_status_ = status;
  return status;
}

ResolvedWorkload PodResolver::Resolve(const WorkloadIdentity& id) const {
  ResolvedWorkload out;
  std::lock_guard lock(mu_);
  std::string pod_uid = id.pod_uid;
  if (!id.container_id.empty()) {
    if (auto c = table_.containers.find(id.container_id); c != table_.containers.end()) {
      out.container_name = c->second.name;
      if (pod_uid.empty()) pod_uid = c->second.pod_uid;  // e.g. a path with no pod component
    }
  }
  if (pod_uid.empty()) return out;
  out.pod_name = pod_uid;
  if (auto p = table_.pods.find(pod_uid); p != table_.pods.end()) {
    out.pod_name = p->second.name;
    out.pod_namespace = p->second.namespace_name;
    out.pod_known = true;
    out.sandbox = !id.container_id.empty() && out.container_name.empty();
  }
  return out;
}

std::size_t PodResolver::pod_count() const {
  std::lock_guard lock(mu_);
  return table_.pods.size();
}

Status PodResolver::last_status() const {
  std::lock_guard lock(mu_);
  return last_status_;
}

}  // namespace wattson::usage
