#include "cli_util.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "common/file_util.h"
#include "fmt/format.h"

namespace wattson::cli {

int ReportRuntimeError(const CliContext& ctx, const Status& status) {
  std::fprintf(ctx.err, "wattson: error: %s\n", status.message().c_str());
  return kExitRuntimeError;
}

int ReportUsageError(const CliContext& ctx, std::string_view message) {
  std::fprintf(ctx.err, "wattson: usage error: %.*s\n", static_cast<int>(message.size()),
               message.data());
  return kExitUsageError;
}

Result<std::string> ReadInput(const std::string& path) {
  if (path != "-") return ReadLocalFile(path);
  std::string text;
  char buf[1 << 16];
  for (;;) {
    std::size_t n = std::fread(buf, 1, sizeof(buf), stdin);
    text.append(buf, n);
    if (text.size() > kMaxLocalFileBytes) {
      return Status::OutOfRange(
          fmt::format("standard input is larger than {} bytes", kMaxLocalFileBytes));
    }
    if (n < sizeof(buf)) break;
  }
  if (std::ferror(stdin)) {
    return Status::IoError(fmt::format("reading standard input: {}", std::strerror(errno)));
  }
  return text;
}

Status WriteOutput(const CliContext& ctx, const std::string& path, std::string_view text) {
  if (path.empty() || path == "-") {
    if (std::fwrite(text.data(), 1, text.size(), ctx.out) != text.size() ||
        std::fflush(ctx.out) != 0) {
      return Status::IoError(fmt::format("writing standard output: {}", std::strerror(errno)));
    }
    return Status::Ok();
  }
  return WriteLocalFileAtomic(path, text);
}

void AddModelLoadFlags(CLI::App* cmd, ModelLoadFlags* flags) {
  cmd->add_option("--trainer", flags->trainer,
                  "Kepler weight JSON whose path does not name the trainer: its name, e.g. "
                  "LogarithmicRegressionTrainer");
  cmd->add_option("--xgboost-component", flags->xgboost_component,
                  "XGBoost JSON only: the component the model predicts")
      ->check(CLI::IsMember({"package", "core", "uncore", "dram", "platform"}))
      ->capture_default_str();
  cmd->add_option("--xgboost-features", flags->xgboost_features,
                  "XGBoost JSON only: comma-separated feature names in the model's input order "
                  "(needed when the file does not store them)");
}

LoadOptions ToLoadOptions(const ModelLoadFlags& flags) {
  LoadOptions load;
  load.trainer = flags.trainer;
  load.component = flags.xgboost_component;
  load.features = SplitList(flags.xgboost_features);
  return load;
}

namespace {

bool LooksNumeric(std::string_view s) {
  if (s.empty() || s == "-") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E';
  });
}

}  // namespace

std::string TextTable::Render() const {
  std::vector<std::size_t> width(header_.size(), 0);
  std::vector<bool> numeric(header_.size(), true);
  for (std::size_t c = 0; c < header_.size(); ++c) width[c] = header_[c].size();
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
      if (!LooksNumeric(row[c]) && row[c] != "-") numeric[c] = false;
    }
  }
  if (rows_.empty()) std::fill(numeric.begin(), numeric.end(), false);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < row.size() ? row[c] : std::string();
      if (c > 0) line += "  ";
      std::size_t pad = width[c] - std::min(width[c], cell.size());
      if (numeric[c]) {
        line.append(pad, ' ');
        line += cell;
      } else {
        line += cell;
        if (c + 1 < width.size()) line.append(pad, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  emit(header_);
  for (const auto& row : rows_) emit(row);
  return out;
}

std::string HumanNumber(double v, int precision) {
  if (std::isnan(v)) return "-";
  return fmt::format("{:.{}f}", v, precision);
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    start = end + 1;
  }
  return out;
}

}  // namespace wattson::cli
