#include "estimator/model_fetch.h"

#include <utility>

#include "common/file_util.h"
#include "common/json_util.h"
#include "estimator/request.h"
#include "fmt/format.h"
#include "httplib.h"
#include "models/archive/kepler_archive.h"
#include "models/kepler_weights.h"
#include "models/wattson_format.h"

namespace wattson::estimator {

namespace {

bool StartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(0, p.size()) == p;
}

struct SplitUrl {
  std::string origin;  // scheme://host[:port]
  std::string target;  // /path?query
};

Result<SplitUrl> Split(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return Status::InvalidArgument(fmt::format("'{}' is not a URL", Printable(url, 200)));
  }
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return Status::InvalidArgument(
        fmt::format("'{}': only http, https and file URLs are supported", Printable(url, 200)));
  }
  const auto path_start = url.find('/', scheme_end + 3);
  SplitUrl out;
  out.origin = url.substr(0, path_start);
  out.target = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (out.origin.size() <= scheme_end + 3) {
    return Status::InvalidArgument(fmt::format("'{}' has no host", Printable(url, 200)));
  }
  return out;
}

// The path part of a URL or file name, without query or fragment, for path-based inference.
std::string PathOf(std::string_view url) {
  auto cut = url.find_first_of("?#");
  if (cut != std::string_view::npos) url = url.substr(0, cut);
  return std::string(url);
}

std::unique_ptr<httplib::Client> MakeClient(const std::string& origin,
                                            const FetchOptions& options) {
  auto client = std::make_unique<httplib::Client>(origin);
  const auto ms = options.timeout.count();
  const time_t sec = static_cast<time_t>(ms / 1000);
  const time_t usec = static_cast<time_t>((ms % 1000) * 1000);
  client->set_connection_timeout(sec, usec);
  client->set_read_timeout(sec, usec);
  client->set_write_timeout(sec, usec);
  client->set_follow_location(true);
  client->set_keep_alive(false);
  return client;
}

// Sends req, collecting at most max_bytes of body.
Result<HttpReply> Send(const std::string& url, httplib::Request req, const FetchOptions& options) {
  WATTSON_ASSIGN_OR_RETURN(SplitUrl parts, Split(url));
  auto client = MakeClient(parts.origin, options);
  if (!client->is_valid()) {
    return Status::InvalidArgument(fmt::format("{}: cannot make an HTTP client", url));
  }
  std::string body;
  bool too_big = false;
  req.path = parts.target;
  req.content_receiver = [&](const char* data, std::size_t len, std::uint64_t, std::uint64_t) {
    if (body.size() + len > options.max_bytes) {
      too_big = true;
      return false;
    }
    body.append(data, len);
    return true;
  };
  httplib::Result res = client->send(req);
  if (too_big) {
    return Status::OutOfRange(
        fmt::format("{}: the reply exceeds the limit of {} bytes", url, options.max_bytes));
  }
  if (!res) {
    return Status::Unavailable(fmt::format("{}: {} {} failed: {}", url, req.method, parts.target,
                                           httplib::to_string(res.error())));
  }
  HttpReply reply;
  reply.status = res->status;
  reply.content_type = res->get_header_value("Content-Type");
  reply.body = body.empty() ? res->body : std::move(body);
  return reply;
}

std::string Snippet(std::string_view body) { return Printable(body, 200); }

}  // namespace

Result<std::string> FetchUrl(const std::string& url, const FetchOptions& options) {
  if (StartsWith(url, "file://")) return ReadLocalFile(PathOf(url.substr(7)), options.max_bytes);
  if (StartsWith(url, "/")) return ReadLocalFile(url, options.max_bytes);
  httplib::Request req;
  req.method = "GET";
  WATTSON_ASSIGN_OR_RETURN(HttpReply reply, Send(url, std::move(req), options));
  if (reply.status != 200) {
    return Status::Unavailable(
        fmt::format("{}: HTTP {}: {}", url, reply.status, Snippet(reply.body)));
  }
  return std::move(reply.body);
}

Result<HttpReply> PostJson(const std::string& url, const std::string& body,
                           const FetchOptions& options) {
  httplib::Request req;
  req.method = "POST";
  req.body = body;
  req.set_header("Content-Type", "application/json; charset=UTF-8");
  return Send(url, std::move(req), options);
}

Result<std::unique_ptr<PipelineModel>> ModelFromBytes(std::string_view bytes, std::string_view what,
                                                      const ModelHints& hints) {
  const std::span<const std::uint8_t> raw(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                          bytes.size());
  if (archive::LooksLikeZip(raw)) {
    // A Kepler model archive (an INIT_URL to a .zip, or the model server's "weight": false
    // reply): read natively; its layout path, when the URL has one, names the feature group.
    archive::ArchiveOptions options;
    options.id = std::string(what);
    const std::string path = hints.path.empty() ? std::string(what) : PathOf(hints.path);
    auto a = archive::KeplerArchiveFromZip(raw, path, options);
    if (!a.ok()) return hints.path.empty() ? a.status() : a.status().WithContext(what);
    return std::move(a->model);
  }
  JsonLimits limits;
  limits.max_bytes = bytes.size() + 1;
  WATTSON_ASSIGN_OR_RETURN(Json j, ParseJson(bytes, what, limits));
  if (IsWattsonModelJson(j)) return WattsonModelFromJson(j, what);
  if (!IsKeplerWeightJson(j)) {
    return Status::InvalidArgument(fmt::format(
        "{}: not a model document (expected a wattson model JSON or a Kepler weight JSON)", what));
  }
  KeplerWeightOptions ko;
  ko.id = std::string(what);
  InferKeplerWeightOptionsFromPath(PathOf(hints.path), &ko);
  if (ko.trainer.empty()) {
    // kepler-model-server adds "model_name": "<Trainer>_<nodeType>" to /model weight replies.
    if (const Json* name = FindField(j, "model_name"); name != nullptr && name->is_string()) {
      const std::string n = name->get<std::string>();
      const auto us = n.rfind('_');
      ko.trainer = us == std::string::npos ? n : n.substr(0, us);
    }
  }
  if (ko.trainer.empty()) ko.trainer = hints.trainer;
  if (ko.output_type.empty()) ko.output_type = hints.output_type;
  if (ko.energy_source.empty()) ko.energy_source = hints.energy_source;
  auto model = KeplerWeightsFromJson(j, ko);
  if (!model.ok()) return model.status().WithContext(what);
  return model;
}

Result<std::unique_ptr<PipelineModel>> FetchFromModelServer(const std::string& endpoint,
                                                            const ModelServerQuery& query,
                                                            const FetchOptions& options) {
  Json body = Json::object();
  body["metrics"] = query.metrics;
  body["output_type"] = query.output_type;
  body["source"] = query.source;
  body["filter"] = query.filter;
  body["trainer_name"] = query.trainer_name;
  body["weight"] = true;
  ModelHints hints;
  hints.output_type = query.output_type;
  hints.energy_source = query.source;
  const std::string what = fmt::format("model server {}", endpoint);

  WATTSON_ASSIGN_OR_RETURN(HttpReply weights, PostJson(endpoint, body.dump(), options));
  if (weights.status == 200) return ModelFromBytes(weights.body, what + " (weight reply)", hints);

  // No weight-trainer model: ask for the archive of whatever model is best.
  body["weight"] = false;
  WATTSON_ASSIGN_OR_RETURN(HttpReply archive_reply, PostJson(endpoint, body.dump(), options));
  if (archive_reply.status == 200) {
    return ModelFromBytes(archive_reply.body, what + " (archive reply)", hints);
  }
  return Status::NotFound(fmt::format("{}: no model for this request (HTTP {}: {})", what,
                                      archive_reply.status, Snippet(archive_reply.body)));
}

}  // namespace wattson::estimator
