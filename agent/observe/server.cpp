#include "observe/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/system.h"
#include "observe/flow.h"
#include "observe/wire.h"

namespace smi::observe {
namespace {

using nlohmann::json;

int64_t now_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// What to add to a bpf_ktime_get_ns() time to make wall-clock time.
int64_t mono_to_real() {
  return now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC);
}

Status send_record(int fd, const json& j) {
  return write_all(fd, j.dump() + "\n");
}

// The peer closed its end (or the socket broke): nothing more to write to.
bool peer_gone(int fd) {
  pollfd p{.fd = fd, .events = POLLRDHUP, .revents = 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

struct Request {
  bool follow = false;
  FlowFilter filter;
};

Result<Request> parse_request(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (!j.is_object()) return Error("request: expected one JSON object on one line");
  Request r;
  for (const auto& [key, v] : j.items()) {
    if (key == "follow") {
      if (!v.is_boolean()) return Error("request.follow: expected true or false");
      r.follow = v.get<bool>();
    } else if (key == "filter") {
      auto f = FlowFilter::from_json(v);
      if (!f) return std::move(f).error().context("request");
      r.filter = std::move(*f);
    } else {
      return Error("request." + key + ": unknown field");
    }
  }
  return r;
}

}  // namespace

Result<std::unique_ptr<ObserveServer>> ObserveServer::start(ObserveServerOptions o, EventHub& hub,
                                                            const metrics::Resolver& resolver) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (o.socket_path.empty() || o.socket_path.size() >= sizeof(addr.sun_path))
    return Error("observe socket path \"" + o.socket_path + "\" is empty or longer than " +
                 std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  std::memcpy(addr.sun_path, o.socket_path.c_str(), o.socket_path.size());
  SMI_TRY(make_dirs(std::filesystem::path(o.socket_path).parent_path().string(), 0755));
  // A socket left by an earlier agent is replaced; anything else there is not ours.
  struct stat st {};
  if (::lstat(o.socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Error(o.socket_path + " exists and is not a socket; not replacing it", EEXIST);
    if (::unlink(o.socket_path.c_str()) != 0) return Error::from_errno("remove the old " + o.socket_path);
  }
  std::unique_ptr<ObserveServer> s(new ObserveServer(std::move(o), hub, resolver));
  s->listen_fd_ = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s->listen_fd_) return Error::from_errno("socket(AF_UNIX)");
  if (::bind(s->listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return Error::from_errno("bind " + s->options_.socket_path);
  if (::chmod(s->options_.socket_path.c_str(), 0600) != 0) {
    ::unlink(s->options_.socket_path.c_str());
    return Error::from_errno("chmod 0600 " + s->options_.socket_path);
  }
  if (::listen(s->listen_fd_.get(), 16) != 0) return Error::from_errno("listen on " + s->options_.socket_path);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return Error::from_errno("pipe2");
  s->wake_read_ = Fd(pipe_fds[0]);
  s->wake_write_ = Fd(pipe_fds[1]);
  s->acceptor_ = std::thread([p = s.get()] { p->accept_loop(); });
  return s;
}

ObserveServer::~ObserveServer() {
  stop();
}

void ObserveServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  if (wake_write_) (void)!::write(wake_write_.get(), "x", 1);
  if (acceptor_.joinable()) acceptor_.join();
  hub_.close_all();
  {
    std::lock_guard lock(watchers_mu_);
    for (auto& w : watchers_) ::shutdown(w.fd.get(), SHUT_RDWR);  // unblocks a write to a stalled client
  }
  for (auto& w : watchers_)
    if (w.thread.joinable()) w.thread.join();
  watchers_.clear();
  if (listen_fd_) ::unlink(options_.socket_path.c_str());
}

void ObserveServer::reap() {
  std::lock_guard lock(watchers_mu_);
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    if (it->done.load()) {
      it->thread.join();
      it = watchers_.erase(it);
    } else {
      ++it;
    }
  }
}

void ObserveServer::accept_loop() {
  while (!stopping_) {
    pollfd p[2] = {{.fd = listen_fd_.get(), .events = POLLIN, .revents = 0},
                   {.fd = wake_read_.get(), .events = POLLIN, .revents = 0}};
    if (::poll(p, 2, 1000) < 0 && errno != EINTR) {
      log(Log::agent)->warn("observe socket: poll: {}", std::strerror(errno));
      return;
    }
    reap();
    if (stopping_ || (p[0].revents & POLLIN) == 0) continue;
    Fd client(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    std::lock_guard lock(watchers_mu_);
    Watcher& w = watchers_.emplace_back();
    w.fd = std::move(client);
    w.thread = std::thread([this, &w] {
      serve(w);
      w.done = true;
    });
  }
}

void ObserveServer::serve(Watcher& w) {
  const int fd = w.fd.get();
  LineReader in(fd, 65536);
  auto line = in.next(5000);
  auto fail = [fd](const std::string& message) { (void)send_record(fd, {{"type", "error"}, {"message", message}}); };
  if (!line || !*line) return fail(line ? "no request line" : line.error().message());
  auto req = parse_request(**line);
  if (!req) return fail(req.error().message());
  if (active_.fetch_add(1) >= options_.max_watchers) {
    active_.fetch_sub(1);
    return fail("too many watchers (" + std::to_string(options_.max_watchers) + "); try again later");
  }
  struct Release {
    std::atomic<size_t>& n;
    ~Release() { n.fetch_sub(1); }
  } release{active_};
  const auto ring_lost = [this] { return options_.ring_lost ? options_.ring_lost() : 0; };
  uint64_t ring_seen = ring_lost();
  // Subscribed before the start record: what a client sees after "start" is
  // complete. Caught up first: what happened before the request is not sent.
  if (req->follow && options_.catch_up) options_.catch_up();
  std::shared_ptr<Subscription> sub = req->follow ? hub_.subscribe() : nullptr;
  struct Unsubscribe {
    EventHub& hub;
    std::shared_ptr<Subscription>& s;
    ~Unsubscribe() {
      if (s) hub.unsubscribe(s);
    }
  } unsubscribe{hub_, sub};
  if (!send_record(fd, {{"type", "start"},
                        {"node", options_.node},
                        {"follow", req->follow},
                        {"filter", req->filter.to_json()},
                        {"ring_lost_total", ring_seen}}))
    return;
  uint64_t flows = 0;
  auto send_flows = [&](const std::vector<smi_event>& events) {
    const int64_t offset = mono_to_real();
    std::string out;
    for (const smi_event& e : events) {
      Flow f = name_event(e, resolver_, options_.node, offset);
      if (!req->filter.matches(f)) continue;
      out += to_json(f).dump();
      out += '\n';
      ++flows;
    }
    return out.empty() ? ok() : write_all(fd, out);
  };
  if (!sub) {
    if (send_flows(hub_.recent())) (void)send_record(fd, {{"type", "end"}, {"flows", flows}});
    return;
  }
  uint64_t dropped_seen = 0;
  std::vector<smi_event> batch;
  while (!stopping_ && !sub->closed()) {
    batch.clear();
    sub->take(batch, std::chrono::milliseconds(200));
    if (!send_flows(batch)) return;
    const uint64_t dropped = sub->dropped(), lost = ring_lost();
    if (dropped > dropped_seen || lost > ring_seen) {
      if (!send_record(fd, {{"type", "lost"}, {"dropped", dropped - dropped_seen}, {"ring_lost", lost - ring_seen}}))
        return;
      dropped_seen = dropped;
      ring_seen = std::max(ring_seen, lost);
    }
    if (batch.empty() && peer_gone(fd)) return;
  }
}

}  // namespace smi::observe
