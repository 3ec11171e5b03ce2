// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
// wattson's in-kernel on-CPU time accumulator (compiled with clang -target bpf, embedded in the
// agent, loaded by EbpfOnCpuTimes in ebpf_on_cpu.cc). On every context switch it adds the time the
// outgoing task ran to its process's (thread group's) total, so that user space reads the CPU time
// of every process in one batch instead of one /proc/<pid>/stat read per process. The kernel must
// see a GPL-compatible licence ("Dual BSD/GPL"): bpf_probe_read_kernel, which BPF_CORE_READ uses,
// is a GPL-only helper.
//
// Maps (the layouts are repeated in ebpf_on_cpu.cc; keep them in step):
//   process_times  tgid -> {leader start_boottime ns, on-CPU ns, execs}. A pid reused by a new
//                  process (different start time) overwrites its entry. User space deletes the
//                  entries of processes that have gone.
//   cpu_slots      per CPU: the task running now (tgid, leader start time) and since when, so that
//                  user space adds the time of a slice still running when it reads.
//   counters       [0] entries that could not be inserted (the map was full): user space then
//                  reads /proc/<pid>/stat for processes without an entry.
// Only the fields used are declared; libbpf relocates their offsets from the running kernel's BTF
// (CO-RE), so the object needs no kernel headers of the build machine.
// The order matters: libbpf's headers need linux/types.h first.
// clang-format off
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
// clang-format on

struct task_struct {
  int pid;
  int tgid;
  __u64 start_boottime;
  struct task_struct* group_leader;
} __attribute__((preserve_access_index));

struct process_time {
  __u64 start_boottime_ns;
  __u64 on_cpu_ns;
  __u64 execs;
};

struct cpu_slot {
  __u64 since_ns;  // bpf_ktime_get_ns() when the running task was switched in; 0 = not yet known
  __u64 start_boottime_ns;
  __u32 tgid;
  __u32 reserved;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);  // set by user space before loading
  __type(key, __u32);
  __type(value, struct process_time);
} process_times SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cpu_slot);
} cpu_slots SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

static __always_inline void count_dropped(void) {
  __u32 zero = 0;
  __u64* dropped = bpf_map_lookup_elem(&counters, &zero);
  if (dropped) __sync_fetch_and_add(dropped, 1);
}

// Adds ns of on-CPU time and execs to the process (tgid, start); a different start replaces the
// entry (the pid now belongs to a new process).
static __always_inline void charge(__u32 tgid, __u64 start, __u64 ns, __u64 execs) {
  if (tgid == 0) return;  // the idle task
  struct process_time* e = bpf_map_lookup_elem(&process_times, &tgid);
  if (e && e->start_boottime_ns == start) {
    if (ns) __sync_fetch_and_add(&e->on_cpu_ns, ns);
    if (execs) __sync_fetch_and_add(&e->execs, execs);
    return;
  }
  struct process_time fresh = {.start_boottime_ns = start, .on_cpu_ns = ns, .execs = execs};
  long err = bpf_map_update_elem(&process_times, &tgid, &fresh, e ? BPF_EXIST : BPF_NOEXIST);
  if (err == -17 /* EEXIST: another CPU inserted it first */) {
    e = bpf_map_lookup_elem(&process_times, &tgid);
    if (e && e->start_boottime_ns == start) {
      if (ns) __sync_fetch_and_add(&e->on_cpu_ns, ns);
      if (execs) __sync_fetch_and_add(&e->execs, execs);
      return;
    }
  }
  if (err) count_dropped();
}

// sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, ...)
SEC("raw_tp/sched_switch")
int wattson_on_switch(struct bpf_raw_tracepoint_args* ctx) {
  struct task_struct* prev = (struct task_struct*)ctx->args[1];
  struct task_struct* next = (struct task_struct*)ctx->args[2];
  __u32 zero = 0;
  struct cpu_slot* slot = bpf_map_lookup_elem(&cpu_slots, &zero);
  if (!slot) return 0;
  const __u64 now = bpf_ktime_get_ns();
  if (slot->since_ns != 0 && now > slot->since_ns) {
    const __u32 tgid = BPF_CORE_READ(prev, tgid);
    const __u64 start = BPF_CORE_READ(prev, group_leader, start_boottime);
    charge(tgid, start, now - slot->since_ns, 0);
  }
  slot->tgid = BPF_CORE_READ(next, tgid);
  slot->start_boottime_ns = BPF_CORE_READ(next, group_leader, start_boottime);
  slot->since_ns = now;
  return 0;
}

// sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm): the
// process's comm (and often its cgroup, when a container's init execs its workload) changed.
SEC("raw_tp/sched_process_exec")
int wattson_on_exec(struct bpf_raw_tracepoint_args* ctx) {
  struct task_struct* p = (struct task_struct*)ctx->args[0];
  const __u32 tgid = BPF_CORE_READ(p, tgid);
  const __u64 start = BPF_CORE_READ(p, group_leader, start_boottime);
  charge(tgid, start, 0, 1);
  return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
