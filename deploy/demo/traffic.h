// The demo's workloads: a store server that answers each connection with its
// version name and closes, and a client that opens connections from inside a
// pod and tallies who answered (or which errno it got).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "base/result.h"
#include "cluster/topology.h"

namespace smi::demo {

// Starts a TCP server in `pod` on [::]:port (dual-stack) that writes
// "<name>\n" to every connection and closes it. Returns once it listens.
Result<cluster::Process> start_store(const cluster::Pod& pod, uint16_t port, const std::string& name);

struct Tally {
  int attempts = 0;
  std::map<std::string, int> answered;  // server name -> connections
  std::map<int, int> errors;            // errno -> connections

  int succeeded() const;
  int failed() const { return attempts - succeeded(); }
  void add(const Tally& o);
};

// Opens `count` TCP connections, one after another, from inside `pod` to
// addr:port, reads each answer to EOF, and reports what happened.
Result<Tally> drive(const cluster::Pod& pod, const std::string& addr, uint16_t port, int count,
                    int timeout_ms = 2000);

// "20 connected" / "20 failed with EPERM: Operation not permitted"
std::string describe(const Tally& t);

// "EPERM: Operation not permitted"
std::string errno_text(int err);

}  // namespace smi::demo
