#include "export/state.h"

#include <chrono>
#include <utility>

namespace wattson::exporter {

using attribution::IsTotalZone;
using attribution::LedgerSnapshot;
using attribution::NodeZoneSeries;

HistoryPoint NodePowerPoint(const LedgerSnapshot& ledger, std::int64_t unix_ms) {
  HistoryPoint p;
  p.unix_ms = unix_ms;
  for (const NodeZoneSeries& z : ledger.node) {
    if (!z.present) continue;
    const double w = z.dynamic_power.value() + z.idle_power.value();
    p.zones[z.id.zone] += w;
    if (IsTotalZone(z.id.zone)) p.total_watts += w;
  }
  return p;
}

ExportState::ExportState(const Clock& clock, Seconds history_window, std::size_t max_points)
    : clock_(clock),
      window_(history_window),
      max_points_(max_points == 0 ? 1 : max_points),
      view_{std::make_shared<const LedgerSnapshot>(), std::make_shared<const AgentStatus>(),
            std::nullopt} {}

void ExportState::Publish(std::shared_ptr<const LedgerSnapshot> ledger, AgentStatus status) {
  if (!ledger) ledger = std::make_shared<const LedgerSnapshot>();
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.WallNow().time_since_epoch())
          .count();
  HistoryPoint point = NodePowerPoint(*ledger, static_cast<std::int64_t>(now_ms));
  auto status_ptr = std::make_shared<const AgentStatus>(std::move(status));
  const auto mono = clock_.Now();
  std::lock_guard lock(mu_);
  view_.ledger = std::move(ledger);
  view_.status = std::move(status_ptr);
  view_.last_publish = mono;
  history_.push_back(std::move(point));
  const auto window_ms = static_cast<std::int64_t>(window_.value() * 1000.0);
  while (history_.size() > max_points_ ||
         (history_.size() > 1 && history_.back().unix_ms - history_.front().unix_ms > window_ms)) {
    history_.pop_front();
  }
}

ExportView ExportState::View() const {
  std::lock_guard lock(mu_);
  return view_;
}

std::vector<HistoryPoint> ExportState::History() const {
  std::lock_guard lock(mu_);
  return {history_.begin(), history_.end()};
}

}  // namespace wattson::exporter
