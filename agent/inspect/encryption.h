// `status`'s view of encryption between nodes: the WireGuard device the
// agent named in its state directory, read from the engine's UAPI socket
// (works with the agent stopped, as the device keeps running).
#pragma once

#include <string>

#include "inspect/node_view.h"

namespace smi::inspect {

// Fills v.encryption when <state_dir>/wireguard-interface names a device.
void read_encryption(NodeView& v, const std::string& state_dir);

}  // namespace smi::inspect
