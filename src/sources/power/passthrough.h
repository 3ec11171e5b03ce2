// Passthrough: power a host publishes for this machine (typically a VM, which cannot see the
// host's meters), read from a file or an HTTP(S) URL (Kepler's "power passthrough" scenario).
//
// Document format: one JSON object of at most PassthroughOptions::max_bytes:
//   {
//     "timestamp": 1714000000.25,                           // required: when the host wrote it,
//                                                           // Unix seconds (UTC)
//     "zones": [                                            // required, non-empty
//       {"zone": "platform", "watts": 41.2},                // instantaneous power
//       {"zone": "package", "key": "0", "joules": 123456.7} // cumulative energy, any origin
//     ]
//   }
// zone is one of package, core, uncore, dram, psys, platform, gpu; key (default "0") tells
// instances apart; each entry has exactly one of "watts" or "joules" (finite, ≥ 0). Watts are
// integrated over the measured time between this machine's reads (trapezoid); joules are taken as
// a cumulative counter (a decrease, e.g. the publisher restarted, drops that interval). The set of
// zones and their kinds must stay as it was at probe time.
//
// Staleness: the document's timestamp is the freshness signal for both files and URLs (HostFs does
// not expose mtimes, and HTTP has none): a document older than max_age, or dated more than max_age
// in the future (host and guest clocks disagree), makes Read() fail instead of returning old
// numbers. The host and this machine must keep their wall clocks in sync (NTP).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/host_fs.h"
#include "common/logging.h"
#include "sources/power/energy_counter.h"
#include "sources/power/power_source.h"

namespace wattson {

struct PassthroughOptions {
  std::string path;  // host path of the file, read through HostFs; or
  std::string url;   // "http://..." or "https://..." (exactly one of path and url)
  Seconds max_age = Seconds(15.0);
  Seconds timeout = Seconds(1.0);  // HTTP connect / read / write timeout each
  // Watts samples further apart than this are not integrated (that interval is dropped).
  Seconds max_gap = Seconds(60.0);
  std::size_t max_bytes = 1u << 20;
};

struct PassthroughEntry {
  std::string zone;
  std::string key;
  bool is_watts = false;  // else joules
  double value = 0;
};

struct PassthroughDocument {
  Clock::WallTime timestamp;
  std::vector<PassthroughEntry> entries;
};

// Parses and validates a document (format above). what names it in errors.
Result<PassthroughDocument> ParsePassthroughDocument(std::string_view text, std::string_view what,
                                                     std::size_t max_bytes = 1u << 20);

// GETs url (http or https) with the given timeout; the body must be at most max_bytes. Non-200
// replies and transport failures are Unavailable.
Result<std::string> HttpGetDocument(const std::string& url, Seconds timeout, std::size_t max_bytes);

class PassthroughSource final : public PowerSource {
 public:
  using Fetcher = std::function<Result<std::string>()>;

  // what: the file path or URL, for messages. fetch returns the current document text.
  PassthroughSource(std::string what, Fetcher fetch, const Clock& clock,
                    std::shared_ptr<Logger> logger, PassthroughOptions options);
  std::string name() const override { return "passthrough"; }
  Result<PowerReading> Read() override;
  const std::string& what() const { return what_; }
  // The zones fixed by the first good read (empty before it); value is that read's value.
  std::vector<PassthroughEntry> zones() const;

 private:
  struct ZoneState {
    PassthroughEntry shape;  // zone, key, kind
    std::optional<double> last_joules;
    double total_joules = 0;
    PowerIntegrator integrator{Seconds(60.0)};
  };

  std::string what_;
  Fetcher fetch_;
  const Clock& clock_;
  std::shared_ptr<Logger> logger_;
  PassthroughOptions options_;
  std::vector<ZoneState> zones_;  // empty until the first good read
};

// Builds the source for options.path (through fs) or options.url and reads it once (the baseline),
// which also fixes its set of zones. InvalidArgument for bad options; the fetch, parse or staleness
// error otherwise.
Result<std::unique_ptr<PassthroughSource>> ProbePassthrough(const HostFs& fs, const Clock& clock,
                                                            std::shared_ptr<Logger> logger,
                                                            PassthroughOptions options);

}  // namespace wattson
