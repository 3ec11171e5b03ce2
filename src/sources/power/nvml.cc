#include "sources/power/nvml.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "fmt/format.h"

namespace wattson {

namespace {

using InitFn = nvml::Return (*)();
using CountFn = nvml::Return (*)(unsigned int*);
using HandleFn = nvml::Return (*)(unsigned int, nvml::Device*);
using EnergyFn = nvml::Return (*)(nvml::Device, unsigned long long*);
using PowerFn = nvml::Return (*)(nvml::Device, unsigned int*);
using ProcUtilFn = nvml::Return (*)(nvml::Device, nvml::ProcessUtilizationSample*, unsigned int*,
                                    unsigned long long);
using ErrorStringFn = const char* (*)(nvml::Return);

// Looks up symbol in handle as a function pointer of type Fn (nullptr if absent).
template <typename Fn>
Fn Symbol(void* handle, const char* symbol) {
  void* p = ::dlsym(handle, symbol);
  Fn fn = nullptr;
  static_assert(sizeof(fn) == sizeof(p));
  std::memcpy(&fn, &p, sizeof fn);  // object pointer → function pointer, as POSIX allows
  return fn;
}

// NvmlApi over a dlopen'd libnvidia-ml; dlcloses it when destroyed.
class DlNvmlApi final : public NvmlApi {
 public:
  explicit DlNvmlApi(void* handle) : handle_(handle) {}
  ~DlNvmlApi() override { ::dlclose(handle_); }
  DlNvmlApi(const DlNvmlApi&) = delete;
  DlNvmlApi& operator=(const DlNvmlApi&) = delete;

  // Resolves the functions; returns the name of the first required one that is missing.
  std::optional<std::string> Resolve() {
    init_ = Symbol<InitFn>(handle_, "nvmlInit_v2");
    shutdown_ = Symbol<InitFn>(handle_, "nvmlShutdown");
    count_ = Symbol<CountFn>(handle_, "nvmlDeviceGetCount_v2");
    handle_by_index_ = Symbol<HandleFn>(handle_, "nvmlDeviceGetHandleByIndex_v2");
    energy_ = Symbol<EnergyFn>(handle_, "nvmlDeviceGetTotalEnergyConsumption");
    power_ = Symbol<PowerFn>(handle_, "nvmlDeviceGetPowerUsage");
    proc_util_ = Symbol<ProcUtilFn>(handle_, "nvmlDeviceGetProcessUtilization");
    error_string_ = Symbol<ErrorStringFn>(handle_, "nvmlErrorString");
    if (init_ == nullptr) return "nvmlInit_v2";
    if (shutdown_ == nullptr) return "nvmlShutdown";
    if (count_ == nullptr) return "nvmlDeviceGetCount_v2";
    if (handle_by_index_ == nullptr) return "nvmlDeviceGetHandleByIndex_v2";
    if (power_ == nullptr) return "nvmlDeviceGetPowerUsage";
    return std::nullopt;  // energy, process utilisation and error strings are optional
  }

  nvml::Return Init() override { return init_(); }
  nvml::Return Shutdown() override { return shutdown_(); }
  nvml::Return DeviceGetCount(unsigned int* count) override { return count_(count); }
  nvml::Return DeviceGetHandleByIndex(unsigned int index, nvml::Device* device) override {
    return handle_by_index_(index, device);
  }
  nvml::Return DeviceGetTotalEnergyConsumption(nvml::Device device,
                                               unsigned long long* energy_mj) override {
    return energy_ != nullptr ? energy_(device, energy_mj) : nvml::kErrorFunctionNotFound;
  }
  nvml::Return DeviceGetPowerUsage(nvml::Device device, unsigned int* power_mw) override {
    return power_(device, power_mw);
  }
  nvml::Return DeviceGetProcessUtilization(nvml::Device device,
                                           nvml::ProcessUtilizationSample* samples,
                                           unsigned int* count,
                                           unsigned long long last_seen_us) override {
    return proc_util_ != nullptr ? proc_util_(device, samples, count, last_seen_us)
                                 : nvml::kErrorFunctionNotFound;
  }
  std::string ErrorString(nvml::Return code) override {
    const char* s = error_string_ != nullptr ? error_string_(code) : nullptr;
    return s != nullptr ? std::string(s) : fmt::format("NVML error {}", code);
  }

 private:
  void* handle_;
  InitFn init_ = nullptr;
  InitFn shutdown_ = nullptr;
  CountFn count_ = nullptr;
  HandleFn handle_by_index_ = nullptr;
  EnergyFn energy_ = nullptr;
  PowerFn power_ = nullptr;
  ProcUtilFn proc_util_ = nullptr;
  ErrorStringFn error_string_ = nullptr;
};

constexpr unsigned int kMaxProcessSamples = 1u << 16;

}  // namespace

Result<std::unique_ptr<NvmlApi>> LoadNvml(const std::string& library) {
  ::dlerror();
  void* handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return Status::NotFound(fmt::format("{} cannot be loaded (no NVIDIA driver on this host?): {}",
                                        library, why != nullptr ? why : "unknown dlopen error"));
  }
  auto api = std::make_unique<DlNvmlApi>(handle);
  if (auto missing = api->Resolve()) {
    return Status::FailedPrecondition(
        fmt::format("{} has no {}: not an NVML library, or one too old", library, *missing));
  }
  return std::unique_ptr<NvmlApi>(std::move(api));
}

NvmlSource::NvmlSource(std::unique_ptr<NvmlApi> api, const Clock& clock,
                       std::shared_ptr<Logger> logger, std::vector<Gpu> gpus, NvmlOptions options)
    : api_(std::move(api)),
      clock_(clock),
      logger_(logger != nullptr ? std::move(logger) : MakeNullLogger()),
      gpus_(std::move(gpus)),
      options_(std::move(options)) {
  counters_.resize(gpus_.size());
  integrators_.assign(gpus_.size(), PowerIntegrator(options_.max_gap));
}

NvmlSource::~NvmlSource() {
  if (api_ != nullptr) {
    if (nvml::Return r = api_->Shutdown(); r != nvml::kSuccess) {
      logger_->warn("nvidia-nvml: nvmlShutdown failed: {}", Error(r));
    }
  }
}

std::string NvmlSource::Error(nvml::Return code) {
  return fmt::format("{} ({})", api_->ErrorString(code), code);
}

Result<PowerReading> NvmlSource::Read() {
  const Clock::MonoTime now = clock_.Now();
  std::string first_error;
  int errors = 0;
  for (std::size_t i = 0; i < gpus_.size(); ++i) {
    const Gpu& g = gpus_[i];
    if (g.has_energy_counter) {
      unsigned long long mj = 0;
      nvml::Return r = api_->DeviceGetTotalEnergyConsumption(g.device, &mj);
      if (r != nvml::kSuccess) {
        if (errors++ == 0) {
          first_error =
              fmt::format("GPU {}: nvmlDeviceGetTotalEnergyConsumption: {}", g.index, Error(r));
        }
        continue;
      }
      const CounterAccumulator::Update u = counters_[i].Add(mj);
      if (u.outcome == CounterAccumulator::Outcome::kDropped) {
        logger_->warn("nvidia-nvml GPU {}: interval dropped: {} (driver reloaded?)", g.index,
                      u.why);
      }
    } else {
      unsigned int mw = 0;
      nvml::Return r = api_->DeviceGetPowerUsage(g.device, &mw);
      if (r != nvml::kSuccess) {
        if (errors++ == 0) {
          first_error = fmt::format("GPU {}: nvmlDeviceGetPowerUsage: {}", g.index, Error(r));
        }
        continue;
      }
      auto u = integrators_[i].Add(now, Watts(mw * 1e-3));
      if (u.ok() && u->dropped) {
        logger_->warn(
            "nvidia-nvml GPU {}: no reading for more than {} s; that interval is not "
            "counted",
            g.index, options_.max_gap.value());
      }
    }
  }
  if (errors > 0) {
    if (errors > 1) first_error += fmt::format(" (and {} more GPUs failed)", errors - 1);
    return Status::IoError("nvidia-nvml: " + first_error);
  }
  PowerReading reading;
  reading.at = now;
  for (std::size_t i = 0; i < gpus_.size(); ++i) {
    const Joules e = gpus_[i].has_energy_counter
                         ? MillijoulesToJoules(static_cast<double>(counters_[i].total()))
                         : integrators_[i].total();
    reading.zones.push_back({"gpu", std::to_string(gpus_[i].index), e});
  }
  return reading;
}

Result<std::map<int, GpuProcessUtil>> NvmlSource::ProcessUtilization(unsigned int gpu_index) {
  auto it =
      std::find_if(gpus_.begin(), gpus_.end(), [&](const Gpu& g) { return g.index == gpu_index; });
  if (it == gpus_.end()) {
    return Status::NotFound(fmt::format("nvidia-nvml: no GPU {} in this source", gpu_index));
  }
  unsigned long long& last_seen = last_seen_us_[gpu_index];
  std::map<int, GpuProcessUtil> out;
  unsigned int count = 0;
  nvml::Return r = api_->DeviceGetProcessUtilization(it->device, nullptr, &count, last_seen);
  if (r == nvml::kErrorNotFound || (r == nvml::kSuccess && count == 0)) return out;
  if (r == nvml::kErrorNotSupported || r == nvml::kErrorFunctionNotFound) {
    return Status::Unavailable(fmt::format(
        "nvidia-nvml GPU {}: per-process utilisation not supported: {}", gpu_index, Error(r)));
  }
  if (r != nvml::kErrorInsufficientSize && r != nvml::kSuccess) {
    return Status::IoError(fmt::format("nvidia-nvml GPU {}: nvmlDeviceGetProcessUtilization: {}",
                                       gpu_index, Error(r)));
  }
  // Room for processes that appear between the two calls.
  count = std::min(kMaxProcessSamples, count + 16);
  std::vector<nvml::ProcessUtilizationSample> samples(count);
  r = api_->DeviceGetProcessUtilization(it->device, samples.data(), &count, last_seen);
  if (r == nvml::kErrorNotFound) return out;
  if (r != nvml::kSuccess) {
    return Status::IoError(fmt::format("nvidia-nvml GPU {}: nvmlDeviceGetProcessUtilization: {}",
                                       gpu_index, Error(r)));
  }
  count = std::min<unsigned int>(count, static_cast<unsigned int>(samples.size()));
  std::map<int, int> n;
  unsigned long long newest = last_seen;
  for (unsigned int i = 0; i < count; ++i) {
    const nvml::ProcessUtilizationSample& s = samples[i];
    if (s.timeStamp <= last_seen) continue;
    const int pid = static_cast<int>(s.pid);
    out[pid].sm_percent += s.smUtil;
    out[pid].mem_percent += s.memUtil;
    ++n[pid];
    newest = std::max(newest, s.timeStamp);
  }
  for (auto& [pid, u] : out) {
    u.sm_percent /= n[pid];
    u.mem_percent /= n[pid];
  }
  last_seen = newest;
  return out;
}

Result<std::unique_ptr<NvmlSource>> ProbeNvmlWith(std::unique_ptr<NvmlApi> api, const Clock& clock,
                                                  std::shared_ptr<Logger> logger,
                                                  NvmlOptions options) {
  if (logger == nullptr) logger = MakeNullLogger();
  if (api == nullptr) return Status::InvalidArgument("ProbeNvmlWith: no NVML API given");
  if (nvml::Return r = api->Init(); r != nvml::kSuccess) {
    return Status::Unavailable(fmt::format("nvmlInit_v2 failed: {} ({})", api->ErrorString(r), r));
  }
  // From here on NVML is initialised: shut it down on every failure path.
  auto fail = [&](Status s) -> Status {
    if (nvml::Return r = api->Shutdown(); r != nvml::kSuccess) {
      logger->warn("nvidia-nvml: nvmlShutdown failed: {}", api->ErrorString(r));
    }
    return s;
  };
  unsigned int count = 0;
  if (nvml::Return r = api->DeviceGetCount(&count); r != nvml::kSuccess) {
    return fail(Status::Unavailable(
        fmt::format("nvmlDeviceGetCount_v2 failed: {} ({})", api->ErrorString(r), r)));
  }
  if (count == 0) return fail(Status::NotFound("NVML reports no GPUs"));
  std::vector<NvmlSource::Gpu> gpus;
  for (unsigned int i = 0; i < count; ++i) {
    NvmlSource::Gpu g;
    g.index = i;
    if (nvml::Return r = api->DeviceGetHandleByIndex(i, &g.device); r != nvml::kSuccess) {
      logger->warn("nvidia-nvml: GPU {} skipped: nvmlDeviceGetHandleByIndex_v2: {}", i,
                   api->ErrorString(r));
      continue;
    }
    unsigned long long mj = 0;
    unsigned int mw = 0;
    if (api->DeviceGetTotalEnergyConsumption(g.device, &mj) == nvml::kSuccess) {
      g.has_energy_counter = true;
    } else if (nvml::Return r = api->DeviceGetPowerUsage(g.device, &mw); r != nvml::kSuccess) {
      logger->warn("nvidia-nvml: GPU {} skipped: it reports neither energy nor power: {}", i,
                   api->ErrorString(r));
      continue;
    }
    gpus.push_back(g);
  }
  if (gpus.empty()) {
    return fail(Status::NotFound(fmt::format(
        "none of the {} GPUs NVML reports has an energy counter or power reading", count)));
  }
  auto source = std::make_unique<NvmlSource>(std::move(api), clock, std::move(logger),
                                             std::move(gpus), std::move(options));
  // The source now owns the session; its destructor shuts NVML down.
  WATTSON_RETURN_IF_ERROR(source->Read().status());
  return source;
}

Result<std::unique_ptr<NvmlSource>> ProbeNvml(const Clock& clock, std::shared_ptr<Logger> logger,
                                              NvmlOptions options) {
  WATTSON_ASSIGN_OR_RETURN(std::unique_ptr<NvmlApi> api, LoadNvml(options.library));
  return ProbeNvmlWith(std::move(api), clock, std::move(logger), std::move(options));
}

}  // namespace wattson
