// Fuzzes the estimator's request path: the Kepler/legacy request parser, the document scanner
// that finds the end of an unframed request (fed in pieces), and the whole handler (model
// selection, prediction, the DynPower rule, the reply writer) over two Kepler weight models.
// Invariants: the parser's result is self-consistent; a document the parser accepts is one the
// scanner finds complete at the same place; every reply is valid JSON with a "msg", and a
// successful reply has one finite, non-negative watt per row per component. The same bytes also go
// to the framed protocol's binary decoder and handler (fuzz/corpus has binary requests too): an
// accepted binary request is self-consistent, and every binary reply decodes with one finite,
// non-negative watt per row per component.
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "estimator/binary_codec.h"
#include "estimator/estimator.h"
#include "estimator/model_store.h"
#include "estimator/request.h"
#include "fuzz_util.h"
#include "nlohmann/json.hpp"

namespace {

namespace est = wattson::estimator;

constexpr char kAcpiAbs[] =
    R"({"platform": {"All_Weights": {"Bias_Weight": 220.9079278650894, "Categorical_Variables": )"
    R"({"cpu_architecture": {"Sky Lake": {"weight": 1.5}}}, "Numerical_Variables": )"
    R"({"bpf_cpu_time_ms": {"scale": 5911.969193263386, "weight": 29.028228361462897}}}}})";
constexpr char kRaplDyn[] =
    R"({"package": {"All_Weights": {"CurveFit_Weights": [40.0, 2.5, 3.0], "Numerical_Variables": )"
    R"({"bpf_cpu_time_ms": {"scale": 5911.969193263386}, "bpf_page_cache_hit": {"scale": 0}}}}, )"
    R"("dram": {"All_Weights": {"CurveFit_Weights": [5.0, 1.5, 2.0], "Numerical_Variables": )"
    R"({"bpf_cpu_time_ms": {"scale": 5911.969193263386}}}}})";

// The handler under test, built once (a fuzz harness may keep state across inputs; the store's
// caches are bounded).
est::Estimator& Handler() {
  static est::ModelStore* store = [] {
    const std::string dir =
        (std::filesystem::temp_directory_path() / ("wattson-fuzz-" + std::to_string(::getpid())))
            .string();
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/acpi_AbsPowerModel.json") << kAcpiAbs;
    std::filesystem::create_directories(dir + "/rapl/DynPower/BPFOnly");
    std::ofstream(dir + "/rapl/DynPower/BPFOnly/LogarithmicRegressionTrainer_0.json") << kRaplDyn;
    est::ModelSourceConfig config;
    config.model_dirs = {dir};
    auto s = est::ModelStore::Create(config, nullptr);
    std::filesystem::remove_all(dir);
    if (!s.ok()) wattson::fuzz::Fail("cannot build the fuzz model store");
    return std::move(s).value().release();
  }();
  static est::Estimator estimator(store, {});
  static const bool ready = [] {
    // Both models must load, or the fuzzer would only ever see "no model" replies.
    for (const char* probe :
         {R"({"metrics":["bpf_cpu_time_ms"],"values":[[1]],"output_type":"AbsPower",)"
          R"("source":"acpi"})",
          R"({"metrics":["bpf_cpu_time_ms","bpf_page_cache_hit"],"values":[[1,2],[3,4]],)"
          R"("output_type":"DynPower","source":"intel_rapl"})"}) {
      std::string reply;
      if (estimator.Handle(probe, &reply) != est::Outcome::kOk) {
        std::fprintf(stderr, "probe failed: %s\n", reply.c_str());
        wattson::fuzz::Fail("a fuzz model does not load");
      }
    }
    return true;
  }();
  (void)ready;
  return estimator;
}

bool AllSpace(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

void CheckReply(const std::string& reply) {
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (j.is_discarded() || !j.is_object()) wattson::fuzz::Fail("reply is not a JSON object");
  if (!j.contains("msg") || !j["msg"].is_string()) wattson::fuzz::Fail("reply has no msg");
  if (!j.contains("powers")) wattson::fuzz::Fail("reply has no powers");
  if (j["msg"] != "") return;
  std::size_t rows = 0;
  bool first = true;
  auto check_list = [&](const nlohmann::json& list) {
    if (!list.is_array()) wattson::fuzz::Fail("powers entry is not a list");
    if (!first && list.size() != rows) wattson::fuzz::Fail("components differ in rows");
    rows = list.size();
    first = false;
    for (const auto& w : list) {
      if (!w.is_number()) wattson::fuzz::Fail("a watt is not a number");
      const double v = w.get<double>();
      if (!std::isfinite(v) || v < 0) wattson::fuzz::Fail("a watt is negative or not finite");
    }
  };
  if (j["powers"].is_array()) {
    check_list(j["powers"]);
  } else {
    for (const auto& [k, v] : j["powers"].items()) check_list(v);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = est::ParseEstimateRequest(text);
  if (parsed.ok()) {
    const auto& r = *parsed;
    if (r.rows == 0 || r.metrics.empty()) wattson::fuzz::Fail("accepted an empty request");
    if (r.values.size() != r.rows * r.metrics.size()) wattson::fuzz::Fail("values size mismatch");
    for (double v : r.values) {
      if (!std::isfinite(v)) wattson::fuzz::Fail("accepted a non-finite value");
    }
    if (r.system_features.size() != r.system_values.size()) {
      wattson::fuzz::Fail("system features and values differ in length");
    }
  } else if (parsed.status().message().empty()) {
    wattson::fuzz::Fail("an error without a message");
  }

  // The scanner, fed in pieces whose size comes from the first byte.
  est::DocumentScanner scanner;
  const std::size_t piece = size == 0 ? 1 : 1 + data[0] % 17;
  est::DocumentScanner::State state = est::DocumentScanner::State::kNeedMore;
  for (std::size_t i = 0; i < size && state == est::DocumentScanner::State::kNeedMore; i += piece) {
    state = scanner.Feed(text.substr(i, piece));
  }
  if (state == est::DocumentScanner::State::kComplete && scanner.end() > size) {
    wattson::fuzz::Fail("scanner end beyond the input");
  }
  if (parsed.ok()) {
    if (state != est::DocumentScanner::State::kComplete) {
      wattson::fuzz::Fail("the parser accepted a document the scanner did not complete");
    }
    if (!AllSpace(text.substr(scanner.end()))) {
      wattson::fuzz::Fail("the scanner ended before the end of an accepted document");
    }
  }

  std::string reply;
  (void)Handler().Handle(text, &reply);
  CheckReply(reply);

  auto binary = est::ParseBinaryRequest(text);
  if (binary.ok()) {
    if (binary->rows == 0 || binary->metrics.empty() ||
        binary->values.size() != binary->rows * binary->metrics.size()) {
      wattson::fuzz::Fail("binary: accepted an inconsistent request");
    }
    for (double v : binary->values) {
      if (!std::isfinite(v)) wattson::fuzz::Fail("binary: accepted a non-finite value");
    }
  } else if (binary.status().message().empty()) {
    wattson::fuzz::Fail("binary: an error without a message");
  }
  std::string binary_reply;
  (void)Handler().HandleBinary(text, &binary_reply);
  auto decoded = est::ParseBinaryReply(binary_reply);
  if (!decoded.ok()) wattson::fuzz::Fail("binary: the reply does not decode");
  if (decoded->msg.empty()) {
    if (!binary.ok() || decoded->rows != binary->rows || decoded->components.empty()) {
      wattson::fuzz::Fail("binary: a reply with watts for a request that was refused");
    }
    for (const auto& c : decoded->components) {
      for (double w : c.watts) {
        if (!std::isfinite(w) || w < 0) wattson::fuzz::Fail("binary: a bad watt");
      }
    }
  }
  (void)est::ParseBinaryReply(text);  // the client's decoder on arbitrary bytes
  return 0;
}
