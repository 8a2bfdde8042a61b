// What crosses one interface, seen from inside a network namespace (an
// AF_PACKET socket, no tcpdump): IPv4 packets, those of one UDP port (the
// WireGuard tunnel), TCP between two pod addresses, and how many packets
// hold each of a few marker strings. The demo shows with it what an
// encrypted request looks like on the wire; the encryption tests assert on
// it. A capture runs in a child process inside the node (so it can run while
// the node sends), writing its counts to a file the parent reads back.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace smi::cluster {

struct CaptureSpec {
  std::string ifname;
  int ms = 1000;
  std::uint16_t udp_port = 0;   // counted as `udp`
  std::uint32_t pod_net16 = 0;  // host order, e.g. 10.244/16 as 0x0af4: TCP between two such addresses
  std::vector<std::string> needles;
};

struct WireCapture {
  int packets = 0;                     // IPv4
  int udp = 0;                         // to or from spec.udp_port
  int pod_tcp = 0;                     // TCP between two addresses of spec.pod_net16
  std::map<std::string, int> needles;  // packets holding each needle
  // The first packet holding needles[0], printable bytes only (for showing).
  std::string first_match;
};

// Captures on spec.ifname in the caller's network namespace for spec.ms,
// touching `ready_path` once the socket is bound, then writes the counts to
// `out_path`. Returns a process exit code (0, or 10/11 when the socket cannot
// be opened or bound).
int capture_to_file(const CaptureSpec& spec, const std::string& ready_path, const std::string& out_path);
// The counts capture_to_file wrote (zeros for a missing file).
WireCapture read_capture(const std::string& out_path, const std::vector<std::string>& needles);

}  // namespace smi::cluster
