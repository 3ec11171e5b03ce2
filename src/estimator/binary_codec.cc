#include "estimator/binary_codec.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "fmt/format.h"

namespace wattson::estimator {
namespace {

// Every integer and float64 of a binary payload is little-endian (the frame header, like the
// rest of the framing, is big-endian).
void PutU16(std::uint16_t v, std::string* out) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>(v >> 8));
}

void PutU32(std::uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutF64s(const double* v, std::size_t n, std::string* out) {
  const std::size_t at = out->size();
  out->resize(at + n * 8);
  char* p = out->data() + at;
  if constexpr (std::endian::native == std::endian::little) {
    if (n > 0) std::memcpy(p, v, n * 8);
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t bits = 0;
      std::memcpy(&bits, &v[i], 8);
      for (int b = 0; b < 8; ++b) p[i * 8 + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
    }
  }
}

Status PutString(std::string_view s, std::string_view what, std::string* out) {
  if (s.size() > std::numeric_limits<std::uint16_t>::max()) {
    return Status::InvalidArgument(fmt::format("{}: {} bytes, at most 65535", what, s.size()));
  }
  PutU16(static_cast<std::uint16_t>(s.size()), out);
  out->append(s);
  return Status::Ok();
}

// Reads a payload front to back; every read checks the bytes left first.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : b_(bytes) {}

  std::size_t left() const { return b_.size() - pos_; }
  std::size_t pos() const { return pos_; }

  Status U8(std::string_view what, std::uint8_t* v) {
    WATTSON_RETURN_IF_ERROR(Need(1, what));
    *v = static_cast<std::uint8_t>(b_[pos_++]);
    return Status::Ok();
  }
  Status U16(std::string_view what, std::uint16_t* v) {
    WATTSON_RETURN_IF_ERROR(Need(2, what));
    *v = static_cast<std::uint16_t>(Byte(0) | (Byte(1) << 8));
    pos_ += 2;
    return Status::Ok();
  }
  Status U32(std::string_view what, std::uint32_t* v) {
    WATTSON_RETURN_IF_ERROR(Need(4, what));
    *v = Byte(0) | (Byte(1) << 8) | (Byte(2) << 16) | (Byte(3) << 24);
    pos_ += 4;
    return Status::Ok();
  }
  Status String(std::string_view what, std::size_t max_bytes, std::string* out) {
    std::uint16_t n = 0;
    WATTSON_RETURN_IF_ERROR(U16(what, &n));
    if (n > max_bytes) {
      return Status::InvalidArgument(fmt::format(
          "{}: a string of {} bytes is longer than the limit of {}", what, n, max_bytes));
    }
    WATTSON_RETURN_IF_ERROR(Need(n, what));
    out->assign(b_.data() + pos_, n);
    pos_ += n;
    return Status::Ok();
  }
  // n float64 values; the caller has checked that 8 n bytes are left.
  void F64s(std::size_t n, double* out) {
    const char* p = b_.data() + pos_;
    if constexpr (std::endian::native == std::endian::little) {
      if (n > 0) std::memcpy(out, p, n * 8);
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) {
          bits |= std::uint64_t{static_cast<unsigned char>(p[i * 8 + k])} << (8 * k);
        }
        std::memcpy(&out[i], &bits, 8);
      }
    }
    pos_ += n * 8;
  }

 private:
  std::uint32_t Byte(std::size_t i) const { return static_cast<unsigned char>(b_[pos_ + i]); }
  Status Need(std::size_t n, std::string_view what) const {
    if (left() < n) {
      return Status::InvalidArgument(
          fmt::format("binary payload ends at byte {} inside {} ({} more bytes needed)", b_.size(),
                      what, n - left()));
    }
    return Status::Ok();
  }

  std::string_view b_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<std::string> EncodeBinaryRequest(const BinaryRequest& r) {
  constexpr std::size_t kMax16 = std::numeric_limits<std::uint16_t>::max();
  if (r.metrics.size() > kMax16 || r.system_features.size() > kMax16) {
    return Status::InvalidArgument(
        "binary request: more than 65535 metric or system feature names");
  }
  if (r.rows > std::numeric_limits<std::uint32_t>::max()) {
    return Status::InvalidArgument("binary request: more than 2^32 - 1 rows");
  }
  if (r.values.size() != r.rows * r.metrics.size()) {
    return Status::InvalidArgument(fmt::format("binary request: {} values for {} rows of {}",
                                               r.values.size(), r.rows, r.metrics.size()));
  }
  if (r.system_values.size() != r.system_features.size()) {
    return Status::InvalidArgument("binary request: system_values and system_features differ");
  }
  std::string out;
  std::size_t names = 0;
  for (const auto& m : r.metrics) names += 2 + m.size();
  out.reserve(16 + names + r.values.size() * 8 + r.source.size() + r.trainer_name.size() + 64);
  out.push_back(static_cast<char>(kBinaryRequestTag));
  out.push_back('\0');
  PutU16(static_cast<std::uint16_t>(r.metrics.size()), &out);
  PutU32(static_cast<std::uint32_t>(r.rows), &out);
  PutU16(static_cast<std::uint16_t>(r.system_features.size()), &out);
  WATTSON_RETURN_IF_ERROR(PutString(r.output_type, "output_type", &out));
  WATTSON_RETURN_IF_ERROR(PutString(r.source, "source", &out));
  WATTSON_RETURN_IF_ERROR(PutString(r.trainer_name, "trainer_name", &out));
  WATTSON_RETURN_IF_ERROR(PutString(r.filter, "filter", &out));
  for (const auto& m : r.metrics) WATTSON_RETURN_IF_ERROR(PutString(m, "metric name", &out));
  for (std::size_t i = 0; i < r.system_features.size(); ++i) {
    WATTSON_RETURN_IF_ERROR(PutString(r.system_features[i], "system feature name", &out));
    WATTSON_RETURN_IF_ERROR(PutString(r.system_values[i], "system value", &out));
  }
  PutF64s(r.values.data(), r.values.size(), &out);
  return out;
}

Result<EstimateRequest> ParseBinaryRequest(std::string_view payload, const RequestLimits& limits) {
  Reader in(payload);
  std::uint8_t tag = 0, reserved = 0;
  WATTSON_RETURN_IF_ERROR(in.U8("the tag", &tag));
  if (tag != kBinaryRequestTag) {
    return Status::InvalidArgument(
        fmt::format("binary payload: tag 0x{:02x} is not a request (0x01)", tag));
  }
  WATTSON_RETURN_IF_ERROR(in.U8("the header", &reserved));
  if (reserved != 0) return Status::InvalidArgument("binary request: reserved byte 1 is not 0");
  std::uint16_t metric_count = 0, system_count = 0;
  std::uint32_t rows = 0;
  WATTSON_RETURN_IF_ERROR(in.U16("the metric count", &metric_count));
  WATTSON_RETURN_IF_ERROR(in.U32("the row count", &rows));
  WATTSON_RETURN_IF_ERROR(in.U16("the system feature count", &system_count));
  if (metric_count > limits.max_metrics) {
    return Status::InvalidArgument(fmt::format("metrics: {} names, more than the limit of {}",
                                               metric_count, limits.max_metrics));
  }
  if (system_count > limits.max_system_features) {
    return Status::InvalidArgument(
        fmt::format("system_features: {} names, more than the limit of {}", system_count,
                    limits.max_system_features));
  }
  EstimateRequest out;
  out.shape = RequestShape::kKepler;
  std::string output_type, source;
  WATTSON_RETURN_IF_ERROR(in.String("output_type", limits.max_string_bytes, &output_type));
  WATTSON_RETURN_IF_ERROR(in.String("source", limits.max_string_bytes, &source));
  WATTSON_RETURN_IF_ERROR(in.String("trainer_name", limits.max_string_bytes, &out.trainer_name));
  WATTSON_RETURN_IF_ERROR(in.String("filter", limits.max_string_bytes, &out.filter));
  out.metrics.resize(metric_count);
  for (std::size_t i = 0; i < metric_count; ++i) {
    WATTSON_RETURN_IF_ERROR(
        in.String(fmt::format("metrics[{}]", i), limits.max_name_bytes, &out.metrics[i]));
  }
  out.system_features.resize(system_count);
  out.system_values.resize(system_count);
  for (std::size_t i = 0; i < system_count; ++i) {
    WATTSON_RETURN_IF_ERROR(in.String(fmt::format("system_features[{}]", i), limits.max_name_bytes,
                                      &out.system_features[i]));
    WATTSON_RETURN_IF_ERROR(in.String(fmt::format("system_values[{}]", i), limits.max_string_bytes,
                                      &out.system_values[i]));
  }
  // The values must be exactly what is left: checked before anything is allocated for them.
  const std::size_t width = metric_count;
  const std::size_t left = in.left();
  if (width == 0 || rows == 0 || left % 8 != 0 || left / 8 / width != rows ||
      (left / 8) % width != 0) {
    return Status::InvalidArgument(fmt::format(
        "binary request: {} bytes of values for {} rows of {} metrics (need {} x {} x 8)", left,
        rows, width, rows, width));
  }
  out.rows = rows;
  out.values.resize(static_cast<std::size_t>(rows) * width);
  in.F64s(out.values.size(), out.values.data());
  for (std::size_t i = 0; i < out.values.size(); ++i) {
    if (!std::isfinite(out.values[i])) {
      return Status::InvalidArgument(fmt::format(
          "values[{}][{}]: NaN and Infinity are not allowed (every value must be a finite number)",
          i / width, i % width));
    }
  }
  WATTSON_RETURN_IF_ERROR(ValidateRequestShape(out));
  WATTSON_RETURN_IF_ERROR(SetKeplerTypeAndSource(output_type, source, false, &out));
  return out;
}

void AppendBinaryReply(const PowerPrediction& p, std::string* out) {
  out->push_back(static_cast<char>(kBinaryReplyTag));
  out->push_back('\0');
  std::uint16_t count = 0;
  for (Component comp : kAllComponents) count += p.Find(comp) != nullptr ? 1 : 0;
  PutU16(count, out);
  PutU32(static_cast<std::uint32_t>(p.rows), out);
  PutU16(0, out);  // no message
  std::vector<double> watts;
  for (Component comp : kAllComponents) {  // the JSON reply's order
    const ComponentPower* found = p.Find(comp);
    if (found == nullptr) continue;
    const ComponentPower& c = *found;
    (void)PutString(ComponentName(c.component), "component", out);
    watts.resize(c.watts.size());
    for (std::size_t r = 0; r < c.watts.size(); ++r) watts[r] = c.watts[r].value();
    PutF64s(watts.data(), watts.size(), out);
  }
}

void AppendBinaryErrorReply(std::string_view message, std::string* out) {
  out->push_back(static_cast<char>(kBinaryReplyTag));
  out->push_back('\0');
  PutU16(0, out);
  PutU32(0, out);
  const std::string_view text = message.empty() ? std::string_view("error") : message;
  (void)PutString(text.substr(0, std::numeric_limits<std::uint16_t>::max()), "msg", out);
}

Result<BinaryReply> ParseBinaryReply(std::string_view payload) {
  Reader in(payload);
  std::uint8_t tag = 0, reserved = 0;
  WATTSON_RETURN_IF_ERROR(in.U8("the tag", &tag));
  if (tag != kBinaryReplyTag) {
    return Status::InvalidArgument(
        fmt::format("binary reply: tag 0x{:02x} is not a reply (0x81)", tag));
  }
  WATTSON_RETURN_IF_ERROR(in.U8("the header", &reserved));
  std::uint16_t components = 0;
  std::uint32_t rows = 0;
  WATTSON_RETURN_IF_ERROR(in.U16("the component count", &components));
  WATTSON_RETURN_IF_ERROR(in.U32("the row count", &rows));
  BinaryReply out;
  out.rows = rows;
  WATTSON_RETURN_IF_ERROR(in.String("msg", std::numeric_limits<std::uint16_t>::max(), &out.msg));
  out.components.resize(components);
  for (auto& c : out.components) {
    WATTSON_RETURN_IF_ERROR(in.String("a component name", 256, &c.name));
    if (in.left() / 8 < rows) {
      return Status::InvalidArgument(
          fmt::format("binary reply: component {} has fewer than {} values", c.name, rows));
    }
    c.watts.resize(rows);
    in.F64s(rows, c.watts.data());
  }
  if (in.left() != 0) {
    return Status::InvalidArgument(
        fmt::format("binary reply: {} bytes after the last component", in.left()));
  }
  return out;
}

}  // namespace wattson::estimator
