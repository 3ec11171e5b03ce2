#include "estimator/request.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <utility>

#include "fmt/format.h"
#include "models/feature_groups.h"

namespace wattson::estimator {

namespace {

constexpr std::size_t kMaxNumberChars = 512;
constexpr std::size_t kMaxKeyBytes = 64;

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Field bits, to reject duplicates.
enum Field : unsigned {
  kMetrics = 1u << 0,
  kValues = 1u << 1,
  kOutputType = 1u << 2,
  kSource = 1u << 3,
  kSystemFeatures = 1u << 4,
  kSystemValues = 1u << 5,
  kTrainerName = 1u << 6,
  kFilter = 1u << 7,
  kModelName = 1u << 8,
};

constexpr std::string_view kKnownFields =
    "metrics, values, output_type, source, system_features, system_values, trainer_name, filter "
    "(or the legacy model_name)";

// A strict reader of exactly the request schema. Every method returns an error rather than
// reading past the end of the text.
class Parser {
 public:
  Parser(std::string_view text, const RequestLimits& limits) : t_(text), limits_(limits) {}

  Status Parse(EstimateRequest* out);

 private:
  bool AtEnd() const { return pos_ >= t_.size(); }
  char Peek() const { return t_[pos_]; }
  void SkipSpace() {
    while (pos_ < t_.size() && IsJsonSpace(t_[pos_])) ++pos_;
  }
  // What kind of JSON value starts at pos_, for type errors ("got a number").
  std::string_view KindHere() const;
  Status Syntax(std::string_view expected) const;
  // After an element of an array (close = ']') or object ('}'): consumes ',' and sets *more, or
  // the closing bracket and clears it; anything else is a syntax error.
  Status AfterElement(char close, bool* more);
  Status TypeError(std::string_view ctx, std::string_view expected) const;
  bool TryLiteral(std::string_view word);

  Status ReadString(std::string_view ctx, std::size_t max_bytes, std::string* out);
  Status ReadNumber(std::string_view ctx_prefix, std::size_t row, std::size_t col, double* out);
  // The common number form in one pass: [-](0|[1-9][0-9]*)(.[0-9]+)? with at most 15 significant
  // digits and no exponent. False (pos_ unchanged) for anything else, which ReadNumber then reads
  // or reports.
  bool TryShortNumber(double* out);
  // A string, or null (→ "") when allow_null.
  Status ReadStringField(std::string_view ctx, bool allow_null, std::string* out);
  // An array of strings, or null (→ empty).
  Status ReadStringArray(std::string_view ctx, std::size_t max_items, std::size_t max_bytes,
                         std::vector<std::string>* out);
  Status ReadValues(EstimateRequest* out);

  std::string_view t_;
  const RequestLimits& limits_;
  std::size_t pos_ = 0;
};

std::string_view Parser::KindHere() const {
  if (AtEnd()) return "the end of the request";
  switch (Peek()) {
    case '"':
      return "a string";
    case '{':
      return "an object";
    case '[':
      return "an array";
    case 't':
    case 'f':
      return "a boolean";
    case 'n':
      return "null";
    case 'N':
    case 'I':
      return "NaN/Infinity";
    default:
      break;
  }
  if (Peek() == '-' || IsDigit(Peek())) return "a number";
  return "an invalid token";
}

Status Parser::Syntax(std::string_view expected) const {
  if (AtEnd()) {
    return Status::InvalidArgument(fmt::format(
        "malformed JSON: the request ends at byte {} where {} was expected", pos_, expected));
  }
  return Status::InvalidArgument(fmt::format("malformed JSON at byte {}: expected {}, got '{}'",
                                             pos_, expected, Printable(t_.substr(pos_, 1))));
}

Status Parser::AfterElement(char close, bool* more) {
  SkipSpace();
  if (!AtEnd() && (Peek() == ',' || Peek() == close)) {
    *more = Peek() == ',';
    ++pos_;
    return Status::Ok();
  }
  return Syntax(close == ']' ? "',' or ']'" : "',' or '}'");
}

Status Parser::TypeError(std::string_view ctx, std::string_view expected) const {
  return Status::InvalidArgument(fmt::format("{}: expected {}, got {}", ctx, expected, KindHere()));
}

bool Parser::TryLiteral(std::string_view word) {
  if (t_.substr(pos_, word.size()) == word) {
    pos_ += word.size();
    return true;
  }
  return false;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

Status Parser::ReadString(std::string_view ctx, std::size_t max_bytes, std::string* out) {
  if (AtEnd() || Peek() != '"') return TypeError(ctx, "a string");
  ++pos_;
  out->clear();
  for (;;) {
    std::size_t run = pos_;
    while (run < t_.size() && t_[run] != '"' && t_[run] != '\\' &&
           static_cast<unsigned char>(t_[run]) >= 0x20) {
      ++run;
    }
    out->append(t_.data() + pos_, run - pos_);
    pos_ = run;
    if (out->size() > max_bytes) {
      return Status::InvalidArgument(fmt::format("{}: longer than {} bytes", ctx, max_bytes));
    }
    if (AtEnd()) return Syntax("the closing '\"' of a string");
    const char c = Peek();
    if (c == '"') {
      ++pos_;
      return Status::Ok();
    }
    if (c != '\\') {
      return Status::InvalidArgument(fmt::format(
          "malformed JSON at byte {}: control character 0x{:02x} inside a string (escape it)", pos_,
          static_cast<unsigned>(static_cast<unsigned char>(c))));
    }
    ++pos_;
    if (AtEnd()) return Syntax("an escape sequence");
    const char e = Peek();
    ++pos_;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out->push_back(e);
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        auto read_hex4 = [this](std::uint32_t* v) {
          if (t_.size() - pos_ < 4) return false;
          std::uint32_t x = 0;
          for (int i = 0; i < 4; ++i) {
            const int h = HexValue(t_[pos_ + static_cast<std::size_t>(i)]);
            if (h < 0) return false;
            x = x * 16 + static_cast<std::uint32_t>(h);
          }
          pos_ += 4;
          *v = x;
          return true;
        };
        std::uint32_t cp = 0;
        if (!read_hex4(&cp)) return Syntax("four hex digits after \\u");
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return Status::InvalidArgument(
              fmt::format("malformed JSON at byte {}: lone low surrogate \\u{:04x}", pos_ - 6, cp));
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          std::uint32_t lo = 0;
          if (t_.substr(pos_, 2) != "\\u") return Syntax("a low surrogate \\uDC00-\\uDFFF");
          pos_ += 2;
          if (!read_hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) {
            return Syntax("a low surrogate \\uDC00-\\uDFFF");
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        AppendUtf8(cp, out);
        break;
      }
      default:
        --pos_;
        return Syntax("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
    }
  }
}

// Powers of ten that are exact doubles.
constexpr double kExactPow10[] = {1e0, 1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7, 1e8,
                                  1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16};

bool Parser::TryShortNumber(double* out) {
  // Clinger's fast path: the digits form an integer below 10^15 < 2^53 and 10^fraction is exact,
  // so one IEEE division gives the correctly rounded value, the bits strtod gives.
  const char* p = t_.data() + pos_;
  const char* const end = t_.data() + t_.size();
  const bool negative = p != end && *p == '-';
  if (negative) ++p;
  if (p == end || !IsDigit(*p)) return false;
  std::uint64_t mantissa = 0;
  int digits = 0;
  if (*p == '0') {
    ++p;
    if (p != end && IsDigit(*p)) return false;  // a leading zero: ReadNumber reports it
  } else {
    for (; p != end && IsDigit(*p); ++p) {
      if (++digits > 15) return false;
      mantissa = mantissa * 10 + static_cast<std::uint64_t>(*p - '0');
    }
  }
  int fraction = 0;
  if (p != end && *p == '.') {
    ++p;
    if (p == end || !IsDigit(*p)) return false;
    for (; p != end && IsDigit(*p); ++p) {
      if (++digits > 15) return false;
      mantissa = mantissa * 10 + static_cast<std::uint64_t>(*p - '0');
      ++fraction;
    }
  }
  if (p != end && (*p == 'e' || *p == 'E')) return false;
  double v = static_cast<double>(mantissa);
  if (fraction > 0) v /= kExactPow10[fraction];
  *out = negative ? -v : v;
  pos_ = static_cast<std::size_t>(p - t_.data());
  return true;
}

Status Parser::ReadNumber(std::string_view ctx, std::size_t row, std::size_t col, double* out) {
  auto where = [&] { return fmt::format("{}[{}][{}]", ctx, row, col); };
  const std::size_t start = pos_;
  if (!AtEnd() && Peek() == '-') ++pos_;
  if (AtEnd()) return Syntax("a number");
  if (!IsDigit(Peek())) {
    if (t_.substr(pos_, 3) == "NaN" || t_.substr(pos_, 8) == "Infinity" ||
        t_.substr(pos_, 3) == "nan" || t_.substr(pos_, 3) == "inf") {
      return Status::InvalidArgument(fmt::format(
          "{}: NaN and Infinity are not allowed (every value must be a finite number)", where()));
    }
    pos_ = start;
    return TypeError(where(), "a number");
  }
  if (Peek() == '0') {
    ++pos_;
  } else {
    while (!AtEnd() && IsDigit(Peek())) ++pos_;
  }
  if (!AtEnd() && Peek() == '.') {
    ++pos_;
    if (AtEnd() || !IsDigit(Peek())) return Syntax("a digit after the decimal point");
    while (!AtEnd() && IsDigit(Peek())) ++pos_;
  }
  const bool has_exponent = !AtEnd() && (Peek() == 'e' || Peek() == 'E');
  if (has_exponent) {
    ++pos_;
    if (!AtEnd() && (Peek() == '+' || Peek() == '-')) ++pos_;
    if (AtEnd() || !IsDigit(Peek())) return Syntax("a digit in the exponent");
    while (!AtEnd() && IsDigit(Peek())) ++pos_;
  }
  const std::size_t len = pos_ - start;
  if (len > kMaxNumberChars) {
    return Status::InvalidArgument(
        fmt::format("{}: a number of {} characters is too long", where(), len));
  }
  const char* first = t_.data() + start;
  if (!has_exponent && len <= 17) {
    // Fast path (Clinger): at most 15 significant digits and no exponent. The digits form an
    // integer below 2^53 and 10^fraction_digits is exact, so one IEEE division gives the
    // correctly rounded value, exactly what from_chars returns.
    std::uint64_t mantissa = 0;
    std::size_t digits = 0;
    std::size_t fraction = 0;
    bool in_fraction = false;
    for (const char* p = first; p != first + len; ++p) {
      if (*p == '.') {
        in_fraction = true;
      } else if (*p != '-') {
        mantissa = mantissa * 10 + static_cast<std::uint64_t>(*p - '0');
        ++digits;
        fraction += in_fraction ? 1 : 0;
      }
    }
    if (digits <= 15) {
      double v = static_cast<double>(mantissa);
      if (fraction > 0) v /= kExactPow10[fraction];
      *out = *first == '-' ? -v : v;
      return Status::Ok();
    }
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(first, first + len, v);
  if (ec == std::errc::result_out_of_range) {
    // Overflow is an error; underflow (1e-400) rounds to zero or a subnormal, as strtod does.
    std::string copy(first, len);
    v = std::strtod(copy.c_str(), nullptr);
    if (!std::isfinite(v) || std::abs(v) > 1.0) {
      return Status::InvalidArgument(
          fmt::format("{}: {} is not a finite double", where(), Printable(copy)));
    }
  } else if (ec != std::errc() || ptr != first + len) {
    return Status::InvalidArgument(fmt::format("{}: unreadable number", where()));
  }
  *out = v;
  return Status::Ok();
}

Status Parser::ReadStringField(std::string_view ctx, bool allow_null, std::string* out) {
  if (allow_null && TryLiteral("null")) {
    out->clear();
    return Status::Ok();
  }
  return ReadString(ctx, limits_.max_string_bytes, out);
}

Status Parser::ReadStringArray(std::string_view ctx, std::size_t max_items, std::size_t max_bytes,
                               std::vector<std::string>* out) {
  out->clear();
  if (TryLiteral("null")) return Status::Ok();
  if (AtEnd() || Peek() != '[') return TypeError(ctx, "an array of strings");
  ++pos_;
  SkipSpace();
  if (!AtEnd() && Peek() == ']') {
    ++pos_;
    return Status::Ok();
  }
  std::string item;
  for (;;) {
    SkipSpace();
    if (out->size() >= max_items) {
      return Status::InvalidArgument(fmt::format("{}: more than {} items", ctx, max_items));
    }
    const std::string item_ctx = fmt::format("{}[{}]", ctx, out->size());
    if (AtEnd() || Peek() != '"') return TypeError(item_ctx, "a string");
    WATTSON_RETURN_IF_ERROR(ReadString(item_ctx, max_bytes, &item));
    out->push_back(item);
    bool more = false;
    WATTSON_RETURN_IF_ERROR(AfterElement(']', &more));
    if (!more) return Status::Ok();
  }
}

Status Parser::ReadValues(EstimateRequest* out) {
  out->rows = 0;
  out->values.clear();
  if (TryLiteral("null")) return Status::Ok();
  if (AtEnd() || Peek() != '[') return TypeError("values", "an array of rows");
  ++pos_;
  SkipSpace();
  if (!AtEnd() && Peek() == ']') {
    ++pos_;
    return Status::Ok();
  }
  std::size_t width = 0;
  const std::size_t values_start = pos_;
  for (;;) {
    SkipSpace();
    const std::size_t r = out->rows;
    if (AtEnd() || Peek() != '[') {
      return TypeError(fmt::format("values[{}]", r), "an array of numbers (one row)");
    }
    ++pos_;
    SkipSpace();
    std::size_t col = 0;
    if (!AtEnd() && Peek() == ']') {
      ++pos_;
    } else {
      for (;;) {
        SkipSpace();
        double v = 0;
        if (!TryShortNumber(&v)) WATTSON_RETURN_IF_ERROR(ReadNumber("values", r, col, &v));
        out->values.push_back(v);
        ++col;
        // The usual separators directly after a number; anything else through AfterElement.
        if (!AtEnd() && Peek() == ',') {
          ++pos_;
          continue;
        }
        if (!AtEnd() && Peek() == ']') {
          ++pos_;
          break;
        }
        bool more = false;
        WATTSON_RETURN_IF_ERROR(AfterElement(']', &more));
        if (!more) break;
      }
    }
    if (r == 0) {
      width = col;
      // Reserve for the rows the rest of the text can hold at the first row's length, so the
      // matrix is not reallocated (and copied) as it grows. Bounded by the text's size.
      const std::size_t row_bytes = std::max<std::size_t>(1, pos_ - values_start);
      out->values.reserve(width * ((t_.size() - values_start) / row_bytes + 1));
    } else if (col != width) {
      return Status::InvalidArgument(fmt::format(
          "values[{}]: {} numbers, but values[0] has {} (every row needs one number per metric)", r,
          col, width));
    }
    ++out->rows;
    bool more = false;
    WATTSON_RETURN_IF_ERROR(AfterElement(']', &more));
    if (!more) break;
  }
  return Status::Ok();
}

Status ValidateNames(std::string_view ctx, const std::vector<std::string>& names) {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) return Status::InvalidArgument(fmt::format("{}[{}] is empty", ctx, i));
    if (!seen.insert(names[i]).second) {
      return Status::InvalidArgument(
          fmt::format("{}: \"{}\" is listed twice", ctx, Printable(names[i])));
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateRequestShape(const EstimateRequest& request) {
  if (request.metrics.empty())
    return Status::InvalidArgument("metrics is empty (no feature names)");
  WATTSON_RETURN_IF_ERROR(ValidateNames("metrics", request.metrics));
  if (request.rows == 0) {
    return Status::InvalidArgument(
        "values has no rows (send one row of metric values per process, or one node row)");
  }
  const std::size_t width = request.values.size() / request.rows;
  if (width != request.metrics.size()) {
    return Status::InvalidArgument(
        fmt::format("values rows have {} numbers but metrics names {} features", width,
                    request.metrics.size()));
  }
  if (request.system_features.size() != request.system_values.size()) {
    return Status::InvalidArgument(
        fmt::format("system_features names {} features but system_values has {} values",
                    request.system_features.size(), request.system_values.size()));
  }
  WATTSON_RETURN_IF_ERROR(ValidateNames("system_features", request.system_features));
  for (const auto& f : request.system_features) {
    for (const auto& m : request.metrics) {
      if (f == m) {
        return Status::InvalidArgument(
            fmt::format("\"{}\" is both a metric and a system feature", Printable(f)));
      }
    }
  }
  return Status::Ok();
}

Status SetKeplerTypeAndSource(std::string_view output_type, std::string_view wire_source,
                              bool source_null, EstimateRequest* out) {
  std::string source(wire_source);
  if (output_type == "AbsPower") {
    out->output_type = OutputType::kAbsPower;
  } else if (output_type == "DynPower") {
    out->output_type = OutputType::kDynPower;
  } else {
    return Status::InvalidArgument(fmt::format(
        "output type \"{}\" is not supported (AbsPower or DynPower)", Printable(output_type)));
  }
  if (source_null) source = "rapl-sysfs";  // kepler-model-server's rule for a null source
  const std::string normalised = NormaliseEnergySource(source);
  if (!IsKnownEnergySource(normalised)) {
    return Status::InvalidArgument(
        fmt::format("source \"{}\" is not an energy source (intel_rapl, rapl-sysfs, rapl-msr, "
                    "trained_power_model, acpi, redfish, hmc)",
                    Printable(source)));
  }
  auto comps = EnergySourceComponents(normalised);
  const bool platform = comps.ok() && comps->size() == 1 && comps->front() == Component::kPlatform;
  out->source = platform ? normalised : std::string("rapl-sysfs");
  return Status::Ok();
}

namespace {

Status Parser::Parse(EstimateRequest* out) {
  *out = EstimateRequest();
  SkipSpace();
  if (AtEnd()) return Status::InvalidArgument("empty request (expected a JSON object)");
  if (Peek() != '{') {
    return Status::InvalidArgument(
        fmt::format("a request must be a JSON object, got {}", KindHere()));
  }
  ++pos_;
  unsigned seen = 0;
  std::string output_type;
  std::string source;
  bool source_null = false;
  std::string key;
  SkipSpace();
  if (!AtEnd() && Peek() == '}') {
    ++pos_;
  } else {
    for (;;) {
      SkipSpace();
      if (AtEnd() || Peek() != '"') return Syntax("a field name in double quotes");
      WATTSON_RETURN_IF_ERROR(ReadString("field name", kMaxKeyBytes, &key));
      SkipSpace();
      if (AtEnd() || Peek() != ':') return Syntax("':'");
      ++pos_;
      SkipSpace();
      unsigned bit = 0;
      if (key == "metrics") {
        bit = kMetrics;
      } else if (key == "values") {
        bit = kValues;
      } else if (key == "output_type") {
        bit = kOutputType;
      } else if (key == "source") {
        bit = kSource;
      } else if (key == "system_features") {
        bit = kSystemFeatures;
      } else if (key == "system_values") {
        bit = kSystemValues;
      } else if (key == "trainer_name") {
        bit = kTrainerName;
      } else if (key == "filter") {
        bit = kFilter;
      } else if (key == "model_name") {
        bit = kModelName;
      } else {
        return Status::InvalidArgument(
            fmt::format("unknown field \"{}\" (a request has {})", Printable(key), kKnownFields));
      }
      if ((seen & bit) != 0) {
        return Status::InvalidArgument(fmt::format("field \"{}\" appears twice", key));
      }
      seen |= bit;
      switch (bit) {
        case kMetrics:
          WATTSON_RETURN_IF_ERROR(ReadStringArray("metrics", limits_.max_metrics,
                                                  limits_.max_name_bytes, &out->metrics));
          break;
        case kValues:
          WATTSON_RETURN_IF_ERROR(ReadValues(out));
          break;
        case kOutputType:
          WATTSON_RETURN_IF_ERROR(ReadStringField("output_type", false, &output_type));
          break;
        case kSource:
          source_null = TryLiteral("null");
          if (!source_null) WATTSON_RETURN_IF_ERROR(ReadStringField("source", false, &source));
          break;
        case kSystemFeatures:
          WATTSON_RETURN_IF_ERROR(ReadStringArray("system_features", limits_.max_system_features,
                                                  limits_.max_name_bytes, &out->system_features));
          break;
        case kSystemValues:
          WATTSON_RETURN_IF_ERROR(ReadStringArray("system_values", limits_.max_system_features,
                                                  limits_.max_string_bytes, &out->system_values));
          break;
        case kTrainerName:
          WATTSON_RETURN_IF_ERROR(ReadStringField("trainer_name", true, &out->trainer_name));
          break;
        case kFilter:
          WATTSON_RETURN_IF_ERROR(ReadStringField("filter", true, &out->filter));
          break;
        case kModelName:
          WATTSON_RETURN_IF_ERROR(ReadStringField("model_name", true, &out->model_name));
          break;
        default:
          break;
      }
      bool more = false;
      WATTSON_RETURN_IF_ERROR(AfterElement('}', &more));
      if (!more) break;
    }
  }
  SkipSpace();
  if (!AtEnd()) {
    return Status::InvalidArgument(
        fmt::format("unexpected data after the request object at byte {}", pos_));
  }

  // Semantics.
  if ((seen & kMetrics) == 0) return Status::InvalidArgument("missing field \"metrics\"");
  if ((seen & kValues) == 0) return Status::InvalidArgument("missing field \"values\"");
  if ((seen & kOutputType) == 0) return Status::InvalidArgument("missing field \"output_type\"");
  WATTSON_RETURN_IF_ERROR(ValidateRequestShape(*out));

  const bool legacy = (seen & kModelName) != 0 || (seen & kSource) == 0;
  out->shape = legacy ? RequestShape::kLegacy : RequestShape::kKepler;
  if (!legacy) return SetKeplerTypeAndSource(output_type, source, source_null, out);

  // Legacy kepler-estimator: the output type names the level and the component split.
  struct LegacyType {
    std::string_view name;
    OutputType type;
    bool components;
  };
  static constexpr LegacyType kLegacyTypes[] = {
      {"AbsPower", OutputType::kAbsPower, false},
      {"AbsComponentPower", OutputType::kAbsPower, true},
      {"DynPower", OutputType::kDynPower, false},
      {"DynComponentPower", OutputType::kDynPower, true},
  };
  for (const auto& lt : kLegacyTypes) {
    if (output_type == lt.name) {
      out->output_type = lt.type;
      out->source = lt.components ? "rapl-sysfs" : "acpi";
      out->legacy_list_reply = !lt.components;
      return Status::Ok();
    }
  }
  if (output_type.find("ModelWeight") != std::string::npos) {
    return Status::InvalidArgument(fmt::format(
        "output type {} is not supported: weights are served by the model server (POST /model)",
        Printable(output_type)));
  }
  return Status::InvalidArgument(
      fmt::format("output type \"{}\" is not supported (AbsPower, DynPower, AbsComponentPower, "
                  "DynComponentPower)",
                  Printable(output_type)));
}

}  // namespace

Result<EstimateRequest> ParseEstimateRequest(std::string_view text, const RequestLimits& limits) {
  EstimateRequest req;
  Parser parser(text, limits);
  Status s = parser.Parse(&req);
  if (!s.ok()) return s;
  return req;
}

DocumentScanner::State DocumentScanner::Fail(std::string message) {
  state_ = State::kError;
  error_ = std::move(message);
  return state_;
}

DocumentScanner::State DocumentScanner::Feed(std::string_view bytes) {
  if (state_ != State::kNeedMore) return state_;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (in_string_) {
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    if (IsJsonSpace(c)) continue;
    if (!started_) {
      started_ = true;
      if (c != '{') {
        offset_ += i;
        return Fail(fmt::format("a request must be a JSON object starting with '{{', got '{}'",
                                Printable(std::string_view(&bytes[i], 1))));
      }
    }
    switch (c) {
      case '"':
        in_string_ = true;
        break;
      case '{':
      case '[':
        if (depth_ >= kMaxDepth) {
          return Fail(fmt::format("JSON nested more than {} levels deep", kMaxDepth));
        }
        if (c == '[') {
          array_bits_ |= std::uint64_t{1} << depth_;
        } else {
          array_bits_ &= ~(std::uint64_t{1} << depth_);
        }
        ++depth_;
        break;
      case '}':
      case ']': {
        const bool is_array = ((array_bits_ >> (depth_ - 1)) & 1u) != 0;
        if (is_array != (c == ']')) {
          return Fail(fmt::format("malformed JSON at byte {}: '{}' cannot close an {}", offset_ + i,
                                  c, is_array ? "array" : "object"));
        }
        --depth_;
        if (depth_ == 0) {
          end_ = offset_ + i + 1;
          offset_ = end_;
          state_ = State::kComplete;
          return state_;
        }
        break;
      }
      default:
        break;
    }
  }
  offset_ += bytes.size();
  return state_;
}

std::string Printable(std::string_view text, std::size_t max_bytes) {
  std::string out;
  const std::size_t n = std::min(text.size(), max_bytes);
  out.reserve(n + 8);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7F) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

}  // namespace wattson::estimator
