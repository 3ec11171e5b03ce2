// PodResolver maps pod UIDs to {name, namespace} and container ids to container names, from the
// kubelet's /pods endpoint (cpp-httplib, bearer token from a file) or from a static PodList JSON
// file. It refreshes at most every min_refresh_interval (measured with Clock); a failed or
// malformed refresh keeps the previous mapping and reports why. Thread-safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "common/status.h"
#include "common/units.h"
#include "sources/usage/cgroup_identity.h"

namespace wattson::usage {

struct PodMeta {
  std::string uid;
  std::string name;
  std::string namespace_name;
};

struct ContainerMeta {
  std::string name;
  std::string pod_uid;
};

// The useful part of a v1 PodList.
struct PodTable {
  std::unordered_map<std::string, PodMeta> pods;              // by pod UID
  std::unordered_map<std::string, ContainerMeta> containers;  // by bare container id
};

// Parses a v1 PodList (the kubelet's /pods reply, or `kubectl get pods -o json`):
// items[].metadata.{uid,name,namespace} and status.{,init,ephemeral}ContainerStatuses[].
// {name,containerID}. Items without a uid, and statuses without a containerID (not started yet),
// are skipped; a document that is not a PodList is an error.
Result<PodTable> ParsePodList(std::string_view json);

// "containerd://abc" -> "abc"; also "cri-o://", "docker://" and any other "<scheme>://".
std::string_view StripRuntimePrefix(std::string_view container_id);

struct PodResolverOptions {
  // The kubelet's pod list, e.g. "https://127.0.0.1:10250/pods" or "http://127.0.0.1:10255/pods".
  // Empty: use static_file.
  std::string kubelet_url;
  std::string token_path;    // file holding a bearer token, re-read on each refresh; "" = none
  std::string ca_cert_path;  // CA bundle to verify the kubelet's serving certificate
  bool insecure_skip_tls_verify = false;  // kubelets often serve a self-signed certificate
  std::string static_file;                // a PodList JSON file, used when kubelet_url is empty
  Seconds min_refresh_interval{30};
  Seconds timeout{5};  // connect and read timeouts of one request
  std::size_t max_bytes = 64u << 20;
};

// What a workload resolves to. Without a mapping for its pod, pod_name is the pod UID and
// pod_namespace is "" (documented fallback), and pod_known is false.
struct ResolvedWorkload {
  std::string pod_name;
  std::string pod_namespace;
  std::string container_name;  // "" when unknown
  bool pod_known = false;
  // The pod is known but this container is in none of its container statuses: the pod sandbox
  // ("pause") container, which the kubelet does not list.
  bool sandbox = false;
};

class PodResolver {
 public:
  PodResolver(PodResolverOptions options, const Clock& clock);

  // Reloads the mapping if min_refresh_interval has passed since the last attempt (or force).
  // Returns the outcome of this attempt (OK if none was due). On error the previous mapping stays.
  Status MaybeRefresh(bool force = false);

  ResolvedWorkload Resolve(const WorkloadIdentity& id) const;

  std::size_t pod_count() const;
  Status last_status() const;

 private:
  Result<std::string> Fetch() const;

  const PodResolverOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  PodTable table_;
  bool attempted_ = false;
  Clock::MonoTime last_attempt_{};
  Status last_status_;
};

}  // namespace wattson::usage
