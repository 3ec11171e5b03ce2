// JSON helpers over nlohmann::json: parsing with size and nesting limits, and typed field access
// whose errors name the field ("components.package.coef[3]: not a finite number").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "nlohmann/json.hpp"

namespace wattson {

using Json = nlohmann::json;

struct JsonLimits {
  std::size_t max_bytes = 512u << 20;
  int max_depth = 64;
};

// Parses text as one JSON document. what names the document in errors ("model file x.json").
Result<Json> ParseJson(std::string_view text, std::string_view what, JsonLimits limits = {});

// Typed access. ctx is the dotted path of obj, used in messages.
Result<const Json*> GetField(const Json& obj, std::string_view key, std::string_view ctx);
const Json* FindField(const Json& obj, std::string_view key);
Result<double> AsFiniteNumber(const Json& v, std::string_view ctx);
Result<std::string> AsString(const Json& v, std::string_view ctx);
Result<std::vector<double>> AsFiniteNumberArray(const Json& v, std::string_view ctx,
                                                std::size_t max_len = 1u << 26);
Result<std::vector<std::string>> AsStringArray(const Json& v, std::string_view ctx,
                                               std::size_t max_len = 1u << 20);
Result<long long> AsInteger(const Json& v, std::string_view ctx, long long min, long long max);
Result<double> GetFiniteNumber(const Json& obj, std::string_view key, std::string_view ctx);
Result<std::string> GetString(const Json& obj, std::string_view key, std::string_view ctx);

std::string JoinPath(std::string_view ctx, std::string_view key);

}  // namespace wattson
