// NVIDIA GPU energy through NVML (Kepler's "nvidia-nvml" source). libnvidia-ml.so.1 is loaded with
// dlopen at run time, never linked: a host without it simply has no GPU source. Energy comes from
// each GPU's cumulative counter (nvmlDeviceGetTotalEnergyConsumption, mJ, Volta and newer) or,
// where that is not supported, from nvmlDeviceGetPowerUsage (mW) integrated over the measured time.
// Zone "gpu", key = GPU index.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/logging.h"
#include "sources/power/energy_counter.h"
#include "sources/power/power_source.h"

namespace wattson {

// The few NVML types wattson needs, declared here (no nvml.h is installed). Layouts and values
// follow NVML's public header.
namespace nvml {
using Return = int;  // nvmlReturn_t
inline constexpr Return kSuccess = 0;
inline constexpr Return kErrorUninitialized = 1;
inline constexpr Return kErrorNotSupported = 3;
inline constexpr Return kErrorNoPermission = 4;
inline constexpr Return kErrorNotFound = 6;
inline constexpr Return kErrorInsufficientSize = 7;
inline constexpr Return kErrorDriverNotLoaded = 9;
inline constexpr Return kErrorFunctionNotFound = 13;
inline constexpr Return kErrorGpuIsLost = 15;
inline constexpr Return kErrorUnknown = 999;

struct DeviceSt;           // opaque
using Device = DeviceSt*;  // nvmlDevice_t

struct ProcessUtilizationSample {  // nvmlProcessUtilizationSample_t
  unsigned int pid;
  unsigned long long timeStamp;  // µs, CPU timestamp
  unsigned int smUtil;
  unsigned int memUtil;
  unsigned int encUtil;
  unsigned int decUtil;
};
}  // namespace nvml

// The NVML entry points wattson calls. The real one (LoadNvml) forwards to the dlsym'd functions;
// tests supply a fake. Each method returns an NVML return code.
class NvmlApi {
 public:
  virtual ~NvmlApi() = default;
  virtual nvml::Return Init() = 0;                               // nvmlInit_v2
  virtual nvml::Return Shutdown() = 0;                           // nvmlShutdown
  virtual nvml::Return DeviceGetCount(unsigned int* count) = 0;  // nvmlDeviceGetCount_v2
  virtual nvml::Return DeviceGetHandleByIndex(unsigned int index, nvml::Device* device) = 0;
  virtual nvml::Return DeviceGetTotalEnergyConsumption(nvml::Device device,
                                                       unsigned long long* energy_mj) = 0;
  virtual nvml::Return DeviceGetPowerUsage(nvml::Device device, unsigned int* power_mw) = 0;
  // kErrorFunctionNotFound when the library lacks it.
  virtual nvml::Return DeviceGetProcessUtilization(nvml::Device device,
                                                   nvml::ProcessUtilizationSample* samples,
                                                   unsigned int* count,
                                                   unsigned long long last_seen_us) = 0;
  virtual std::string ErrorString(nvml::Return code) = 0;  // nvmlErrorString
};

// dlopens library (default "libnvidia-ml.so.1") and resolves the functions above. NotFound when the
// library cannot be loaded (no NVIDIA driver: the normal case on most hosts); FailedPrecondition
// when it lacks a required function.
Result<std::unique_ptr<NvmlApi>> LoadNvml(const std::string& library = "libnvidia-ml.so.1");

struct NvmlOptions {
  std::string library = "libnvidia-ml.so.1";
  // Power samples further apart than this are not integrated (that interval is dropped).
  Seconds max_gap = Seconds(60.0);
};

// Per-process GPU use in the last sampling window, in percent of the GPU.
struct GpuProcessUtil {
  double sm_percent = 0;
  double mem_percent = 0;
};

// Reads every GPU that has an energy counter or a power reading. Owns the NVML session: calls
// nvmlShutdown when destroyed. Read() and ProcessUtilization() must be called from one thread.
class NvmlSource final : public PowerSource {
 public:
  struct Gpu {
    unsigned int index = 0;
    nvml::Device device = nullptr;
    bool has_energy_counter = false;  // else integrated power
  };

  NvmlSource(std::unique_ptr<NvmlApi> api, const Clock& clock, std::shared_ptr<Logger> logger,
             std::vector<Gpu> gpus, NvmlOptions options);
  ~NvmlSource() override;
  NvmlSource(const NvmlSource&) = delete;
  NvmlSource& operator=(const NvmlSource&) = delete;

  std::string name() const override { return "nvidia-nvml"; }
  Result<PowerReading> Read() override;
  const std::vector<Gpu>& gpus() const { return gpus_; }

  // pid → SM% / memory% on GPU gpu_index, averaged over the samples NVML reports since the
  // previous call for that GPU (all it holds on the first call). Empty when no process ran;
  // Unavailable when the GPU or library does not support per-process utilisation.
  Result<std::map<int, GpuProcessUtil>> ProcessUtilization(unsigned int gpu_index);

 private:
  std::string Error(nvml::Return code);

  std::unique_ptr<NvmlApi> api_;
  const Clock& clock_;
  std::shared_ptr<Logger> logger_;
  std::vector<Gpu> gpus_;
  NvmlOptions options_;
  std::vector<CounterAccumulator> counters_;
  std::vector<PowerIntegrator> integrators_;
  std::map<unsigned int, unsigned long long> last_seen_us_;
};

// Initialises NVML through api and finds the GPUs, then reads them once (the baseline).
// Unavailable when nvmlInit fails (driver not loaded), NotFound when there are no GPUs or none
// reports energy or power.
Result<std::unique_ptr<NvmlSource>> ProbeNvmlWith(std::unique_ptr<NvmlApi> api, const Clock& clock,
                                                  std::shared_ptr<Logger> logger,
                                                  NvmlOptions options = {});

// LoadNvml(options.library), then ProbeNvmlWith. An absent library gives NotFound, not an error.
Result<std::unique_ptr<NvmlSource>> ProbeNvml(const Clock& clock, std::shared_ptr<Logger> logger,
                                              NvmlOptions options = {});

}  // namespace wattson
