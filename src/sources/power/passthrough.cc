#include "sources/power/passthrough.h"

#include <chrono>
#include <cmath>
#include <set>
#include <utility>

#include "common/json_util.h"
#include "fmt/format.h"
#include "httplib.h"

namespace wattson {

namespace {

std::string KindName(bool is_watts) { return is_watts ? "watts" : "joules"; }

std::string Printable(std::string_view s, std::size_t max) {
  std::string out(s.substr(0, max));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace

Result<PassthroughDocument> ParsePassthroughDocument(std::string_view text, std::string_view what,
                                                     std::size_t max_bytes) {
  JsonLimits limits;
  limits.max_bytes = max_bytes;
  limits.max_depth = 8;
  WATTSON_ASSIGN_OR_RETURN(Json doc, ParseJson(text, what, limits));
  const std::string ctx(what);
  if (!doc.is_object()) {
    return Status::InvalidArgument(fmt::format("{}: expected a JSON object", ctx));
  }
  PassthroughDocument out;
  WATTSON_ASSIGN_OR_RETURN(double ts, GetFiniteNumber(doc, "timestamp", ctx));
  if (ts <= 0 || ts > 1e11) {
    return Status::InvalidArgument(
        fmt::format("{}.timestamp: {} is not a time in Unix seconds", ctx, ts));
  }
  out.timestamp = Clock::WallTime(
      std::chrono::duration_cast<Clock::WallTime::duration>(std::chrono::duration<double>(ts)));
  WATTSON_ASSIGN_OR_RETURN(const Json* zones, GetField(doc, "zones", ctx));
  if (!zones->is_array() || zones->empty()) {
    return Status::InvalidArgument(fmt::format("{}.zones: expected a non-empty array", ctx));
  }
  if (zones->size() > 1024) {
    return Status::OutOfRange(fmt::format("{}.zones: more than 1024 entries", ctx));
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (std::size_t i = 0; i < zones->size(); ++i) {
    const Json& z = (*zones)[i];
    const std::string zctx = fmt::format("{}.zones[{}]", ctx, i);
    if (!z.is_object()) return Status::InvalidArgument(zctx + ": expected an object");
    PassthroughEntry e;
    WATTSON_ASSIGN_OR_RETURN(e.zone, GetString(z, "zone", zctx));
    if (!IsKnownZone(e.zone)) {
      return Status::InvalidArgument(fmt::format(
          "{}.zone: '{}' is not one of package, core, uncore, dram, psys, platform, gpu", zctx,
          Printable(e.zone, 40)));
    }
    if (const Json* k = FindField(z, "key")) {
      WATTSON_ASSIGN_OR_RETURN(e.key, AsString(*k, zctx + ".key"));
      if (e.key.empty() || e.key.size() > 64) {
        return Status::InvalidArgument(zctx + ".key: must be 1 to 64 characters");
      }
    } else {
      e.key = std::string(1, '0');  // (not = "0": GCC 12 -O2 reports a false -Wrestrict)
    }
    const Json* watts = FindField(z, "watts");
    const Json* joules = FindField(z, "joules");
    if ((watts == nullptr) == (joules == nullptr)) {
      return Status::InvalidArgument(zctx + ": needs exactly one of \"watts\" and \"joules\"");
    }
    e.is_watts = watts != nullptr;
    WATTSON_ASSIGN_OR_RETURN(e.value, AsFiniteNumber(e.is_watts ? *watts : *joules,
                                                     zctx + (e.is_watts ? ".watts" : ".joules")));
    if (e.value < 0) {
      return Status::InvalidArgument(
          fmt::format("{}.{}: {} is negative", zctx, KindName(e.is_watts), e.value));
    }
    if (!seen.insert({e.zone, e.key}).second) {
      return Status::InvalidArgument(
          fmt::format("{}: zone {} key {} appears twice", zctx, e.zone, Printable(e.key, 64)));
    }
    out.entries.push_back(std::move(e));
  }
  return out;
}

Result<std::string> HttpGetDocument(const std::string& url, Seconds timeout,
                                    std::size_t max_bytes) {
  const auto scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return Status::InvalidArgument(
        fmt::format("'{}': only http:// and https:// URLs are supported", Printable(url, 200)));
  }
  const auto path_start = url.find('/', scheme_end + 3);
  const std::string origin = url.substr(0, path_start);
  const std::string target = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (origin.size() <= scheme_end + 3) {
    return Status::InvalidArgument(fmt::format("'{}': no host", Printable(url, 200)));
  }
  httplib::Client client(origin);
  if (!client.is_valid()) {
    return Status::InvalidArgument(fmt::format("{}: cannot make an HTTP client", url));
  }
  const auto us = static_cast<long long>(timeout.value() * 1e6);
  const auto sec = static_cast<time_t>(us / 1000000);
  const auto usec = static_cast<time_t>(us % 1000000);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  client.set_keep_alive(false);
  client.set_follow_location(false);
  std::string body;
  bool too_big = false;
  httplib::Result res = client.Get(target, [&](const char* data, std::size_t len) {
    if (body.size() + len > max_bytes) {
      too_big = true;
      return false;
    }
    body.append(data, len);
    return true;
  });
  if (too_big) {
    return Status::OutOfRange(fmt::format("{}: the document exceeds {} bytes", url, max_bytes));
  }
  if (!res) {
    return Status::Unavailable(
        fmt::format("{}: GET failed: {}", url, httplib::to_string(res.error())));
  }
  if (res->status != 200) {
    return Status::Unavailable(
        fmt::format("{}: HTTP {}: {}", url, res->status, Printable(body, 200)));
  }
  return body;
}

PassthroughSource::PassthroughSource(std::string what, Fetcher fetch, const Clock& clock,
                                     std::shared_ptr<Logger> logger, PassthroughOptions options)
    : what_(std::move(what)),
      fetch_(std::move(fetch)),
      clock_(clock),
      logger_(logger != nullptr ? std::move(logger) : MakeNullLogger()),
      options_(std::move(options)) {}

std::vector<PassthroughEntry> PassthroughSource::zones() const {
  std::vector<PassthroughEntry> out;
  for (const ZoneState& z : zones_) out.push_back(z.shape);
  return out;
}

Result<PowerReading> PassthroughSource::Read() {
  const Clock::MonoTime now = clock_.Now();
  auto text = fetch_();
  if (!text.ok()) return text.status().WithContext("passthrough");
  WATTSON_ASSIGN_OR_RETURN(PassthroughDocument doc,
                           ParsePassthroughDocument(*text, what_, options_.max_bytes));
  const double age = std::chrono::duration<double>(clock_.WallNow() - doc.timestamp).count();
  if (age > options_.max_age.value()) {
    return Status::Unavailable(
        fmt::format("passthrough {}: stale: the document was written {:.1f} s ago (max age {} s)",
                    what_, age, options_.max_age.value()));
  }
  if (-age > options_.max_age.value()) {
    return Status::Unavailable(fmt::format(
        "passthrough {}: the document is dated {:.1f} s in the future: host and guest clocks "
        "disagree",
        what_, -age));
  }
  if (zones_.empty()) {
    for (const PassthroughEntry& e : doc.entries) {
      ZoneState z;
      z.shape = e;
      z.integrator = PowerIntegrator(options_.max_gap);
      zones_.push_back(std::move(z));
    }
  } else {
    // Same shape as at probe time: the same (zone, key, kind) set, in any order.
    bool same = doc.entries.size() == zones_.size();
    for (std::size_t i = 0; same && i < zones_.size(); ++i) {
      bool found = false;
      for (const PassthroughEntry& e : doc.entries) {
        found = found || (e.zone == zones_[i].shape.zone && e.key == zones_[i].shape.key &&
                          e.is_watts == zones_[i].shape.is_watts);
      }
      same = found;
    }
    if (!same) {
      return Status::InvalidArgument(fmt::format(
          "passthrough {}: the document's zones changed since start-up; restart the agent to "
          "take the new set",
          what_));
    }
  }
  // All checks passed: only now update state, so a rejected document changes nothing.
  for (ZoneState& z : zones_) {
    for (const PassthroughEntry& e : doc.entries) {
      if (e.zone != z.shape.zone || e.key != z.shape.key) continue;
      if (e.is_watts) {
        auto u = z.integrator.Add(now, Watts(e.value));
        if (u.ok() && u->dropped) {
          logger_->warn(
              "passthrough {} {}/{}: no reading for more than {} s; that interval is "
              "not counted",
              what_, z.shape.zone, z.shape.key, options_.max_gap.value());
        }
      } else {
        if (z.last_joules && e.value >= *z.last_joules) {
          z.total_joules += e.value - *z.last_joules;
        } else if (z.last_joules) {
          logger_->warn(
              "passthrough {} {}/{}: energy went back from {} J to {} J (publisher "
              "restarted?); that interval is not counted",
              what_, z.shape.zone, z.shape.key, *z.last_joules, e.value);
        }
        z.last_joules = e.value;
      }
    }
  }
  PowerReading r;
  r.at = now;
  for (const ZoneState& z : zones_) {
    r.zones.push_back({z.shape.zone, z.shape.key,
                       z.shape.is_watts ? z.integrator.total() : Joules(z.total_joules)});
  }
  return r;
}

Result<std::unique_ptr<PassthroughSource>> ProbePassthrough(const HostFs& fs, const Clock& clock,
                                                            std::shared_ptr<Logger> logger,
                                                            PassthroughOptions options) {
  if (options.path.empty() == options.url.empty()) {
    return Status::InvalidArgument("passthrough: set exactly one of a file path and a URL");
  }
  if (!(options.max_age.value() > 0) || !(options.timeout.value() > 0)) {
    return Status::InvalidArgument("passthrough: max age and timeout must be positive");
  }
  std::string what;
  PassthroughSource::Fetcher fetch;
  if (!options.path.empty()) {
    what = options.path;
    fetch = [&fs, path = options.path, max = options.max_bytes]() -> Result<std::string> {
      return fs.ReadFile(path, max);
    };
  } else {
    what = options.url;
    fetch = [url = options.url, timeout = options.timeout, max = options.max_bytes] {
      return HttpGetDocument(url, timeout, max);
    };
  }
  auto source = std::make_unique<PassthroughSource>(std::move(what), std::move(fetch), clock,
                                                    std::move(logger), std::move(options));
  WATTSON_RETURN_IF_ERROR(source->Read().status());
  return source;
}

}  // namespace wattson
