#include "sources/usage/ebpf_on_cpu.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

#include "fmt/format.h"

// The BPF object compiled from bpf/on_cpu.bpf.c by the build (WATTSON_ON_CPU_BPF_OBJECT is its
// path), embedded in .rodata.
asm(".pushsection .rodata\n"
    ".balign 8\n"
    ".global wattson_on_cpu_bpf_begin\n"
    ".hidden wattson_on_cpu_bpf_begin\n"
    "wattson_on_cpu_bpf_begin:\n"
    ".incbin \"" WATTSON_ON_CPU_BPF_OBJECT
    "\"\n"
    ".global wattson_on_cpu_bpf_end\n"
    ".hidden wattson_on_cpu_bpf_end\n"
    "wattson_on_cpu_bpf_end:\n"
    ".popsection\n");
extern "C" const unsigned char wattson_on_cpu_bpf_begin[];
extern "C" const unsigned char wattson_on_cpu_bpf_end[];

namespace wattson::usage {
namespace {

// The map layouts of on_cpu.bpf.c.
struct ProcessTime {
  std::uint64_t start_boottime_ns;
  std::uint64_t on_cpu_ns;
  std::uint64_t execs;
};
struct CpuSlot {
  std::uint64_t since_ns;
  std::uint64_t start_boottime_ns;
  std::uint32_t tgid;
  std::uint32_t reserved;
};
static_assert(sizeof(ProcessTime) == 24 && sizeof(CpuSlot) == 24);

constexpr std::uint32_t kBatch = 1024;  // entries per batched read

// libbpf reports why a load failed through its print callback; the last warnings are kept for
// the error message while Load runs (libbpf's callback has no user pointer, hence thread_local).
thread_local std::string* libbpf_messages = nullptr;

int CollectLibbpfMessage(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG || libbpf_messages == nullptr) return 0;
  char line[512];
  const int n = std::vsnprintf(line, sizeof(line), format, args);
  if (n > 0) {
    std::string text(line, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof(line) - 1));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (!libbpf_messages->empty()) *libbpf_messages += "; ";
    *libbpf_messages += text;
    if (libbpf_messages->size() > 1000) libbpf_messages->resize(1000);
  }
  return 0;
}

std::uint64_t MonotonicNs() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // bpf_ktime_get_ns()'s clock
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

Status BpfError(std::string_view what, int err) {
  return Status::IoError(fmt::format("{}: {}", what, std::strerror(err < 0 ? -err : err)));
}

}  // namespace

struct EbpfOnCpuTimes::Bpf {
  bpf_object* object = nullptr;
  std::vector<bpf_link*> links;
  int process_times = -1;
  int cpu_slots = -1;
  int counters = -1;
  int cpus = 0;

  ~Bpf() {
    for (bpf_link* l : links) bpf_link__destroy(l);
    if (object != nullptr) bpf_object__close(object);
  }
};

EbpfOnCpuTimes::EbpfOnCpuTimes(std::unique_ptr<Bpf> bpf) : bpf_(std::move(bpf)) {}
EbpfOnCpuTimes::~EbpfOnCpuTimes() = default;

Result<std::unique_ptr<EbpfOnCpuTimes>> EbpfOnCpuTimes::Load(const EbpfOnCpuOptions& options) {
  if (options.max_processes == 0) {
    return Status::InvalidArgument("EbpfOnCpuOptions.max_processes must be positive");
  }
  std::string messages;
  libbpf_messages = &messages;
  const libbpf_print_fn_t previous = libbpf_set_print(CollectLibbpfMessage);
  struct Restore {
    libbpf_print_fn_t fn;
    ~Restore() {
      libbpf_set_print(fn);
      libbpf_messages = nullptr;
    }
  } restore{previous};
  auto unavailable = [&](std::string_view what, int err) {
    std::string m = fmt::format("eBPF on-CPU times unavailable: {}: {}", what,
                                std::strerror(err < 0 ? -err : err));
    if (!messages.empty()) m += fmt::format(" (libbpf: {})", messages);
    return Status::Unavailable(std::move(m));
  };

  auto bpf = std::make_unique<Bpf>();
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = "wattson_on_cpu");
  bpf->object = bpf_object__open_mem(
      wattson_on_cpu_bpf_begin,
      static_cast<std::size_t>(wattson_on_cpu_bpf_end - wattson_on_cpu_bpf_begin), &open_opts);
  if (bpf->object == nullptr) return unavailable("opening the embedded BPF object", errno);
  bpf_map* times = bpf_object__find_map_by_name(bpf->object, "process_times");
  if (times == nullptr) return Status::Internal("embedded BPF object has no process_times map");
  if (int err = bpf_map__set_max_entries(times, options.max_processes); err != 0) {
    return unavailable("sizing process_times", err);
  }
  if (int err = bpf_object__load(bpf->object); err != 0) {
    return unavailable(
        "loading the BPF program (needs CAP_BPF and CAP_PERFMON, or root, and "
        "kernel BTF)",
        err);
  }
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, bpf->object) {
    bpf_link* link = bpf_program__attach(prog);
    if (link == nullptr) {
      return unavailable(fmt::format("attaching {}", bpf_program__name(prog)), errno);
    }
    bpf->links.push_back(link);
  }
  bpf->process_times = bpf_map__fd(times);
  bpf->cpu_slots = bpf_object__find_map_fd_by_name(bpf->object, "cpu_slots");
  bpf->counters = bpf_object__find_map_fd_by_name(bpf->object, "counters");
  bpf->cpus = libbpf_num_possible_cpus();
  if (bpf->cpu_slots < 0 || bpf->counters < 0 || bpf->cpus <= 0) {
    return Status::Internal("embedded BPF object: maps or CPU count missing");
  }
  auto source = std::unique_ptr<EbpfOnCpuTimes>(new EbpfOnCpuTimes(std::move(bpf)));
  // Batched reads need Linux 5.6 or later: find out now rather than on the first tick.
  WATTSON_RETURN_IF_ERROR(source->Refresh().WithContext("eBPF on-CPU times: first read"));
  return source;
}

Status EbpfOnCpuTimes::Refresh() {
  snapshot_.clear();
  const std::uint32_t zero = 0;
  std::uint64_t dropped = 0;
  if (bpf_map_lookup_elem(bpf_->counters, &zero, &dropped) != 0) {
    return BpfError("reading the BPF counters", errno);
  }
  complete_ = dropped == dropped_;
  dropped_ = dropped;

  keys_.resize(kBatch);
  values_.resize(kBatch * sizeof(ProcessTime));
  std::uint32_t in_batch = 0, out_batch = 0;  // the kernel's cursor (a bucket index)
  bool first = true;
  for (;;) {
    std::uint32_t count = static_cast<std::uint32_t>(keys_.size());
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    const int err = bpf_map_lookup_batch(bpf_->process_times, first ? nullptr : &in_batch,
                                         &out_batch, keys_.data(), values_.data(), &count, &opts);
    const int e = err == 0 ? 0 : errno;
    if (err != 0 && e == ENOSPC && count == 0) {
      // One hash bucket holds more entries than the buffer: grow it and read the bucket again.
      keys_.resize(keys_.size() * 2);
      values_.resize(keys_.size() * sizeof(ProcessTime));
      continue;
    }
    if (err != 0 && e != ENOENT) {
      snapshot_.clear();
      return BpfError("reading process_times in batches", e);
    }
    for (std::uint32_t i = 0; i < count; ++i) {
      ProcessTime t;
      std::memcpy(&t, values_.data() + i * sizeof(ProcessTime), sizeof(t));
      snapshot_.push_back({static_cast<int>(keys_[i]), t.start_boottime_ns, t.on_cpu_ns, t.execs});
    }
    if (err != 0) break;  // ENOENT: that was the last batch
    in_batch = out_batch;
    first = false;
  }
  std::sort(snapshot_.begin(), snapshot_.end(),
            [](const ProcessOnCpu& a, const ProcessOnCpu& b) { return a.tgid < b.tgid; });

  // Slices still running: the kernel charges them at the next switch, this read adds them now.
  slots_.resize(static_cast<std::size_t>(bpf_->cpus) * sizeof(CpuSlot));
  if (bpf_map_lookup_elem(bpf_->cpu_slots, &zero, slots_.data()) != 0) {
    snapshot_.clear();
    return BpfError("reading cpu_slots", errno);
  }
  const std::uint64_t now = MonotonicNs();
  const std::size_t listed = snapshot_.size();
  for (int c = 0; c < bpf_->cpus; ++c) {
    CpuSlot s;
    std::memcpy(&s, slots_.data() + static_cast<std::size_t>(c) * sizeof(CpuSlot), sizeof(s));
    if (s.since_ns == 0 || s.tgid == 0 || now <= s.since_ns) continue;
    const auto tgid = static_cast<int>(s.tgid);
    auto end = snapshot_.begin() + static_cast<std::ptrdiff_t>(listed);
    auto it = std::lower_bound(snapshot_.begin(), end, tgid,
                               [](const ProcessOnCpu& p, int t) { return p.tgid < t; });
    if (it != end && it->tgid == tgid) {
      if (it->start_boottime_ns == s.start_boottime_ns) it->on_cpu_ns += now - s.since_ns;
      continue;
    }
    // Running since before its first switch-out; several CPUs may run the same new process.
    auto added = std::find_if(end, snapshot_.end(), [&](const ProcessOnCpu& p) {
      return p.tgid == tgid && p.start_boottime_ns == s.start_boottime_ns;
    });
    if (added != snapshot_.end()) {
      added->on_cpu_ns += now - s.since_ns;
    } else {
      snapshot_.push_back({tgid, s.start_boottime_ns, now - s.since_ns, 0});
    }
  }
  if (snapshot_.size() > listed) {
    std::sort(snapshot_.begin(), snapshot_.end(),
              [](const ProcessOnCpu& a, const ProcessOnCpu& b) { return a.tgid < b.tgid; });
  }
  return Status::Ok();
}

const ProcessOnCpu* EbpfOnCpuTimes::Find(int tgid) const {
  auto it = std::lower_bound(snapshot_.begin(), snapshot_.end(), tgid,
                             [](const ProcessOnCpu& p, int t) { return p.tgid < t; });
  return it != snapshot_.end() && it->tgid == tgid ? &*it : nullptr;
}

void EbpfOnCpuTimes::Retain(std::span<const int> listed) {
  std::vector<std::uint32_t> gone;
  auto l = listed.begin();
  for (const ProcessOnCpu& p : snapshot_) {
    while (l != listed.end() && *l < p.tgid) ++l;
    if (l == listed.end() || *l != p.tgid) gone.push_back(static_cast<std::uint32_t>(p.tgid));
  }
  if (gone.empty()) return;
  std::uint32_t count = static_cast<std::uint32_t>(gone.size());
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  if (bpf_map_delete_batch(bpf_->process_times, gone.data(), &count, &opts) == 0) return;
  // A batch stops at its first key that is already gone; delete the rest one by one.
  for (std::size_t i = count; i < gone.size(); ++i) {
    bpf_map_delete_elem(bpf_->process_times, &gone[i]);
  }
}

}  // namespace wattson::usage
