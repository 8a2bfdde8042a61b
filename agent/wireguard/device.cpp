#include "wireguard/device.h"

#include <fstream>

#include "base/netlink.h"
#include "base/system.h"
#include "wireguard/kernel_device.h"
#include "wireguard/link.h"
#include "wireguard/userspace_device.h"

namespace smi::wireguard {
namespace {

constexpr std::string_view kKernelKind = "wireguard";
constexpr std::string_view kUserspaceKind = "tun";

}  // namespace

std::string_view engine_name(Engine e) {
  return e == Engine::kernel ? "kernel" : "wireguard-go";
}

Result<bool> Device::apply(const DeviceConfig& desired) const {
  auto current = get();
  if (!current) return std::move(current).error();
  DeviceChange change = diff(desired, *current);
  if (change.empty()) return false;
  SMI_TRY(set(change));
  return true;
}

bool kernel_engine_available() {
  return genl_family_id("wireguard").ok();
}

Status check_engine_choice(std::string_view choice) {
  if (choice == "auto" || choice == "kernel" || choice == "wireguard-go") return ok();
  return Error(fmt::format("--wireguard-engine: '{}' is not auto, kernel or wireguard-go", choice), EINVAL);
}

Result<std::unique_ptr<Device>> ensure_device(const DeviceOptions& o) {
  SMI_TRY(check_engine_choice(o.engine));
  auto kind = link_kind(o.ifname);
  if (!kind) return std::move(kind).error();
  std::optional<Engine> engine;
  if (*kind) {
    // The device the agent ran before this start: its engine stays, so the
    // tunnel (and every connection through it) outlives the restart.
    if (**kind == kKernelKind) {
      engine = Engine::kernel;
    } else if (**kind == kUserspaceKind) {
      engine = Engine::userspace;
    } else {
      return Error(
          fmt::format("interface {} exists and is not a WireGuard device (its kind is '{}'): "
                      "choose another --wireguard-interface",
                      o.ifname, **kind));
    }
    if (o.engine != "auto" && o.engine != engine_name(*engine))
      return Error(
          fmt::format("WireGuard device {} runs on the {} engine, but --wireguard-engine is {}: "
                      "`smi-agent uninstall` removes it, or start with the engine it has",
                      o.ifname, engine_name(*engine), o.engine));
  } else if (o.engine == "kernel") {
    engine = Engine::kernel;
  } else if (o.engine == "wireguard-go") {
    engine = Engine::userspace;
  } else {
    engine = kernel_engine_available() ? Engine::kernel : Engine::userspace;
  }
  if (*engine == Engine::kernel) {
    auto d = KernelDevice::ensure(o.ifname);
    if (!d) return std::move(d).error();
    return std::unique_ptr<Device>(std::move(*d));
  }
  auto d = UserspaceDevice::ensure(o.ifname, o.userspace_log, o.userspace_binary);
  if (!d) return std::move(d).error();
  return std::unique_ptr<Device>(std::move(*d));
}

Result<std::unique_ptr<Device>> open_device(const std::string& ifname) {
  auto kind = link_kind(ifname);
  if (!kind) return std::move(kind).error();
  if (!*kind) return Error("WireGuard device " + ifname + " is not an interface here", ENODEV);
  if (**kind == kKernelKind) {
    auto d = KernelDevice::open(ifname);
    if (!d) return std::move(d).error();
    return std::unique_ptr<Device>(std::move(*d));
  }
  auto d = UserspaceDevice::open(ifname);
  if (!d) return std::move(d).error();
  return std::unique_ptr<Device>(std::move(*d));
}

std::string interface_file(const std::string& state_dir) {
  return state_dir + "/" + std::string(kInterfaceFile);
}

Status record_interface(const std::string& state_dir, const std::string& ifname) {
  // write_file() writes only files that exist (cgroupfs, procfs).
  if (std::ofstream out(interface_file(state_dir)); !(out << ifname << "\n"))
    return Error("write " + interface_file(state_dir));
  return ok();
}

Result<std::string> recorded_interface(const std::string& state_dir) {
  auto text = read_file(interface_file(state_dir));
  if (!text) return std::move(text).error();
  std::string name = *text;
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  if (name.empty()) return Error(interface_file(state_dir) + " is empty");
  return name;
}

}  // namespace smi::wireguard
