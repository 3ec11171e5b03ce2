// CSV reading and writing (RFC 4180: commas, double-quoted fields with "" escapes, CRLF or LF).
// Parsing never trusts the input: limits on rows and columns, ragged rows reported by line number.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace wattson {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // every row has header.size() fields

  // Index of a header column, or -1.
  long ColumnIndex(std::string_view name) const;
};

struct CsvLimits {
  std::size_t max_rows = 10'000'000;
  std::size_t max_columns = 4096;
  std::size_t max_field_bytes = 1u << 20;
};

// what names the input in errors. An empty input, or one with only a header, is an error only if
// require_rows is true.
Result<CsvTable> ParseCsv(std::string_view text, std::string_view what, CsvLimits limits = {},
                          bool require_rows = true);

// Strict number parsing: the whole field must be a finite decimal number (surrounding spaces
// allowed). "nan", "inf", "", "1.2.3" and "12abc" are errors.
Result<double> ParseFiniteDouble(std::string_view field);

// Quotes a field if it needs it.
std::string CsvEscape(std::string_view field);

// Formats a double so that it parses back to the same value (shortest round-trip form).
std::string FormatDouble(double v);

}  // namespace wattson
