// Workload identity from a cgroup path: which container, pod (with QoS class) or VM a process
// belongs to, for containerd, CRI-O, Docker and podman under the systemd and cgroupfs drivers,
// cgroup v1 and v2, and QEMU/KVM guests under libvirt. Pure functions; any input string, however
// malformed, gives a result ("system process" when nothing is recognised) and never crashes.
#pragma once

#include <string>
#include <string_view>

namespace wattson::usage {

enum class WorkloadKind {
  kSystemProcess,  // a host process in no recognised workload (Kepler: "system_processes")
  kKernel,         // a kernel thread (Kepler: "kernel_processes"); only IdentifyProcess says so
  kContainer,      // a container, in a pod or not
  kPodSandbox,     // in a pod's cgroup but in none of its containers' cgroups (pod-level infra)
  kVm,             // a QEMU/KVM guest started by libvirt
};

enum class ContainerRuntime { kNone, kUnknown, kContainerd, kCrio, kDocker, kPodman };

enum class PodQos { kNone, kGuaranteed, kBurstable, kBestEffort };

struct WorkloadIdentity {
  WorkloadKind kind = WorkloadKind::kSystemProcess;
  std::string container_id;  // 64 lowercase hex digits
  ContainerRuntime runtime = ContainerRuntime::kNone;
  std::string pod_uid;  // dashed UUID ("3d274242-8ee0-11e9-...") or a static pod's 32-hex hash
  PodQos qos = PodQos::kNone;
  std::string vm_id;    // libvirt machine name, e.g. "qemu-3-web-01"
  std::string vm_name;  // libvirt domain name, e.g. "web-01"

  bool operator==(const WorkloadIdentity&) const = default;
};

// Identifies the workload of one cgroup path. `path` is either a bare path ("/kubepods.slice/...")
// or the contents of /proc/<pid>/cgroup, or one line of it ("0::/..." or "4:cpu,cpuacct:/..."), in
// which case the line is chosen as SelectCgroupPath documents.
//
// Rules, applied to the path's components from the root down; each recognised component sets the
// identity at its depth, so the innermost workload wins (a container nested in a container, kind
// nodes seen from their host):
//  * pod: in a kubepods hierarchy, "pod<uid>" (cgroupfs) or "<...kubepods...>-pod<uid>.slice"
//    (systemd; '_' in the uid becomes '-'); QoS from the "burstable"/"besteffort" parent or slice
//    name, else guaranteed. Gives kPodSandbox until a container component follows.
//  * container: "cri-containerd-<id>.scope" (containerd), "crio-<id>[.scope]" (CRI-O),
//    "docker-<id>.scope" or "docker/<id>" (Docker), "libpod-<id>[.scope]" (podman), or a bare
//    "<id>" (runtime unknown: the cgroupfs driver does not name it); <id> = 64 hex digits. The pod
//    seen above it, if any, is kept.
//  * "crio-conmon-<id>" and "libpod-conmon-<id>" are the runtimes' monitor processes, not the
//    container: they reset the identity to kSystemProcess.
//  * VM: "machine-qemu\x2d<N>\x2d<name>.scope" (systemd, escapes undone) or
//    "qemu-<N>-<name>.libvirt-qemu" (libvirt's cgroupfs layout); threads in sub-cgroups
//    (libvirt/vcpu0, emulator) belong to the VM.
//  * "." and ".." components (paths seen from inside a cgroup namespace) are skipped.
// Anything else leaves the identity unchanged; a path that matches nothing is kSystemProcess.
WorkloadIdentity ParseCgroupPath(std::string_view path);

// The identity of a process: kKernel for kernel threads (PF_KTHREAD set, which is what Kepler's
// "cgroup id 1" merge approximates: kernel threads live in the root cgroup), else
// ParseCgroupPath(cgroup_path). A user process in the root cgroup is a system process, not kernel.
WorkloadIdentity IdentifyProcess(bool kernel_thread, std::string_view cgroup_path);

// Undoes systemd unit-name escaping ("\x2d" -> '-'). Malformed escapes, and escapes that would
// give a control character or '/', are kept as written.
std::string UnescapeSystemdName(std::string_view name);

// Lower-case names for labels: "system", "kernel", "container", "pod", "vm"; "", "unknown",
// "containerd", "cri-o", "docker", "podman"; "", "guaranteed", "burstable", "besteffort".
std::string_view WorkloadKindName(WorkloadKind kind);
std::string_view ContainerRuntimeName(ContainerRuntime runtime);
std::string_view PodQosName(PodQos qos);

}  // namespace wattson::usage
