// Progress display for long training runs: one updating stderr line such as
//   [ 37/480] GradientBoostingRegressorTrainer · Basic · package · 00:42 elapsed · ETA 01:10
// rewritten in place (carriage return) on a terminal, or printed as plain lines at most every 2 s
// when stderr is a file or pipe. The ETA is the average time per finished step so far times the
// steps left. Time comes from a Clock, so tests are deterministic; no global state.
#pragma once

#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "models/types.h"
#include "train/evaluation.h"

namespace wattson {

// Renders training progress (steps, elapsed time, ETA) to a stream; thread-safe.
class ProgressDisplay {
 public:
  // Writes to std::cerr; in-place updates when stderr is a terminal.
  explicit ProgressDisplay(const Clock& clock);
  // Writes to `out`; `tty` picks in-place updates (true) or throttled plain lines (false).
  ProgressDisplay(const Clock& clock, std::ostream& out, bool tty,
                  double plain_interval_seconds = 2.0);
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;
  ~ProgressDisplay();

  // Shows that step `step` of `total` (1-based, about to start) is trainer/fg/component. Steps
  // before it count as done for the ETA. Elapsed time runs from the first call.
  void Update(std::string_view trainer, std::string_view feature_group, Component component,
              int step, int total);
  // Ends the display: a newline after an in-place line, or the last state if it was throttled.
  // Called by the destructor if not called before.
  void Finish();

  // A ProgressFn for Evaluate that shows its (step, total) as (offset + step, overall_total);
  // overall_total <= 0 keeps the callee's total. The display must outlive the function.
  ProgressFn Callback(int offset = 0, int overall_total = 0);

  // The line for a state, without a line ending: elapsed and eta in seconds (eta < 0: unknown).
  static std::string FormatLine(std::string_view trainer, std::string_view feature_group,
                                Component component, int step, int total, double elapsed,
                                double eta);
  // "MM:SS", or "H:MM:SS" from one hour; "--:--" for a negative or non-finite value.
  static std::string FormatDuration(double seconds);

 private:
  const Clock& clock_;
  std::ostream& out_;
  const bool tty_;
  const double plain_interval_;
  std::mutex mu_;
  bool started_ = false;
  Clock::MonoTime start_{};
  bool printed_any_ = false;
  Clock::MonoTime last_print_{};
  std::string last_line_;     // the latest state's line
  bool last_printed_ = true;  // whether last_line_ has been written
  std::size_t shown_width_ = 0;
  bool finished_ = false;
};

}  // namespace wattson
