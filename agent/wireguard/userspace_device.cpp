#include "wireguard/userspace_device.h"

#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "base/fd.h"
#include "base/rtnl.h"
#include "base/system.h"

namespace smi::wireguard {
namespace {

using namespace std::chrono_literals;

Status set_up(const std::string& ifname) {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return Error::from_errno("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return Error::from_errno("read the flags of " + ifname);
  if (ifr.ifr_flags & IFF_UP) return ok();
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return Error::from_errno("set " + ifname + " up");
  return ok();
}

// wireguard-go without -f makes the TUN device and the UAPI socket, hands
// them to a background copy of itself and exits 0: once it has, the device
// is there.
Status start(const std::string& binary, const std::string& ifname, const std::string& log_path) {
  Fd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!log) return Error::from_errno("open " + log_path);
  Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null) return Error::from_errno("open /dev/null");
  pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("fork for " + binary);
  if (pid == 0) {
    // Debian's build refuses kernels >= 5.6 (which have the module) unless told.
    ::setenv("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1", 1);
    ::setenv("LOG_LEVEL", "error", 1);
    ::dup2(null.get(), STDIN_FILENO);
    ::dup2(log.get(), STDOUT_FILENO);
    ::dup2(log.get(), STDERR_FILENO);
    ::execlp(binary.c_str(), binary.c_str(), ifname.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return Error::from_errno("wait for " + binary);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return Error(binary + " was not found or could not run");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error(fmt::format("{} {} failed (exit status {})", binary, ifname,
                             WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
  return ok();
}

}  // namespace

Result<UserspaceDevice> UserspaceDevice::ensure(const std::string& ifname, const std::string& log_path,
                                                const std::string& binary) {
  UserspaceDevice d;
  d.ifname_ = ifname;
  UapiClient client = d.client();
  const bool answers = client.get().ok();
  const bool here = ::if_nametoindex(ifname.c_str()) != 0;
  if (answers && !here)
    // The socket directory is per mount namespace, not per network namespace:
    // another network namespace's device of the same name (a second agent
    // on this machine) must be left alone.
    return Error(fmt::format("WireGuard device {}: {} answers, but {} is not an interface in this network namespace: "
                             "another namespace's device has that name (choose another --wireguard-interface)",
                             ifname, client.path(), ifname));
  if (answers) {
    d.adopted_ = true;
  } else {
    // A socket left by a wireguard-go that died answers nothing: wireguard-go
    // would refuse to start over it.
    ::unlink(client.path().c_str());
    SMI_TRY(start(binary, ifname, log_path).context("start WireGuard device " + ifname));
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!client.get().ok()) {
      if (std::chrono::steady_clock::now() > deadline)
        return Error("WireGuard device " + ifname + ": wireguard-go started but " + client.path() + " does not answer");
      std::this_thread::sleep_for(20ms);
    }
  }
  d.ifindex_ = static_cast<int>(::if_nametoindex(ifname.c_str()));
  if (d.ifindex_ == 0) return Error::from_errno("WireGuard device " + ifname + " is not an interface here");
  SMI_TRY(set_up(ifname));
  return d;
}

std::string interface_file(const std::string& state_dir) { return state_dir + "/" + std::string(kInterfaceFile); }

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

Status delete_interface(const std::string& ifname) {
  int ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
  if (ifindex == 0) return ok();
  struct {
    nlmsghdr nh;
    ifinfomsg ifi;
  } req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  req.nh.nlmsg_type = RTM_DELLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.ifi.ifi_index = ifindex;
  if (auto st = rtnl_exchange(&req, req.nh.nlmsg_len, [](const nlmsghdr*) {}); !st && st.error().code() != ENODEV)
    return std::move(st).error().context("delete interface " + ifname);
  return ok();
}

}  // namespace smi::wireguard
