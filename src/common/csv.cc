#include "common/csv.h"

#include <charconv>
#include <cmath>

#include "fmt/format.h"

namespace wattson {

long CsvTable::ColumnIndex(std::string_view name) const {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<long>(i);
  }
  return -1;
}

Result<CsvTable> ParseCsv(std::string_view text, std::string_view what, CsvLimits limits,
                          bool require_rows) {
  // Skip a UTF-8 byte-order mark.
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  CsvTable table;
  std::vector<std::string> record;
  std::string field;
  std::size_t line = 1;
  std::size_t record_line = 1;
  std::size_t i = 0;
  bool any_char_in_record = false;

  auto finish_record = [&]() -> Status {
    record.push_back(std::move(field));
    field.clear();
    if (record.size() > limits.max_columns) {
      return Status::OutOfRange(
          fmt::format("{}: line {}: more than {} columns", what, record_line, limits.max_columns));
    }
    if (table.header.empty()) {
      table.header = std::move(record);
    } else {
      if (record.size() != table.header.size()) {
        return Status::InvalidArgument(fmt::format("{}: line {}: {} fields, header has {}", what,
                                                   record_line, record.size(),
                                                   table.header.size()));
      }
      if (table.rows.size() >= limits.max_rows) {
        return Status::OutOfRange(fmt::format("{}: more than {} rows", what, limits.max_rows));
      }
      table.rows.push_back(std::move(record));
    }
    record.clear();
    any_char_in_record = false;
    return Status::Ok();
  };

  while (i < text.size()) {
    char c = text[i];
    if (!any_char_in_record) record_line = line;
    if (c == '"' && field.empty()) {
      // Quoted field.
      any_char_in_record = true;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char q = text[i];
        if (q == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        if (q == '\n') ++line;
        field.push_back(q);
        ++i;
        if (field.size() > limits.max_field_bytes) {
          return Status::OutOfRange(fmt::format("{}: line {}: field longer than {} bytes", what,
                                                line, limits.max_field_bytes));
        }
      }
      if (!closed) {
        return Status::InvalidArgument(
            fmt::format("{}: line {}: unterminated quoted field", what, record_line));
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        return Status::InvalidArgument(
            fmt::format("{}: line {}: text after a closing quote", what, line));
      }
      continue;
    }
    if (c == ',') {
      any_char_in_record = true;
      record.push_back(std::move(field));
      field.clear();
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++i;
      if (any_char_in_record || !field.empty()) {
        WATTSON_RETURN_IF_ERROR(finish_record());
      }
      ++line;
      continue;
    }
    any_char_in_record = true;
    field.push_back(c);
    if (field.size() > limits.max_field_bytes) {
      return Status::OutOfRange(fmt::format("{}: line {}: field longer than {} bytes", what, line,
                                            limits.max_field_bytes));
    }
    ++i;
  }
  if (any_char_in_record || !field.empty()) WATTSON_RETURN_IF_ERROR(finish_record());
  if (table.header.empty()) return Status::InvalidArgument(fmt::format("{}: empty CSV", what));
  if (require_rows && table.rows.empty()) {
    return Status::InvalidArgument(fmt::format("{}: CSV has a header but no rows", what));
  }
  return table;
}

Result<double> ParseFiniteDouble(std::string_view field) {
  while (!field.empty() && (field.front() == ' ' || field.front() == '\t')) field.remove_prefix(1);
  while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) field.remove_suffix(1);
  if (field.empty()) return Status::InvalidArgument("empty field where a number is needed");
  if (field.front() == '+') field.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (ec == std::errc::result_out_of_range) {
    return Status::InvalidArgument(fmt::format("'{}' is out of the range of a double", field));
  }
  if (ec != std::errc() || ptr != field.data() + field.size()) {
    return Status::InvalidArgument(fmt::format("'{}' is not a number", field));
  }
  if (!std::isfinite(v)) return Status::InvalidArgument(fmt::format("'{}' is not finite", field));
  return v;
}

std::string CsvEscape(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string FormatDouble(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return fmt::format("{}", v);
  return std::string(buf, ptr);
}

}  // namespace wattson
