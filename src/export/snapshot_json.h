// The JSON document served at /api/v1/snapshot: node power by zone (with provenance), the top
// pods/containers/processes/VMs by power in the last tick, models, and the recent node power
// history. Field names are documented in docs/metrics.md ("Snapshot API").
#pragma once

#include <cstddef>
#include <vector>

#include "common/json_util.h"
#include "export/state.h"

namespace wattson::exporter {

struct SnapshotJsonOptions {
  std::size_t top_n = 10;
  bool include_processes = true;
};

Json BuildSnapshotJson(const ExportView& view, const std::vector<HistoryPoint>& history,
                       Seconds history_window, const SnapshotJsonOptions& options);

}  // namespace wattson::exporter
