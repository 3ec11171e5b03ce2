#include "train/progress.h"

#include <chrono>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wattson {
namespace {

using std::chrono::seconds;

TEST(ProgressDisplayTest, FormatLine) {
  EXPECT_EQ(ProgressDisplay::FormatLine("GradientBoostingRegressorTrainer", "Basic",
                                        Component::kPackage, 37, 480, 42, 70),
            "[ 37/480] GradientBoostingRegressorTrainer · Basic · package · 00:42 elapsed · ETA "
            "01:10");
  EXPECT_EQ(ProgressDisplay::FormatLine("T", "FG", Component::kDram, 1, 5, 0, -1),
            "[1/5] T · FG · dram · 00:00 elapsed · ETA --:--");
}

TEST(ProgressDisplayTest, FormatDuration) {
  EXPECT_EQ(ProgressDisplay::FormatDuration(0), "00:00");
  EXPECT_EQ(ProgressDisplay::FormatDuration(59.4), "00:59");
  EXPECT_EQ(ProgressDisplay::FormatDuration(61), "01:01");
  EXPECT_EQ(ProgressDisplay::FormatDuration(3723), "1:02:03");
  EXPECT_EQ(ProgressDisplay::FormatDuration(-1), "--:--");
  EXPECT_EQ(ProgressDisplay::FormatDuration(std::numeric_limits<double>::infinity()), "--:--");
}

TEST(ProgressDisplayTest, PlainLinesAreThrottledAndEtaUsesTheAverageStep) {
  FakeClock clock;
  std::ostringstream out;
  {
    ProgressDisplay display(clock, out, /*tty=*/false);
    display.Update("T", "FG", Component::kPackage, 1, 4);  // printed: the first
    clock.Advance(seconds(1));
    display.Update("T", "FG", Component::kDram, 2, 4);  // 1 s after the last line: held back
    clock.Advance(seconds(1));
    display.Update("T", "FG", Component::kPackage, 3, 4);  // 2 s: printed
    clock.Advance(seconds(1));
    display.Update("T", "FG", Component::kDram, 4, 4);  // the last step: always printed
  }
  EXPECT_EQ(out.str(),
            "[1/4] T · FG · package · 00:00 elapsed · ETA --:--\n"
            "[3/4] T · FG · package · 00:02 elapsed · ETA 00:02\n"
            "[4/4] T · FG · dram · 00:03 elapsed · ETA 00:01\n");
}

TEST(ProgressDisplayTest, FinishPrintsAHeldBackLine) {
  FakeClock clock;
  std::ostringstream out;
  ProgressDisplay display(clock, out, /*tty=*/false);
  display.Update("T", "FG", Component::kPackage, 1, 9);
  display.Update("T", "FG", Component::kPackage, 2, 9);
  display.Finish();
  display.Finish();  // idempotent
  EXPECT_EQ(out.str(),
            "[1/9] T · FG · package · 00:00 elapsed · ETA --:--\n"
            "[2/9] T · FG · package · 00:00 elapsed · ETA 00:00\n");
}

TEST(ProgressDisplayTest, TerminalUpdatesInPlace) {
  FakeClock clock;
  std::ostringstream out;
  ProgressDisplay display(clock, out, /*tty=*/true);
  display.Update("LongTrainerName", "FG", Component::kPackage, 1, 2);
  clock.Advance(seconds(10));
  display.Update("T", "FG", Component::kPackage, 2, 2);
  display.Finish();
  const std::string first = "[1/2] LongTrainerName · FG · package · 00:00 elapsed · ETA --:--";
  const std::string second = "[2/2] T · FG · package · 00:10 elapsed · ETA 00:10";
  EXPECT_EQ(out.str(),
            "\r" + first + "\r" + second + std::string(first.size() - second.size(), ' ') + "\n");
}

TEST(ProgressDisplayTest, CallbackMapsStepsOntoTheOverallRun) {
  FakeClock clock;
  std::ostringstream out;
  ProgressDisplay display(clock, out, /*tty=*/false, /*plain_interval_seconds=*/0);
  ProgressFn fn = display.Callback(/*offset=*/10, /*overall_total=*/40);
  fn("T", "FG", Component::kPlatform, 2, 4);
  EXPECT_THAT(out.str(), ::testing::StartsWith("[12/40] T · FG · platform"));
}

TEST(ProgressDisplayTest, NothingWrittenWithoutUpdates) {
  FakeClock clock;
  std::ostringstream out;
  { ProgressDisplay display(clock, out, /*tty=*/true); }
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace wattson
