#include "common/json_util.h"

#include <cmath>

#include "fmt/format.h"

namespace wattson {

namespace {
struct DepthExceeded {};
}  // namespace

std::string JoinPath(std::string_view ctx, std::string_view key) {
  if (ctx.empty()) return std::string(key);
  return fmt::format("{}.{}", ctx, key);
}

Result<Json> ParseJson(std::string_view text, std::string_view what, JsonLimits limits) {
  if (text.size() > limits.max_bytes) {
    return Status::OutOfRange(
        fmt::format("{}: {} bytes is over the {}-byte limit", what, text.size(), limits.max_bytes));
  }
  // nlohmann's parser is iterative; the callback stops documents nested deeper than the limit
  // before the DOM is built, so neither parsing nor later recursion can exhaust the stack.
  const int max_depth = limits.max_depth;
  Json::parser_callback_t cb = [max_depth](int depth, Json::parse_event_t, Json&) {
    if (depth > max_depth) throw DepthExceeded{};
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const DepthExceeded&) {
    return Status::InvalidArgument(
        fmt::format("{}: JSON nested deeper than {} levels", what, max_depth));
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(fmt::format("{}: invalid JSON: {}", what, e.what()));
  }
}

const Json* FindField(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

Result<const Json*> GetField(const Json& obj, std::string_view key, std::string_view ctx) {
  if (!obj.is_object()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected an object", ctx.empty() ? "(root)" : ctx));
  }
  const Json* v = FindField(obj, key);
  if (v == nullptr) {
    return Status::InvalidArgument(fmt::format("{}: missing field", JoinPath(ctx, key)));
  }
  return v;
}

Result<double> AsFiniteNumber(const Json& v, std::string_view ctx) {
  if (!v.is_number()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a number, got {}", ctx, v.type_name()));
  }
  double d = v.get<double>();
  if (!std::isfinite(d)) {
    return Status::InvalidArgument(fmt::format("{}: not a finite number", ctx));
  }
  return d;
}

Result<std::string> AsString(const Json& v, std::string_view ctx) {
  if (!v.is_string()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a string, got {}", ctx, v.type_name()));
  }
  return v.get<std::string>();
}

Result<std::vector<double>> AsFiniteNumberArray(const Json& v, std::string_view ctx,
                                                std::size_t max_len) {
  if (!v.is_array()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected an array, got {}", ctx, v.type_name()));
  }
  if (v.size() > max_len) {
    return Status::OutOfRange(
        fmt::format("{}: {} elements is over the limit of {}", ctx, v.size(), max_len));
  }
  std::vector<double> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const Json& e = v[i];
    if (!e.is_number()) {
      return Status::InvalidArgument(
          fmt::format("{}[{}]: expected a number, got {}", ctx, i, e.type_name()));
    }
    double d = e.get<double>();
    if (!std::isfinite(d)) {
      return Status::InvalidArgument(fmt::format("{}[{}]: not a finite number", ctx, i));
    }
    out.push_back(d);
  }
  return out;
}

Result<std::vector<std::string>> AsStringArray(const Json& v, std::string_view ctx,
                                               std::size_t max_len) {
  if (!v.is_array()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected an array, got {}", ctx, v.type_name()));
  }
  if (v.size() > max_len) {
    return Status::OutOfRange(
        fmt::format("{}: {} elements is over the limit of {}", ctx, v.size(), max_len));
  }
  std::vector<std::string> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      return Status::InvalidArgument(
          fmt::format("{}[{}]: expected a string, got {}", ctx, i, v[i].type_name()));
    }
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

Result<long long> AsInteger(const Json& v, std::string_view ctx, long long min, long long max) {
  if (!v.is_number_integer() && !v.is_number_unsigned()) {
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(min) &&
          d <= static_cast<double>(max)) {
        return static_cast<long long>(d);
      }
    }
    return Status::InvalidArgument(fmt::format("{}: expected an integer, got {}", ctx,
                                               v.is_number() ? v.dump() : v.type_name()));
  }
  if (v.is_number_unsigned() &&
      v.get<unsigned long long>() > static_cast<unsigned long long>(max)) {
    return Status::OutOfRange(
        fmt::format("{}: {} is out of range [{}, {}]", ctx, v.dump(), min, max));
  }
  long long i = v.get<long long>();
  if (i < min || i > max) {
    return Status::OutOfRange(fmt::format("{}: {} is out of range [{}, {}]", ctx, i, min, max));
  }
  return i;
}

Result<double> GetFiniteNumber(const Json& obj, std::string_view key, std::string_view ctx) {
  WATTSON_ASSIGN_OR_RETURN(const Json* v, GetField(obj, key, ctx));
  return AsFiniteNumber(*v, JoinPath(ctx, key));
}

Result<std::string> GetString(const Json& obj, std::string_view key, std::string_view ctx) {
  WATTSON_ASSIGN_OR_RETURN(const Json* v, GetField(obj, key, ctx));
  return AsString(*v, JoinPath(ctx, key));
}

}  // namespace wattson
