// Shared plumbing for the wattson command line: exit codes, the context every command runs with
// (logger and output streams, no globals), error reporting, file I/O with "-" for stdin/stdout, and
// aligned text tables.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "common/logging.h"
#include "common/status.h"
#include "models/model_loader.h"

namespace wattson::cli {

// Exit codes, the same for every command (also listed in every --help footer).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntimeError = 1;  // a file, model or data problem found while running
inline constexpr int kExitUsageError = 2;    // the command line itself is wrong

inline constexpr std::string_view kExitCodeFooter =
    "Exit codes: 0 success, 1 runtime error (unreadable or invalid model/data file, prediction "
    "failure), 2 usage error (unknown command or flag, missing or malformed argument).";

// What a command runs with: passed down from main, never global.
struct CliContext {
  std::shared_ptr<Logger> logger;
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  std::string version;  // e.g. "0.1.0"
};

// Prints "wattson: error: <message>" on ctx.err and returns kExitRuntimeError.
int ReportRuntimeError(const CliContext& ctx, const Status& status);
// Prints "wattson: usage error: <message>" on ctx.err and returns kExitUsageError.
int ReportUsageError(const CliContext& ctx, std::string_view message);

// Reads a whole file; "-" reads standard input.
Result<std::string> ReadInput(const std::string& path);
// Writes text to ctx.out when path is empty or "-", else atomically to the file.
Status WriteOutput(const CliContext& ctx, const std::string& path, std::string_view text);

// Flags that tell LoadModelFile what a file cannot: the trainer of a Kepler weight file whose path
// does not name it, and the component and feature names of an XGBoost JSON model.
struct ModelLoadFlags {
  std::string trainer;
  std::string xgboost_component = "package";
  std::string xgboost_features;  // comma-separated
};
// Registers --trainer, --xgboost-component and --xgboost-features on cmd.
void AddModelLoadFlags(CLI::App* cmd, ModelLoadFlags* flags);
LoadOptions ToLoadOptions(const ModelLoadFlags& flags);

// A table of strings printed with aligned, space-separated columns (numbers right-aligned).
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::size_t rows() const { return rows_.size(); }
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "1.235" style number for humans (fixed precision); "-" for NaN.
std::string HumanNumber(double v, int precision = 3);
// Joins with sep.
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
// Splits "a,b,c" on commas, trimming spaces and dropping empty items.
std::vector<std::string> SplitList(std::string_view text);

}  // namespace wattson::cli
