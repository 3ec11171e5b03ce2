#include "train/progress.h"

#include <unistd.h>

#include <cmath>
#include <iostream>

#include "fmt/format.h"

namespace wattson {

ProgressDisplay::ProgressDisplay(const Clock& clock)
    : ProgressDisplay(clock, std::cerr, ::isatty(STDERR_FILENO) == 1) {}

ProgressDisplay::ProgressDisplay(const Clock& clock, std::ostream& out, bool tty,
                                 double plain_interval_seconds)
    : clock_(clock), out_(out), tty_(tty), plain_interval_(plain_interval_seconds) {}

ProgressDisplay::~ProgressDisplay() { Finish(); }

std::string ProgressDisplay::FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto s = static_cast<long long>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

std::string ProgressDisplay::FormatLine(std::string_view trainer, std::string_view feature_group,
                                        Component component, int step, int total, double elapsed,
                                        double eta) {
  const int width = static_cast<int>(std::to_string(total < 0 ? 0 : total).size());
  return fmt::format("[{:>{}}/{}] {} · {} · {} · {} elapsed · ETA {}", step, width, total, trainer,
                     feature_group, ComponentName(component), FormatDuration(elapsed),
                     FormatDuration(eta));
}

void ProgressDisplay::Update(std::string_view trainer, std::string_view feature_group,
                             Component component, int step, int total) {
  std::lock_guard lock(mu_);
  const Clock::MonoTime now = clock_.Now();
  if (!started_) {
    started_ = true;
    start_ = now;
  }
  finished_ = false;
  const double elapsed = SecondsBetween(start_, now).value();
  const int done = step - 1;
  const double eta = done > 0 && total >= step
                         ? elapsed / static_cast<double>(done) * static_cast<double>(total - done)
                         : -1.0;
  last_line_ = FormatLine(trainer, feature_group, component, step, total, elapsed, eta);
  last_printed_ = false;
  if (tty_) {
    std::string padded = last_line_;
    const std::size_t width = padded.size();
    if (width < shown_width_) padded.append(shown_width_ - width, ' ');
    out_ << '\r' << padded << std::flush;
    shown_width_ = width;
  } else {
    const bool due = !printed_any_ || (total > 0 && step >= total) ||
                     SecondsBetween(last_print_, now).value() >= plain_interval_;
    if (!due) return;
    out_ << last_line_ << '\n' << std::flush;
    last_print_ = now;
  }
  printed_any_ = true;
  last_printed_ = true;
}

void ProgressDisplay::Finish() {
  std::lock_guard lock(mu_);
  if (finished_ || !started_) return;
  finished_ = true;
  if (tty_) {
    if (printed_any_) out_ << '\n' << std::flush;
  } else if (!last_printed_) {
    out_ << last_line_ << '\n' << std::flush;
  }
  last_printed_ = true;
  shown_width_ = 0;
}

ProgressFn ProgressDisplay::Callback(int offset, int overall_total) {
  return [this, offset, overall_total](std::string_view trainer, std::string_view feature_group,
                                       Component component, int step, int total) {
    Update(trainer, feature_group, component, offset + step,
           overall_total > 0 ? overall_total : total);
  };
}

}  // namespace wattson
