// OnCpuTimeSource: every process's on-CPU time, accumulated by the kernel and read in one batch
// (EbpfOnCpuTimes), so that a scan of /proc need not reread /proc/<pid>/stat of every known
// process every tick. ProcScanner uses one when it is given one; the interface is what its tests
// fake.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"

namespace wattson::usage {

// What the source has seen of one process (thread group) since the source started.
struct ProcessOnCpu {
  int tgid = 0;
  // The thread-group leader's start time, as the kernel keeps it (ns since boot); /proc/<pid>/stat
  // field 22 is the same value in clock ticks.
  std::uint64_t start_boottime_ns = 0;
  std::uint64_t on_cpu_ns = 0;  // summed over the group's threads, a slice still running included
  std::uint64_t execs = 0;      // execve()s by the process
};

class OnCpuTimeSource {
 public:
  virtual ~OnCpuTimeSource() = default;
  virtual std::string_view name() const = 0;  // "ebpf"
  // Takes a new snapshot of every process's totals. On error the previous snapshot is dropped
  // (Find answers null) and the caller reads /proc instead.
  virtual Status Refresh() = 0;
  // The snapshot's entry for tgid, or null: the process has not been switched out since the
  // source started (it used no CPU since), or it was not recorded (see complete()).
  virtual const ProcessOnCpu* Find(int tgid) const = 0;
  // False when, since the previous Refresh, the kernel had to drop an entry (its table was full):
  // a process without an entry may then have run, and must be read from /proc.
  virtual bool complete() const = 0;
  // Forgets every process not in listed (sorted tgids: the /proc listing of this scan), so that
  // the kernel's table holds live processes only.
  virtual void Retain(std::span<const int> listed) = 0;
};

}  // namespace wattson::usage
