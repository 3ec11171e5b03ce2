// Load driver for `wattson estimator` (issue 4): p50/p99 latency and throughput for 1, 10, 100 and
// 1000 rows with a linear model and a 100-tree gradient-boosting model, 1 and 16 concurrent
// clients, over Kepler's one-request-per-connection protocol and wattson's framed protocol (JSON
// and binary payloads), and the server's peak RSS with ten models loaded. The server runs in a
// child process (this program re-executed with --serve). Prints a Markdown table, with the
// server's own work per request (Estimator::Handle on the same bytes in this process: parse,
// predict, reply; no sockets).
//
// Usage: wattson_estimator_load [--seconds S (per cell, default 1)] [--quick]
//                              [--filter SUBSTRING of protocol/model/rows/clients, e.g.
//                              framed/gbr/100/1; a final $ for that cell only]
//                              [--busy-poll-us N (server; 0 off)]
//                              [--client-busy-poll-us N (client spins before blocking)]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "estimator_bench_common.h"

namespace wattson::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Cell {
  std::string model;
  std::size_t rows;
  int clients;
  std::string protocol;
  double p50_us = 0;
  double p99_us = 0;
  double requests_per_s = 0;
  double rows_per_s = 0;
  std::size_t requests = 0;
  std::size_t failures = 0;
  double handle_us = 0;  // median in-process Estimator::Handle time for this request
};

// Median time of Estimator::Handle on one request's bytes, in this process, over ~0.3 s.
double HandleMedianUs(estimator::Estimator& est, const std::string& request, bool binary) {
  std::string reply;
  std::vector<double> us;
  const auto until = Clock::now() + std::chrono::milliseconds(300);
  while (Clock::now() < until || us.size() < 11) {
    reply.clear();
    const auto t0 = Clock::now();
    binary ? est.HandleBinary(request, &reply) : est.Handle(request, &reply);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::nth_element(us.begin(), us.begin() + static_cast<std::ptrdiff_t>(us.size() / 2), us.end());
  return us[us.size() / 2];
}

bool ReplyLooksRight(const std::string& reply, std::size_t rows) {
  if (reply.rfind("{\"powers\": {\"package\": [", 0) != 0) return false;
  static constexpr std::string_view kTail = ", \"msg\": \"\"}";
  if (reply.size() < kTail.size() ||
      std::string_view(reply).substr(reply.size() - kTail.size()) != kTail) {
    return false;
  }
  // package and dram lists: rows numbers each → 2 * (rows - 1) separators ", " inside lists.
  std::size_t commas = 0;
  for (char c : reply) commas += c == ',';
  return commas == 2 * (rows - 1) + 2;
}

bool BinaryReplyLooksRight(const std::string& reply, std::size_t rows) {
  auto r = estimator::ParseBinaryReply(reply);
  return r.ok() && r->msg.empty() && r->rows == rows && r->components.size() == 2 &&
         r->components[0].name == "package";
}

// protocol: "kepler" (one connection per request), "framed" (JSON payloads on one connection),
// "binary" (framed, version 2 binary payloads).
Cell RunCell(const std::string& socket, int model, std::size_t rows, int clients,
             const std::string& protocol, double seconds, std::chrono::microseconds client_spin) {
  Cell cell;
  cell.model = model == 0 ? "linear" : "gradient boosting (100 trees)";
  cell.rows = rows;
  cell.clients = clients;
  cell.protocol = protocol;
  const bool framed = protocol != "kepler";
  const bool binary = protocol == "binary";
  const std::string request =
      binary ? BenchBinaryRequest(model, rows, static_cast<std::uint32_t>(rows))
             : BenchRequest(model, rows, static_cast<std::uint32_t>(rows));
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
  std::atomic<std::size_t> failures{0};
  std::atomic<bool> go{false};
  const auto warm = std::chrono::milliseconds(100);
  std::vector<std::thread> threads;
  const auto start = Clock::now() + std::chrono::milliseconds(20);
  const auto end =
      start + warm +
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      auto& lat = latencies[static_cast<std::size_t>(t)];
      lat.reserve(200000);
      std::optional<estimator::FramedClient> fc;
      if (framed) {
        auto c = estimator::FramedClient::Connect(socket, std::chrono::seconds(10));
        if (!c.ok()) {
          ++failures;
          return;
        }
        fc.emplace(std::move(c).value());
        fc->set_busy_poll(client_spin);
      }
      while (Clock::now() < start) std::this_thread::yield();
      for (;;) {
        const auto t0 = Clock::now();
        if (t0 >= end) break;
        Result<std::string> reply =
            framed ? fc->Call(request)
                   : estimator::KeplerRoundTrip(socket, request, std::chrono::seconds(10),
                                                std::size_t{256} << 20, client_spin);
        const auto t1 = Clock::now();
        if (!reply.ok() ||
            !(binary ? BinaryReplyLooksRight(*reply, rows) : ReplyLooksRight(*reply, rows))) {
          if (failures.fetch_add(1) == 0) {
            std::fprintf(
                stderr, "bad reply: %s\n",
                reply.ok() ? reply->substr(0, 200).c_str() : reply.status().ToString().c_str());
          }
          if (framed) return;
          continue;
        }
        if (t0 >= start + warm) {
          lat.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        }
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  cell.requests = all.size();
  cell.failures = failures.load();
  if (!all.empty()) {
    cell.p50_us = all[all.size() / 2];
    cell.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
    cell.requests_per_s = static_cast<double>(all.size()) / seconds;
    cell.rows_per_s = cell.requests_per_s * static_cast<double>(rows);
  }
  return cell;
}

std::string Human(double v) {
  char buf[32];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2f M", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1f k", v / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  }
  return buf;
}

int Main(int argc, char** argv) {
  if (argc >= 6 && std::strcmp(argv[1], "--serve") == 0) {
    return ServeMain(argv[2], argv[3], std::stoul(argv[4]), std::stoi(argv[5]));
  }
  double seconds = 1.0;
  bool quick = false;
  std::string filter;
  std::chrono::microseconds client_spin{0};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
      filter = argv[++i];
    } else if (std::strcmp(argv[i], "--busy-poll-us") == 0 && i + 1 < argc) {
      // The server's busy-poll (ServerOptions::busy_poll), passed to the child's environment.
      ::setenv("WATTSON_ESTIMATOR_BUSY_POLL_US", argv[++i], 1);
    } else if (std::strcmp(argv[i], "--client-busy-poll-us") == 0 && i + 1 < argc) {
      client_spin = std::chrono::microseconds(std::stol(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: %s [--seconds S] [--quick] [--filter protocol/model/rows/clients] "
                   "[--busy-poll-us N] [--client-busy-poll-us N]\n",
                   argv[0]);
      return 2;
    }
  }
  const std::string dir = MakeTempDir("wattson-estimator-load");
  if (dir.empty() || !WriteBenchModels(dir + "/models")) {
    std::fprintf(stderr, "cannot write the bench models\n");
    return 1;
  }
  const std::string socket = dir + "/estimator.sock";
  const pid_t server = StartServerChild(dir + "/models", socket, std::size_t{16} << 20, 10000);
  if (server < 0) {
    std::fprintf(stderr, "the server did not start\n");
    return 1;
  }
  const Rss idle = ReadRss(server);
  // Load all ten models (one request each).
  for (int m = 0; m < 10; ++m) {
    auto r = estimator::KeplerRoundTrip(socket, BenchRequest(m, 1, 1), std::chrono::seconds(10));
    if (!r.ok() || r->find("\"msg\": \"\"") == std::string::npos) {
      std::fprintf(stderr, "model %d: %s\n", m,
                   r.ok() ? r->c_str() : r.status().ToString().c_str());
      StopServerChild(server);
      return 1;
    }
  }
  const Rss loaded = ReadRss(server);

  // The same models in this process, for the server-work column.
  estimator::ModelSourceConfig sources;
  sources.model_dirs = {dir + "/models"};
  sources.trainer_match = estimator::TrainerMatch::kStrict;
  auto local_store =
      estimator::ModelStore::Create(sources, MakeStderrLogger("local", spdlog::level::warn));
  if (!local_store.ok()) {
    std::fprintf(stderr, "local models: %s\n", local_store.status().ToString().c_str());
    StopServerChild(server);
    return 1;
  }
  estimator::Estimator local(local_store->get(), {});

  std::vector<Cell> cells;
  const std::vector<std::size_t> row_counts =
      quick ? std::vector<std::size_t>{1, 100} : std::vector<std::size_t>{1, 10, 100, 1000};
  for (const std::string protocol : {"kepler", "framed", "binary"}) {
    for (int model : {0, 1}) {
      for (std::size_t rows : row_counts) {
        for (int clients : {1, 16}) {
          const std::string name = protocol + "/" + (model == 0 ? "linear" : "gbr") + "/" +
                                   std::to_string(rows) + "/" + std::to_string(clients);
          if (!filter.empty()) {
            // "NAME$" selects that cell only; otherwise any cell whose name contains the filter.
            const bool exact = filter.back() == '$';
            if (exact ? name != filter.substr(0, filter.size() - 1)
                      : name.find(filter) == std::string::npos) {
              continue;
            }
          }
          cells.push_back(RunCell(socket, model, rows, clients, protocol, seconds, client_spin));
          Cell& c = cells.back();
          c.handle_us = protocol == "binary"
                            ? HandleMedianUs(local, BenchBinaryRequest(model, rows, 7), true)
                            : HandleMedianUs(local, BenchRequest(model, rows, 7), false);
          std::fprintf(stderr,
                       "%-6s %-30s rows=%-5zu clients=%-2d p50=%.1fus p99=%.1fus %s req/s\n",
                       c.protocol.c_str(), c.model.c_str(), c.rows, c.clients, c.p50_us, c.p99_us,
                       Human(c.requests_per_s).c_str());
        }
      }
    }
  }
  const Rss end = ReadRss(server);
  const int status = StopServerChild(server);
  std::filesystem::remove_all(dir);

  std::printf(
      "| protocol | model | rows | clients | p50 µs | p99 µs | requests/s | rows/s | failures | "
      "server work µs |\n");
  std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const auto& c : cells) {
    std::printf("| %s | %s | %zu | %d | %.1f | %.1f | %s | %s | %zu | %.1f |\n", c.protocol.c_str(),
                c.model.c_str(), c.rows, c.clients, c.p50_us, c.p99_us,
                Human(c.requests_per_s).c_str(), Human(c.rows_per_s).c_str(), c.failures,
                c.handle_us);
  }
  std::printf(
      "\nserver work: the median time of Estimator::Handle (parse, predict, write the reply) on "
      "the same request in the driver's own process, no sockets or threads.\n");
  std::printf(
      "\nServer RSS: %.1f MiB at start, %.1f MiB with ten models loaded, peak %.1f MiB "
      "over the whole run (VmHWM); exit status %d.\n",
      static_cast<double>(idle.current) / (1 << 20),
      static_cast<double>(loaded.current) / (1 << 20), static_cast<double>(end.peak) / (1 << 20),
      status);
  const char* server_spin = std::getenv("WATTSON_ESTIMATOR_BUSY_POLL_US");
  std::printf("Server busy-poll: %s µs; client busy-poll: %lld µs (0: the client blocks).\n",
              server_spin != nullptr ? server_spin : "default",
              static_cast<long long>(client_spin.count()));
  std::size_t failures = 0;
  for (const auto& c : cells) failures += c.failures;
  return failures == 0 && status == 0 ? 0 : 1;
}

}  // namespace
}  // namespace wattson::bench

int main(int argc, char** argv) { return wattson::bench::Main(argc, argv); }
