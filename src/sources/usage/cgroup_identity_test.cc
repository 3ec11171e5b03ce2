#include "sources/usage/cgroup_identity.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sources/usage/procfs.h"

namespace wattson::usage {
namespace {

using K = WorkloadKind;
using R = ContainerRuntime;
using Q = PodQos;

// Container ids and pod UIDs seen in public bug reports and runtime test suites.
constexpr char kDockerA[] = "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860";
constexpr char kDockerB[] = "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d";
constexpr char kK8sC[] = "3e74d3fd9db4c9dd921ae05c2502fb984d0cde1b36e581b13f79c639da4518a1";
constexpr char kPodUid[] = "3d274242-8ee0-11e9-a8a6-1e68d864ef1a";
constexpr char kCrioC[] = "89e8f450417b56acf3089925dfd8f050dd50e950e18cfe83ea923269df601102";
constexpr char kCrioPod[] = "ae7a96fb-2bdc-46b0-96e2-78e4af94847b";
constexpr char kCtrdC[] = "66be9b2efdf4d85288c319b8c1a2f50d2439b5617e36f45d9d0d0be1381113be";
constexpr char kCtrdPod[] = "e1465238-4518-4c21-832f-fd9f87033dad";
constexpr char kKindNode[] = "d6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22";

std::string Us(std::string uid) {
  for (char& c : uid) {
    if (c == '-') c = '_';
  }
  return uid;
}

struct Case {
  std::string name;
  std::string path;
  K kind;
  std::string container_id = "";
  R runtime = R::kNone;
  std::string pod_uid = "";
  Q qos = Q::kNone;
  std::string vm_id = "";
  std::string vm_name = "";
};

std::vector<Case> Cases() {
  const std::string d = kDockerA, c = kK8sC, crio = kCrioC, ctrd = kCtrdC;
  const std::string pod = kPodUid, crio_pod = kCrioPod, ctrd_pod = kCtrdPod;
  return {
      // Host processes.
      {"root", "/", K::kSystemProcess},
      {"init", "/init.scope", K::kSystemProcess},
      {"service", "/system.slice/containerd.service", K::kSystemProcess},
      {"session", "/user.slice/user-1000.slice/session-3.scope", K::kSystemProcess},
      {"v2 line", "0::/system.slice/sshd.service", K::kSystemProcess},
      // Docker.
      {"docker cgroupfs", "/docker/" + d, K::kContainer, d, R::kDocker},
      {"docker cgroupfs v1 line", "13:name=systemd:/docker/" + d, K::kContainer, d, R::kDocker},
      {"docker systemd v1",
       "2:cpuacct,cpu:/system.slice/docker-" + std::string(kDockerB) + ".scope", K::kContainer,
       kDockerB, R::kDocker},
      {"docker systemd v2", "0::/system.slice/docker-" + d + ".scope", K::kContainer, d,
       R::kDocker},
      {"docker systemd-in-container init.scope",
       "0::/system.slice/docker-" + d + ".scope/init.scope", K::kContainer, d, R::kDocker},
      {"docker-in-docker", "/docker/" + std::string(kDockerB) + "/docker/" + d, K::kContainer, d,
       R::kDocker},
      {"github actions cgroup-parent", "/actions_job/" + d, K::kContainer, d, R::kUnknown},
      // Kubernetes, cgroupfs driver (cgroup v1).
      {"k8s cgroupfs besteffort", "11:perf_event:/kubepods/besteffort/pod" + pod + "/" + c,
       K::kContainer, c, R::kUnknown, pod, Q::kBestEffort},
      {"k8s cgroupfs burstable", "/kubepods/burstable/pod" + pod + "/" + c, K::kContainer, c,
       R::kUnknown, pod, Q::kBurstable},
      {"k8s cgroupfs guaranteed", "/kubepods/pod" + pod + "/" + c, K::kContainer, c, R::kUnknown,
       pod, Q::kGuaranteed},
      {"k8s cgroupfs pod level", "/kubepods/burstable/pod" + pod, K::kPodSandbox, "", R::kNone, pod,
       Q::kBurstable},
      {"k8s cgroupfs crio", "/kubepods/besteffort/pod" + crio_pod + "/crio-" + crio, K::kContainer,
       crio, R::kCrio, crio_pod, Q::kBestEffort},
      {"k8s cgroupfs crio conmon", "/kubepods/besteffort/pod" + crio_pod + "/crio-conmon-" + crio,
       K::kSystemProcess},
      {"k3s style custom root", "/k3s/kubepods/burstable/pod" + pod + "/" + c, K::kContainer, c,
       R::kUnknown, pod, Q::kBurstable},
      // Kubernetes, systemd driver (cgroup v1 and v2).
      {"containerd systemd besteffort",
       "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + Us(ctrd_pod) +
           ".slice/cri-containerd-" + ctrd + ".scope",
       K::kContainer, ctrd, R::kContainerd, ctrd_pod, Q::kBestEffort},
      {"containerd systemd burstable",
       "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + Us(pod) +
           ".slice/cri-containerd-" + c + ".scope",
       K::kContainer, c, R::kContainerd, pod, Q::kBurstable},
      {"containerd systemd guaranteed",
       "/kubepods.slice/kubepods-pod" + Us(pod) + ".slice/cri-containerd-" + c + ".scope",
       K::kContainer, c, R::kContainerd, pod, Q::kGuaranteed},
      {"crio systemd",
       "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + Us(crio_pod) +
           ".slice/crio-" + crio + ".scope",
       K::kContainer, crio, R::kCrio, crio_pod, Q::kBestEffort},
      {"crio systemd container sub-cgroup",
       "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + Us(crio_pod) +
           ".slice/crio-" + crio + ".scope/container",
       K::kContainer, crio, R::kCrio, crio_pod, Q::kBurstable},
      {"crio conmon systemd",
       "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + Us(crio_pod) +
           ".slice/crio-conmon-" + crio + ".scope",
       K::kSystemProcess},
      {"docker systemd in kubepods",
       "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
           Us("9692aa0e-748e-11e8-8dfa-76d458035df6") +
           ".slice/docker-abddff03dfd7710c79a750ce3e730365cbb2c8247a974170c1062683bc3e9152.scope",
       K::kContainer, "abddff03dfd7710c79a750ce3e730365cbb2c8247a974170c1062683bc3e9152",
       R::kDocker, "9692aa0e-748e-11e8-8dfa-76d458035df6", Q::kBestEffort},
      {"static pod 32-hex uid",
       "/kubepods.slice/kubepods-burstable.slice/"
       "kubepods-burstable-pod1864dd0546310be9937c37cf88024cb8.slice/crio-" +
           crio + ".scope",
       K::kContainer, crio, R::kCrio, "1864dd0546310be9937c37cf88024cb8", Q::kBurstable},
      {"pod slice only",
       "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + Us(pod) + ".slice",
       K::kPodSandbox, "", R::kNone, pod, Q::kBurstable},
      {"qos slice only", "/kubepods.slice/kubepods-burstable.slice", K::kSystemProcess},
      // kind and minikube: nodes are containers, seen from the host or from the node.
      {"kind inside node",
       "0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
       "kubelet-kubepods-besteffort-pod" +
           Us(ctrd_pod) + ".slice/cri-containerd-" + ctrd + ".scope",
       K::kContainer, ctrd, R::kContainerd, ctrd_pod, Q::kBestEffort},
      {"kind guaranteed",
       "0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + Us(pod) +
           ".slice/cri-containerd-" + c + ".scope",
       K::kContainer, c, R::kContainerd, pod, Q::kGuaranteed},
      {"kind seen from host: innermost wins",
       "0::/system.slice/docker-" + std::string(kKindNode) +
           ".scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
           "kubelet-kubepods-burstable-pod" +
           Us(pod) + ".slice/cri-containerd-" + c + ".scope",
       K::kContainer, c, R::kContainerd, pod, Q::kBurstable},
      {"kind node's own processes",
       "0::/system.slice/docker-" + std::string(kKindNode) +
           ".scope/system.slice/containerd.service",
       K::kContainer, kKindNode, R::kDocker},
      {"minikube crio in docker",
       "/docker/" + std::string(kKindNode) +
           "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + Us(crio_pod) +
           ".slice/crio-" + crio + ".scope",
       K::kContainer, crio, R::kCrio, crio_pod, Q::kBestEffort},
      {"docker in a pod", "/kubepods/burstable/pod" + pod + "/" + c + "/docker/" + d, K::kContainer,
       d, R::kDocker, pod, Q::kBurstable},
      {"seen from a cgroup namespace",
       "0::/../../kubepods-besteffort-pod" + Us(ctrd_pod) + ".slice/cri-containerd-" + ctrd +
           ".scope",
       K::kContainer, ctrd, R::kContainerd, ctrd_pod, Q::kBestEffort},
      // podman.
      {"podman systemd", "0::/machine.slice/libpod-" + d + ".scope", K::kContainer, d, R::kPodman},
      {"podman systemd container sub-cgroup", "0::/machine.slice/libpod-" + d + ".scope/container",
       K::kContainer, d, R::kPodman},
      {"podman rootless",
       "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + d + ".scope",
       K::kContainer, d, R::kPodman},
      {"podman cgroupfs", "/libpod_parent/libpod-" + d, K::kContainer, d, R::kPodman},
      {"podman conmon", "0::/machine.slice/libpod-conmon-" + d + ".scope", K::kSystemProcess},
      // QEMU/KVM under libvirt.
      {"libvirt systemd", "0::/machine.slice/machine-qemu\\x2d1\\x2dubuntu22.04.scope", K::kVm, "",
       R::kNone, "", Q::kNone, "qemu-1-ubuntu22.04", "ubuntu22.04"},
      {"libvirt systemd dashed name",
       "0::/machine.slice/machine-qemu\\x2d12\\x2dweb\\x2d01.scope/libvirt/vcpu0", K::kVm, "",
       R::kNone, "", Q::kNone, "qemu-12-web-01", "web-01"},
      {"libvirt systemd emulator", "0::/machine.slice/machine-qemu\\x2d3\\x2dvm.scope/emulator",
       K::kVm, "", R::kNone, "", Q::kNone, "qemu-3-vm", "vm"},
      {"libvirt old name without id", "/machine.slice/machine-qemu\\x2dlegacy\\x2dvm.scope", K::kVm,
       "", R::kNone, "", Q::kNone, "qemu-legacy-vm", "legacy-vm"},
      {"libvirt custom slice", "/machine.slice/machine-rt.slice/machine-qemu\\x2d4\\x2drt1.scope",
       K::kVm, "", R::kNone, "", Q::kNone, "qemu-4-rt1", "rt1"},
      {"libvirt cgroupfs", "4:cpu,cpuacct:/machine/qemu-2-web-01.libvirt-qemu/emulator", K::kVm, "",
       R::kNone, "", Q::kNone, "qemu-2-web-01", "web-01"},
      {"libvirt cgroupfs partition", "/machine/prod.partition/qemu-7-db.libvirt-qemu/vcpu1", K::kVm,
       "", R::kNone, "", Q::kNone, "qemu-7-db", "db"},
      {"libvirt lxc is not a vm", "/machine/lxc-1268-sl.libvirt-lxc", K::kSystemProcess},
      {"nspawn machine is not a vm", "/machine.slice/machine-debian.scope", K::kSystemProcess},
      {"xen qemu-dm is not libvirt", "1:name=systemd:/vm.slice/qemu-datapath@199.service",
       K::kSystemProcess},
      // Truncated and hostile strings.
      {"empty", "", K::kSystemProcess},
      {"no slash", "kubepods", K::kSystemProcess},
      {"truncated id", "/docker/" + d.substr(0, 63), K::kSystemProcess},
      {"long id", "/docker/" + d + "0", K::kSystemProcess},
      {"upper-case id", "/docker/3726184226F5D3147C25FDEAB5B60097E378E8A720503A5E19ECFDF29F869860",
       K::kSystemProcess},
      {"truncated scope", "/system.slice/docker-" + d + ".sco", K::kSystemProcess},
      {"scope without id", "/system.slice/docker-.scope", K::kSystemProcess},
      {"bad pod uid", "/kubepods/burstable/podnot-a-uid/" + c, K::kContainer, c, R::kUnknown},
      {"pod outside kubepods", "/user.slice/pod" + pod, K::kSystemProcess},
      {"pod slice without kubepods", "/foo.slice/foo-pod" + Us(pod) + ".slice", K::kSystemProcess},
      {"bad machine name", "/machine.slice/machine-qemu\\x2d.scope", K::kSystemProcess},
      {"escaped slash kept", "/machine.slice/machine-qemu\\x2d1\\x2da\\x2fb.scope", K::kVm, "",
       R::kNone, "", Q::kNone, "qemu-1-a\\x2fb", "a\\x2fb"},
      {"control char escape kept", "/machine.slice/machine-qemu\\x2d1\\x2dx\\x01.scope", K::kVm, "",
       R::kNone, "", Q::kNone, "qemu-1-x\\x01", "x\\x01"},
      {"broken escape", "/machine.slice/machine-qemu\\x2", K::kSystemProcess},
      {"dots only", "/../../..", K::kSystemProcess},
      {"garbage lines", "::::\n\n1:\n", K::kSystemProcess},
      {"nul bytes", std::string("/docker/\0\0\0", 11), K::kSystemProcess},
  };
}

TEST(ParseCgroupPathTest, RealWorldPaths) {
  for (const Case& t : Cases()) {
    SCOPED_TRACE(t.name + ": " + t.path);
    const WorkloadIdentity id = ParseCgroupPath(t.path);
    EXPECT_EQ(WorkloadKindName(id.kind), WorkloadKindName(t.kind));
    EXPECT_EQ(id.container_id, t.container_id);
    EXPECT_EQ(ContainerRuntimeName(id.runtime), ContainerRuntimeName(t.runtime));
    EXPECT_EQ(id.pod_uid, t.pod_uid);
    EXPECT_EQ(PodQosName(id.qos), PodQosName(t.qos));
    EXPECT_EQ(id.vm_id, t.vm_id);
    EXPECT_EQ(id.vm_name, t.vm_name);
  }
}

TEST(ParseCgroupPathTest, WholeCgroupFilePicksCpuHierarchy) {
  const std::string file =
      "12:pids:/kubepods/burstable/pod" + std::string(kPodUid) + "/" + kK8sC +
      "\n4:cpu,cpuacct:/kubepods/burstable/pod" + kPodUid + "/" + kK8sC +
      "\n1:name=systemd:/system.slice/containerd.service\n0::/system.slice/containerd.service\n";
  const WorkloadIdentity id = ParseCgroupPath(file);
  EXPECT_EQ(id.kind, K::kContainer);
  EXPECT_EQ(id.container_id, kK8sC);
  EXPECT_EQ(id.pod_uid, kPodUid);
}

TEST(IdentifyProcessTest, KernelThreadsByFlagNotByPath) {
  EXPECT_EQ(IdentifyProcess(true, "/").kind, K::kKernel);
  EXPECT_EQ(IdentifyProcess(true, "/system.slice/x.service").kind, K::kKernel);
  EXPECT_EQ(IdentifyProcess(false, "/").kind, K::kSystemProcess);
  EXPECT_EQ(IdentifyProcess(false, "/docker/" + std::string(kDockerA)).kind, K::kContainer);
}

TEST(UnescapeSystemdNameTest, Escapes) {
  EXPECT_EQ(UnescapeSystemdName("qemu\\x2d1\\x2dweb\\x2d01"), "qemu-1-web-01");
  EXPECT_EQ(UnescapeSystemdName("a\\x20b\\x5cc"), "a b\\c");
  EXPECT_EQ(UnescapeSystemdName("trailing\\x2"), "trailing\\x2");
  EXPECT_EQ(UnescapeSystemdName("bad\\xzz"), "bad\\xzz");
  EXPECT_EQ(UnescapeSystemdName("slash\\x2f"), "slash\\x2f");
  EXPECT_EQ(UnescapeSystemdName("\\x"), "\\x");
  EXPECT_EQ(UnescapeSystemdName(""), "");
}

TEST(ParseCgroupPathTest, RandomInputNeverCrashes) {
  std::mt19937 rng(12345);
  const std::string alphabet = "/-_.:\\x0123456789abcdefkubepodsslicescopecrio-dockerqemu\n";
  const std::vector<std::string> pieces = {
      "/kubepods", ".slice",    "-pod",    "/pod", "/docker/", "crio-", "conmon-",   ".scope",
      "machine-",  "qemu\\x2d", "libpod-", "/..",  kDockerA,   kPodUid, "burstable", "0::"};
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 12);
    for (int j = 0; j < n; ++j) {
      if (rng() % 2 == 0) {
        s += pieces[rng() % pieces.size()];
      } else {
        s += alphabet[rng() % alphabet.size()];
      }
    }
    const WorkloadIdentity id = ParseCgroupPath(s);
    if (id.kind == K::kContainer) {
      EXPECT_EQ(id.container_id.size(), 64u) << s;
    }
    if (id.kind == K::kVm) {
      EXPECT_FALSE(id.vm_name.empty()) << s;
    }
  }
  EXPECT_EQ(ParseCgroupPath(std::string(1 << 20, '/')).kind, K::kSystemProcess);
}

// Every process of the stored trees gets the identity the tree was built to show.
void CheckTree(const std::string& scenario, R k8s_runtime) {
  RootedHostFs fs(std::string(WATTSON_TESTDATA_DIR) + "/hosts/" + scenario);
  FakeClock clock;
  auto scan = ScanProcesses(fs, clock);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  int containers = 0, kernel = 0, vms = 0, system = 0;
  for (const ProcessSample& p : scan->processes) {
    SCOPED_TRACE(scenario + " pid " + std::to_string(p.pid) + " " + p.cgroup_path);
    const WorkloadIdentity id = IdentifyProcess(p.kernel_thread, p.cgroup_path);
    switch (id.kind) {
      case K::kContainer:
        ++containers;
        break;
      case K::kKernel:
        ++kernel;
        break;
      case K::kVm:
        ++vms;
        EXPECT_EQ(id.vm_id, "qemu-2-web-01");
        EXPECT_EQ(id.vm_name, "web-01");
        break;
      default:
        ++system;
    }
    if (p.pid == 1201) {
      EXPECT_EQ(id.pod_uid, "6b1c7b2e-3f1d-4c57-9a8e-0d2b6f4a1c11");
      EXPECT_EQ(id.qos, Q::kBurstable);
      EXPECT_EQ(id.runtime, k8s_runtime);
    }
    if (p.pid == 1302) {
      EXPECT_EQ(id.qos, Q::kGuaranteed);
    }
    if (p.pid == 1410) {
      EXPECT_EQ(id.runtime, R::kCrio);
      EXPECT_EQ(id.qos, Q::kBestEffort);
    }
    if (p.pid == 1405) {
      EXPECT_EQ(id.kind, K::kSystemProcess);  // conmon
    }
    if (p.pid == 1520) {
      EXPECT_EQ(id.runtime, R::kDocker);
    }
    if (p.pid == 1630) {
      EXPECT_EQ(id.runtime, R::kPodman);
    }
  }
  EXPECT_EQ(containers, 6);  // pause, nginx, redis, the CRI-O app, docker, podman
  EXPECT_EQ(kernel, 2);
  EXPECT_EQ(vms, 1);
  EXPECT_EQ(system, 4);  // systemd, containerd, conmon, the odd comm in a session
}

TEST(IdentityOnStoredTreesTest, CgroupV2) { CheckTree("procfs-cgroupv2", R::kContainerd); }
TEST(IdentityOnStoredTreesTest, CgroupV1) { CheckTree("procfs-cgroupv1", R::kUnknown); }

}  // namespace
}  // namespace wattson::usage
