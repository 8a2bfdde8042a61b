// ObserveServer: the agent's side of `smi-agent observe`. A unix stream
// socket, <state-dir>/observe.sock, mode 0600 (root only, like Cilium's
// monitor socket): the flow stream names every pod, ServiceAccount and
// service of the node's traffic, so it is never served on the network
// listener (/metrics). Protocol, newline-delimited JSON both ways:
//
//   client -> agent, one line:  {"follow": true|false, "filter": {FlowFilter::to_json()}}
//   agent -> client, lines:     {"type":"start","node":..,"follow":..,"queue":N,"ring_lost_total":N}
//                               {"type":"flow", ...}              (observe/flow.h to_json)
//                               {"type":"lost","dropped":N,"ring_lost":N}   events missing since the last
//                                 record: dropped at this watcher's full queue, lost in the kernel ring
//                               {"type":"end","flows":N}          (without follow: the history was sent)
//                               {"type":"error","message":".."}   (a bad request; the agent closes)
//
// Without follow the agent sends the recent history (EventHub::recent) that
// passes the filter and ends; with follow it drains the kernel ring, then
// subscribes and streams what the reader publishes from then on until the
// client goes: nothing from before the request, everything after it. Each watcher has one
// thread of its own, which names, filters and writes: a slow client fills
// only its own queue (then drops, counted and reported), never the reader.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/fd.h"
#include "base/result.h"
#include "metrics/resolver.h"
#include "observe/event_hub.h"

namespace smi::observe {

inline std::string socket_path(const std::string& state_dir) {
  return state_dir + "/observe.sock";
}

struct ObserveServerOptions {
  std::string socket_path;
  std::string node;          // named in every flow
  size_t max_watchers = 16;  // more are refused with an error record
  // Events the kernel could not put in the ring, as the reader last read them.
  std::function<uint64_t()> ring_lost;
  // Reads what the kernel ring holds now (the reader's drain). Called before a
  // follower subscribes: events from before its request, still queued until
  // the reader's next round, are published to those already watching, and
  // the new follower's stream starts at its request.
  std::function<void()> catch_up;
};

class ObserveServer {
 public:
  // The hub and the resolver must outlive the server.
  static Result<std::unique_ptr<ObserveServer>> start(ObserveServerOptions options, EventHub& hub,
                                                      const metrics::Resolver& resolver);
  ~ObserveServer();
  ObserveServer(const ObserveServer&) = delete;
  ObserveServer& operator=(const ObserveServer&) = delete;

  // Closes the socket and every watcher, joins their threads; removes the socket file.
  void stop();
  size_t watchers() const { return active_.load(std::memory_order_relaxed); }

 private:
  ObserveServer(ObserveServerOptions options, EventHub& hub, const metrics::Resolver& resolver)
      : options_(std::move(options)), hub_(hub), resolver_(resolver) {}
  struct Watcher {
    Fd fd;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void accept_loop();
  void serve(Watcher& w);
  void reap();

  ObserveServerOptions options_;
  EventHub& hub_;
  const metrics::Resolver& resolver_;
  Fd listen_fd_, wake_read_, wake_write_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> active_{0};
  std::mutex watchers_mu_;
  std::list<Watcher> watchers_;
  bool stopped_ = false;
};

}  // namespace smi::observe
