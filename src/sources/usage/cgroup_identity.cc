#include "sources/usage/cgroup_identity.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "sources/usage/procfs.h"

namespace wattson::usage {

namespace {

constexpr std::size_t kMaxPathBytes = 16u << 10;  // longer strings are not real cgroup paths
constexpr std::size_t kContainerIdLength = 64;

bool StartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(0, p.size()) == p;
}
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsContainerId(std::string_view s) {
  return s.size() == kContainerIdLength && std::all_of(s.begin(), s.end(), IsHex);
}

// A pod UID as it appears in a cgroup name: a UUID with '-' or '_' separators, or (static and
// mirror pods) a 32-hex config hash. Returns it dashed, or nothing.
std::optional<std::string> NormalisePodUid(std::string_view raw) {
  std::string uid(raw);
  std::replace(uid.begin(), uid.end(), '_', '-');
  if (uid.size() == 32 && std::all_of(uid.begin(), uid.end(), IsHex)) return uid;
  if (uid.size() != 36) return std::nullopt;
  for (std::size_t i = 0; i < uid.size(); ++i) {
    const bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_pos ? uid[i] != '-' : !IsHex(uid[i])) return std::nullopt;
  }
  return uid;
}

// "<prefix><id><suffix>" with a valid container id, else nothing. An empty suffix also accepts
// ".scope" (CRI-O and podman name the cgroup with or without it, depending on the driver).
std::optional<std::string_view> IdBetween(std::string_view seg, std::string_view prefix,
                                          std::string_view suffix) {
  if (!StartsWith(seg, prefix)) return std::nullopt;
  std::string_view rest = seg.substr(prefix.size());
  if (!suffix.empty()) {
    if (!EndsWith(rest, suffix)) return std::nullopt;
    rest.remove_suffix(suffix.size());
  } else if (EndsWith(rest, ".scope")) {
    rest.remove_suffix(6);
  }
  if (!IsContainerId(rest)) return std::nullopt;
  return rest;
}

// Parses a libvirt machine name "qemu-<N>-<name>" (or older "qemu-<name>").
bool ParseMachineName(std::string_view machine, WorkloadIdentity& id) {
  if (!StartsWith(machine, "qemu-") || machine.size() <= 5) return false;
  std::string_view rest = machine.substr(5);
  std::size_t n = 0;
  while (n < rest.size() && IsDigit(rest[n])) ++n;
  std::string_view name = rest;
  if (n > 0 && n < rest.size() && rest[n] == '-') name = rest.substr(n + 1);
  if (name.empty()) return false;
  id = WorkloadIdentity{};
  id.kind = WorkloadKind::kVm;
  id.vm_id = std::string(machine);
  id.vm_name = std::string(name);
  return true;
}

PodQos QosFromWord(std::string_view w) {
  if (w == "burstable") return PodQos::kBurstable;
  if (w == "besteffort") return PodQos::kBestEffort;
  if (w == "guaranteed") return PodQos::kGuaranteed;
  return PodQos::kNone;
}

struct Walker {
  WorkloadIdentity id;
  bool in_kubepods = false;
  std::string_view parent;  // previous component

  // Pod components. Returns true if seg is one.
  bool Pod(std::string_view seg) {
    std::string_view raw;
    PodQos qos = PodQos::kGuaranteed;
    if (EndsWith(seg, ".slice")) {
      const std::string_view name = seg.substr(0, seg.size() - 6);
      const auto at = name.rfind("-pod");
      if (at == std::string_view::npos) return false;
      const std::string_view prefix = name.substr(0, at);
      if (prefix.find("kubepods") == std::string_view::npos) return false;
      raw = name.substr(at + 4);
      const auto dash = prefix.rfind('-');
      if (dash != std::string_view::npos) {
        const PodQos q = QosFromWord(prefix.substr(dash + 1));
        if (q != PodQos::kNone) qos = q;
      }
    } else if (in_kubepods && StartsWith(seg, "pod")) {
      raw = seg.substr(3);
      const PodQos q = QosFromWord(parent);
      if (q != PodQos::kNone) qos = q;
    } else {
      return false;
    }
    auto uid = NormalisePodUid(raw);
    if (!uid) return false;
    id = WorkloadIdentity{};
    id.kind = WorkloadKind::kPodSandbox;
    id.pod_uid = std::move(*uid);
    id.qos = qos;
    return true;
  }

  void SetContainer(std::string_view cid, ContainerRuntime runtime) {
    // A container keeps the pod it sits in; it replaces any VM or outer container.
    id.kind = WorkloadKind::kContainer;
    id.container_id = std::string(cid);
    id.runtime = runtime;
    id.vm_id.clear();
    id.vm_name.clear();
  }

  bool Container(std::string_view seg) {
    if (StartsWith(seg, "crio-conmon-") || StartsWith(seg, "libpod-conmon-")) {
      if (!IdBetween(seg, StartsWith(seg, "crio") ? "crio-conmon-" : "libpod-conmon-", "")) {
        return false;
      }
      id = WorkloadIdentity{};  // the runtime's monitor: a system process
      return true;
    }
    struct Pattern {
      std::string_view prefix, suffix;
      ContainerRuntime runtime;
    };
    static constexpr Pattern kPatterns[] = {
        {"cri-containerd-", ".scope", ContainerRuntime::kContainerd},
        {"crio-", "", ContainerRuntime::kCrio},
        {"docker-", ".scope", ContainerRuntime::kDocker},
        {"libpod-", "", ContainerRuntime::kPodman},
    };
    for (const Pattern& p : kPatterns) {
      if (auto cid = IdBetween(seg, p.prefix, p.suffix)) {
        SetContainer(*cid, p.runtime);
        return true;
      }
    }
    if (IsContainerId(seg)) {
      SetContainer(seg,
                   parent == "docker" ? ContainerRuntime::kDocker : ContainerRuntime::kUnknown);
      return true;
    }
    return false;
  }

  bool Vm(std::string_view seg) {
    if (StartsWith(seg, "machine-") && EndsWith(seg, ".scope")) {
      const std::string machine = UnescapeSystemdName(seg.substr(8, seg.size() - 8 - 6));
      return ParseMachineName(machine, id);
    }
    if (EndsWith(seg, ".libvirt-qemu")) {
      return ParseMachineName(seg.substr(0, seg.size() - 13), id);
    }
    return false;
  }

  void Visit(std::string_view seg) {
    if (seg == "kubepods" || (StartsWith(seg, "kubepods") && EndsWith(seg, ".slice")) ||
        (StartsWith(seg, "kubelet-kubepods") && EndsWith(seg, ".slice"))) {
      in_kubepods = true;
    }
    if (!Pod(seg) && !Container(seg)) Vm(seg);
    parent = seg;
  }
};

}  // namespace

std::string UnescapeSystemdName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '\\' && i + 3 < name.size() && name[i + 1] == 'x') {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      const int hi = hex(name[i + 2]);
      const int lo = hex(name[i + 3]);
      if (hi >= 0 && lo >= 0) {
        const int v = hi * 16 + lo;
        if (v >= 0x20 && v != 0x7f && v != '/') {
          out += static_cast<char>(v);
          i += 3;
          continue;
        }
      }
    }
    out += name[i];
  }
  return out;
}

WorkloadIdentity ParseCgroupPath(std::string_view path) {
  if (path.size() > kMaxPathBytes) return {};
  std::string selected;
  if (path.empty() || path.front() != '/' || path.find('\n') != std::string_view::npos) {
    selected = SelectCgroupPath(path);
    path = selected;
  }
  Walker w;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const std::string_view seg = path.substr(i, j - i);
    i = j;
    if (seg.empty() || seg == "." || seg == "..") continue;
    w.Visit(seg);
  }
  return w.id;
}

WorkloadIdentity IdentifyProcess(bool kernel_thread, std::string_view cgroup_path) {
  if (kernel_thread) {
    WorkloadIdentity id;
    id.kind = WorkloadKind::kKernel;
    return id;
  }
  return ParseCgroupPath(cgroup_path);
}

std::string_view WorkloadKindName(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::kSystemProcess:
      return "system";
    case WorkloadKind::kKernel:
      return "kernel";
    case WorkloadKind::kContainer:
      return "container";
    case WorkloadKind::kPodSandbox:
      return "pod";
    case WorkloadKind::kVm:
      return "vm";
  }
  return "system";
}

std::string_view ContainerRuntimeName(ContainerRuntime runtime) {
  switch (runtime) {
    case ContainerRuntime::kNone:
      return "";
    case ContainerRuntime::kUnknown:
      return "unknown";
    case ContainerRuntime::kContainerd:
      return "containerd";
    case ContainerRuntime::kCrio:
      return "cri-o";
    case ContainerRuntime::kDocker:
      return "docker";
    case ContainerRuntime::kPodman:
      return "podman";
  }
  return "";
}

std::string_view PodQosName(PodQos qos) {
  switch (qos) {
    case PodQos::kNone:
      return "";
    case PodQos::kGuaranteed:
      return "guaranteed";
    case PodQos::kBurstable:
      return "burstable";
    case PodQos::kBestEffort:
      return "besteffort";
  }
  return "";
}

}  // namespace wattson::usage
