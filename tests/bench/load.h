// Load generators and servers for mesh_bench, run inside pods (forked
// children of the benchmark, see Pod::run/spawn). Each client returns one
// plain struct that travels back to the parent through a pipe.
//
// Why not iperf3/sockperf/netperf here: a TrafficSplit picks a backend per
// connection, so iperf3's control and data connections (and sockperf's
// warm-up and measurement sockets) can land on different pods and the run
// fails; netperf is not in bookworm. One set of generators for every path
// also keeps the paths comparable. iperf3 is used where no split is in the
// way (a cross-check of the plain path, see mesh_bench.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"
#include "fixture/cluster.h"

namespace smi::bench {

// Ports every server pod listens on (the mesh services expose the same ones).
inline constexpr uint16_t kEchoPort = 7001;  // echoes what it reads
inline constexpr uint16_t kSinkPort = 7002;  // counts bytes to EOF, answers the total
inline constexpr uint16_t kCrrPort = 7003;   // reads 1 byte, answers 1 byte, closes first

// Pins the calling thread (and what it forks later) to one CPU.
void pin_cpu(int cpu);
void pin_pid(int pid, int cpu);

// Servers: never return on success. Every connection gets its own thread
// except the CRR server (sequential clients, no thread per connection cost).
int echo_server(int cpu);
int sink_server(int cpu);
int crr_server(int cpu);

struct Latency {
  double p50_us = 0, p99_us = 0;
  int error = 0;  // errno-like code, 0 = fine
};
struct Rate {
  double value = 0;  // Gbit/s or connections/s
  int error = 0;
};

// Request/response round trips of `size` bytes on one connection.
Latency rr_latency(const std::string& addr, int size, int rounds, int cpu);
// `streams` parallel connections writing 128 KiB chunks for `secs`;
// Gbit/s counted by the receivers.
Rate throughput(const std::string& addr, int streams, double secs, int cpu);
// connect, write 1 byte, read 1 byte and the server's FIN, close;
// connections/s over `secs`.
Rate conn_rate(const std::string& addr, double secs, int cpu);

// Runs fn in the pod (forked child) and returns its result by value.
template <typename T>
Result<T> run_in(const test::Pod& pod, const std::function<T()>& fn);

}  // namespace smi::bench

#include "load_inl.h"
