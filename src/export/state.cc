#include "export/state.h"

#include <chrono>
#include <utility>

namespace wattson::exporter {

using attribution::EnergyLedger;
using attribution::IsTotalZone;
using attribution::LedgerSnapshot;
using attribution::NodeZoneSeries;

HistoryPoint NodePowerPoint(const std::vector<NodeZoneSeries>& node, std::int64_t unix_ms) {
  HistoryPoint p;
  p.unix_ms = unix_ms;
  for (const NodeZoneSeries& z : node) {
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

std::int64_t ExportState::WallMs() const {
  return static_cast<std::int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.WallNow().time_since_epoch())
          .count());
}

void ExportState::Publish(std::shared_ptr<const EnergyLedger> ledger, AgentStatus status) {
  if (!ledger) {
    Publish(std::shared_ptr<const LedgerSnapshot>(), std::move(status));
    return;
  }
  HistoryPoint point = NodePowerPoint(ledger->NodeZones(), WallMs());
  std::lock_guard lock(mu_);
  source_ = std::move(ledger);
  PublishLocked(std::move(point), std::move(status));
}

void ExportState::Publish(std::shared_ptr<const LedgerSnapshot> snapshot, AgentStatus status) {
  if (!snapshot) snapshot = std::make_shared<const LedgerSnapshot>();
  HistoryPoint point = NodePowerPoint(snapshot->node, WallMs());
  std::lock_guard lock(mu_);
  source_.reset();
  view_.ledger = std::move(snapshot);
  PublishLocked(std::move(point), std::move(status));
}

void ExportState::PublishLocked(HistoryPoint point, AgentStatus status) {
  view_.status = std::make_shared<const AgentStatus>(std::move(status));
  view_.last_publish = clock_.Now();
  history_.push_back(std::move(point));
  const auto window_ms = static_cast<std::int64_t>(window_.value() * 1000.0);
  while (history_.size() > max_points_ ||
         (history_.size() > 1 && history_.back().unix_ms - history_.front().unix_ms > window_ms)) {
    history_.pop_front();
  }
}

ExportView ExportState::View() const {
  std::shared_ptr<const EnergyLedger> source;
  ExportView view;
  {
    std::lock_guard lock(mu_);
    view = view_;
    source = source_;
  }
  // Built outside mu_ (the ledger has its own lock and caches the snapshot per tick), so a slow
  // build never holds up Publish.
  if (source) view.ledger = source->Snapshot();
  return view;
}

std::vector<HistoryPoint> ExportState::History() const {
  std::lock_guard lock(mu_);
  return {history_.begin(), history_.end()};
}

}  // namespace wattson::exporter
