#include "wireguard/userspace_device.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "base/fd.h"
#include "wireguard/link.h"

namespace smi::wireguard {
namespace {

using namespace std::chrono_literals;

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

Result<std::unique_ptr<UserspaceDevice>> UserspaceDevice::open(const std::string& ifname) {
  std::unique_ptr<UserspaceDevice> d(new UserspaceDevice(ifname));
  d->ifindex_ = static_cast<int>(::if_nametoindex(ifname.c_str()));
  if (d->ifindex_ == 0) return Error::from_errno("WireGuard device " + ifname + " is not an interface here");
  d->adopted_ = true;
  return d;
}

Result<std::unique_ptr<UserspaceDevice>> UserspaceDevice::ensure(const std::string& ifname,
                                                                 const std::string& log_path,
                                                                 const std::string& binary) {
  std::unique_ptr<UserspaceDevice> d(new UserspaceDevice(ifname));
  UapiClient client = d->client();
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
    d->adopted_ = true;
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
  d->ifindex_ = static_cast<int>(::if_nametoindex(ifname.c_str()));
  if (d->ifindex_ == 0) return Error::from_errno("WireGuard device " + ifname + " is not an interface here");
  SMI_TRY(set_link_up(ifname));
  return d;
}

}  // namespace smi::wireguard
