#include "estimator/response.h"

#include <charconv>
#include <cmath>

namespace wattson::estimator {

namespace {

// Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 if it is not valid.
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  const std::size_t left = s.size() - i;
  auto cont = [&](std::size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // beyond U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  std::size_t run = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t n = Utf8Length(s, i);
      if (n > 0) {
        i += n;
        continue;
      }
    }
    out->append(s.data() + run, i - run);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c >= 0x80) {
          out->append("\\ufffd");  // not UTF-8: the replacement character, as Go decodes it
        } else {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        }
    }
    ++i;
    run = i;
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendJsonNumber(double v, std::string* out) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) {
    out->push_back('0');
    return;
  }
  out->append(buf, static_cast<std::size_t>(ptr - buf));
}

namespace {

void AppendWatts(const ComponentPower& c, std::string* out) {
  out->push_back('[');
  for (std::size_t r = 0; r < c.watts.size(); ++r) {
    if (r != 0) out->append(", ");
    AppendJsonNumber(c.watts[r].value(), out);
  }
  out->push_back(']');
}

}  // namespace

void AppendPowersReply(const PowerPrediction& prediction, bool list_reply, std::string* out) {
  out->append("{\"powers\": ");
  if (list_reply) {
    // The legacy total-power reply: the model's single (platform) component as a list.
    const ComponentPower* c = prediction.Find(Component::kPlatform);
    if (c == nullptr && !prediction.components.empty()) c = &prediction.components.front();
    if (c != nullptr) {
      AppendWatts(*c, out);
    } else {
      out->append("[]");
    }
  } else {
    out->push_back('{');
    bool first = true;
    for (Component comp : kAllComponents) {
      const ComponentPower* c = prediction.Find(comp);
      if (c == nullptr) continue;
      if (!first) out->append(", ");
      first = false;
      AppendJsonString(ComponentName(comp), out);
      out->append(": ");
      AppendWatts(*c, out);
    }
    out->push_back('}');
  }
  out->append(", \"msg\": \"\"}");
}

void AppendErrorReply(std::string_view message, bool list_reply, std::string* out) {
  out->append(list_reply ? "{\"powers\": [], \"msg\": " : "{\"powers\": {}, \"msg\": ");
  AppendJsonString(message.empty() ? std::string_view("error") : message, out);
  out->push_back('}');
}

}  // namespace wattson::estimator
