// Where a local pod lives on the network, found from the kernel rather than
// from the CNI: the named network namespace whose interfaces carry the pod's
// IP (/run/netns, where CNI plugins and the demo name them), and the host
// interface the node routes the pod's IP through (the pod veth's host side,
// where the tc anti-spoofing program goes).
#pragma once

#include <map>
#include <string>

#include "base/result.h"
#include "model/net.h"

namespace smi {

// Every address configured in each namespace under `dir` -> that namespace's
// path. Namespaces are entered on a helper thread; the caller stays put.
Result<std::map<model::IpAddr, std::string>> netns_by_address(const std::string& dir = "/run/netns");

// The output interface of the route to `ip` in the caller's namespace.
Result<int> route_oif(const model::IpAddr& ip);

}  // namespace smi
