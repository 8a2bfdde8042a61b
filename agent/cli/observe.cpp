// `smi-agent observe [--state-dir DIR | --socket PATH] [--follow] [-o text|json]
//                    [--namespace NS] [--pod [NS/]POD] [--identity [NS/]SA] [--verdict V]
//                    [--port N] [--protocol tcp|udp]`
// Connects to a running agent's observe socket (observe/server.h) and prints
// its connection events: without --follow the recent ones the agent keeps,
// then exits; with --follow every new one until interrupted. Each filter may
// be repeated (any of them); different filters must all match. Text is one
// line per event (observe/flow.h format_line); -o json prints the agent's
// records as they come, one JSON object per line ("flow" and "lost" records,
// docs/operations.md). Exit 0; 1 when the agent refused the request; 3 when
// no agent answers on the socket.
#include "cli/observe.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/fd.h"
#include "observe/flow.h"
#include "observe/server.h"
#include "observe/wire.h"

namespace smi::cli {
namespace {

using nlohmann::json;

struct ObserveOptions {
  std::string state_dir = "/run/smi-agent";
  std::string socket;  // empty: <state-dir>/observe.sock
  bool follow = false;
  std::string output = "text";
  observe::FlowFilter filter;
};

Result<Fd> connect_to(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return Error("socket path " + path + " is too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::from_errno("socket(AF_UNIX)");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return Error::from_errno("connect to " + path);
  return fd;
}

int run(const ObserveOptions& o) {
  const std::string path = o.socket.empty() ? observe::socket_path(o.state_dir) : o.socket;
  auto fd = connect_to(path);
  if (!fd) {
    fmt::print(stderr, "observe: {} (is `smi-agent run` running with --state-dir {}?)\n", fd.error().message(),
               o.socket.empty() ? o.state_dir : "<the directory holding it>");
    return kExitEnvironment;
  }
  json req = {{"follow", o.follow}, {"filter", o.filter.to_json()}};
  if (auto st = observe::write_all(fd->get(), req.dump() + "\n"); !st) {
    fmt::print(stderr, "observe: {}\n", st.error().message());
    return kExitEnvironment;
  }
  observe::LineReader in(fd->get());
  for (;;) {
    auto line = in.next();
    if (!line) {
      fmt::print(stderr, "observe: {}\n", line.error().message());
      return kExitEnvironment;
    }
    if (!*line) {
      if (o.follow)
        fmt::print(stderr, "observe: the agent closed the stream\n");
      else
        fmt::print(stderr, "observe: the stream ended before its end record\n");
      return kExitEnvironment;
    }
    json j = json::parse(**line, nullptr, false);
    const std::string type = j.is_object() ? j.value("type", "") : "";
    if (type == "error") {
      fmt::print(stderr, "observe: the agent refused the request: {}\n", j.value("message", ""));
      return kExitRefused;
    }
    if (type == "start") {
      fmt::print(stderr, "observe: {} node {}{}\n", o.follow ? "following" : "recent events of", j.value("node", ""),
                 j.value("ring_lost_total", uint64_t{0}) > 0
                     ? fmt::format(" ({} events lost in the kernel ring buffer so far)",
                                   j.value("ring_lost_total", uint64_t{0}))
                     : "");
      std::fflush(stderr);
      continue;
    }
    if (type == "end") return kExitOk;
    if (type != "flow" && type != "lost") continue;  // a newer agent's record: not ours to show
    if (o.output == "json") {
      fmt::print("{}\n", **line);
    } else if (type == "lost") {
      fmt::print("{}\n", observe::format_lost(j.value("dropped", uint64_t{0}), j.value("ring_lost", uint64_t{0})));
    } else if (auto f = observe::flow_from_json(j)) {
      fmt::print("{}\n", observe::format_line(*f));
    } else {
      fmt::print(stderr, "observe: {}\n", f.error().message());
    }
    std::fflush(stdout);
  }
}

}  // namespace

void add_observe(CLI::App& app, Command& command) {
  auto* cmd = app.add_subcommand("observe",
                                 "watch the running agent's connection events (open, close, failure, "
                                 "denial, permissive would-be denial), with names");
  auto o = std::make_shared<ObserveOptions>();
  cmd->add_option("--state-dir", o->state_dir, "the agent's --state-dir (holds observe.sock)")->capture_default_str();
  cmd->add_option("--socket", o->socket, "the observe socket itself (default: <state-dir>/observe.sock)");
  cmd->add_flag("-f,--follow", o->follow, "stream new events until interrupted (default: print the recent ones, exit)");
  cmd->add_option("-o,--output,--format", o->output, "text|json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--namespace", o->filter.namespaces, "events from or to this namespace (repeatable)");
  cmd->add_option("--pod", o->filter.pods, "events from or to this pod, [NAMESPACE/]POD (repeatable)");
  cmd->add_option("--identity", o->filter.identities,
                  "events from or to this identity: NAMESPACE/SERVICEACCOUNT, SERVICEACCOUNT, node or unknown "
                  "(repeatable)");
  cmd->add_option("--verdict", o->filter.verdicts, "allowed|denied|would-deny|failed|dropped (repeatable)")
      ->check(CLI::IsMember(observe::kVerdicts));
  cmd->add_option("--port", o->filter.ports, "destination or service port (repeatable)")->check(CLI::Range(1, 65535));
  cmd->add_option("--protocol", o->filter.protocols, "tcp|udp (repeatable)")->check(CLI::IsMember(observe::kProtocols));
  cmd->callback([o, &command] { command = [o] { return run(*o); }; });
}

}  // namespace smi::cli
