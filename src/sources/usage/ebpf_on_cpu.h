// EbpfOnCpuTimes: the OnCpuTimeSource of a real Linux kernel. Loads wattson's BPF program
// (bpf/on_cpu.bpf.c, embedded) on the sched_switch and sched_process_exec raw tracepoints; the
// kernel adds each slice a task ran to its process's total, and Refresh reads every total with a
// few batched bpf(2) calls, whatever the number of processes. Needs CAP_BPF and CAP_PERFMON (or
// root) and a kernel with BTF (/sys/kernel/btf/vmlinux, Linux >= 5.8 with batched map reads);
// Load fails with kUnavailable otherwise, and the caller reads /proc. Pids are those of the
// initial pid namespace. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sources/usage/on_cpu_time.h"

namespace wattson::usage {

struct EbpfOnCpuOptions {
  // Size of the kernel's table of processes (preallocated, ~100 bytes each). When it is full,
  // new processes are read from /proc (complete() is false for a tick).
  std::uint32_t max_processes = 32768;
};

class EbpfOnCpuTimes final : public OnCpuTimeSource {
 public:
  static Result<std::unique_ptr<EbpfOnCpuTimes>> Load(const EbpfOnCpuOptions& options = {});
  ~EbpfOnCpuTimes() override;
  EbpfOnCpuTimes(const EbpfOnCpuTimes&) = delete;
  EbpfOnCpuTimes& operator=(const EbpfOnCpuTimes&) = delete;

  std::string_view name() const override { return "ebpf"; }
  Status Refresh() override;
  const ProcessOnCpu* Find(int tgid) const override;
  bool complete() const override { return complete_; }
  void Retain(std::span<const int> listed) override;

 private:
  struct Bpf;  // libbpf's object and links
  explicit EbpfOnCpuTimes(std::unique_ptr<Bpf> bpf);

  std::unique_ptr<Bpf> bpf_;
  std::vector<ProcessOnCpu> snapshot_;  // sorted by tgid
  std::uint64_t dropped_ = 0;
  bool complete_ = true;
  // Buffers of the batched reads, kept between refreshes.
  std::vector<std::uint32_t> keys_;
  std::vector<unsigned char> values_;
  std::vector<unsigned char> slots_;
};

}  // namespace wattson::usage
