// `smi-agent observe`, live: two watchers of the buyer's and thief's node's
// agent (the readable lines, and -o json for the check) started before the
// traffic; the thief's connections must come out denied at its connect(),
// the buyer's opened and closed through the store service, every one of
// them, named as the manifests name them.
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "demo/scenario.h"

namespace smi::demo {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// What the JSON stream says, client side (where the thief is refused and
// the buyer's split is chosen): connections per service account and event.
struct FlowCounts {
  int lines = 0, bad_lines = 0, lost = 0;
  std::map<std::string, int> by;  // "<sa> <event>" -> connections (a denial record may stand for several)
  // "<side>/<reason>/<source identity>/<service>" seen: refused inside connect(),
  // before it has an address, the thief is named by its identity (from its cgroup).
  std::set<std::string> thief_denials;
  std::set<std::string> buyer_routes;  // "<service>/<backend>"
  int get(const std::string& k) const { return by.count(k) ? by.at(k) : 0; }
};

FlowCounts count_flows(const std::string& text) {
  FlowCounts c;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    ++c.lines;
    json j = json::parse(line, nullptr, false);
    if (!j.is_object()) {
      ++c.bad_lines;
      continue;
    }
    if (j.value("type", "") == "lost") ++c.lost;
    if (j.value("type", "") != "flow" || j.value("side", "") != "client") continue;
    const std::string sa = j.value("/source/service_account"_json_pointer, std::string());
    const std::string event = j.value("event", "");
    c.by[sa + " " + event] += j.value("count", 1);
    const std::string service = j.value("/service/namespace"_json_pointer, std::string()) + "/" +
                                j.value("/service/name"_json_pointer, std::string());
    if (event == "deny")
      c.thief_denials.insert(j.value("side", "") + "/" + j.value("reason", "") + "/" +
                             j.value("/source/identity"_json_pointer, std::string()) + "/" + service);
    if (event == "close" && sa == "buyer") c.buyer_routes.insert(service + "/" + j.value("backend", ""));
  }
  return c;
}

}  // namespace

void Demo::show_flows() {
  const auto& node = node_of(buyer_pod_);
  const std::string state_dir = tmp_ + "/state-" + node.name;
  const std::string text_out = tmp_ + "/observe.txt", json_out = tmp_ + "/observe.json";
  std::vector<std::string> text_argv{opts_.agent, "observe", "--state-dir", state_dir, "--follow"};
  std::vector<std::string> json_argv = text_argv;
  json_argv.insert(json_argv.end(), {"-o", "json"});
  fmt::print("  $ smi-agent observe --state-dir {} --follow            (and the same with -o json)\n", state_dir);
  auto text_pid = spawn_logged(text_argv, text_out, text_out + ".err");
  auto json_pid = spawn_logged(json_argv, json_out, json_out + ".err");
  if (!text_pid || !json_pid) {
    checks_.expect(false, "smi-agent observe --follow starts",
                   (!text_pid ? text_pid.error() : json_pid.error()).message());
    return;
  }
  cluster::Process text_watch(*text_pid), json_watch(*json_pid);
  // Each says "following" once the agent subscribed it: nothing after that is
  // missed, and nothing from before (the earlier sections' traffic) is sent.
  auto t0 = Clock::now();
  auto following = [&] {
    return slurp(text_out + ".err").find("following") != std::string::npos &&
           slurp(json_out + ".err").find("following") != std::string::npos;
  };
  while (!following() && Clock::now() - t0 < std::chrono::seconds(5)) {
    if (g_interrupted) throw Interrupted{};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!following()) {
    checks_.expect(false, "smi-agent observe --follow subscribes to the agent",
                   slurp(text_out + ".err") + slurp(json_out + ".err"));
    return;
  }

  const int n = 5;
  const std::string vip = apex_.cluster_ips.front();
  auto th = drive(topo_->pod(thief_pod_), vip, apex_.port, n);
  if (!th) throw std::runtime_error(th.error().message());
  thief_total_.add(*th);
  Tally b = buyer(vip, n);
  fmt::print("  meanwhile: {} connections from {} ({}), {} from {} ({})\n", n, thief_pod_, describe(*th), n, buyer_pod_,
             describe(b));

  FlowCounts c;
  t0 = Clock::now();
  while (Clock::now() - t0 < std::chrono::seconds(3)) {  // the reader drains every 100 ms
    c = count_flows(slurp(json_out));
    if (c.get("thief deny") >= th->attempts && c.get("buyer close") >= b.attempts) break;
    if (g_interrupted) throw Interrupted{};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // anything extra would show now
  text_watch.stop();
  json_watch.stop();
  c = count_flows(slurp(json_out));

  fmt::print("\n  the readable stream (both sides of the node's connections):\n");
  excerpt(slurp(text_out), 24);
  std::string first_deny;
  {
    std::istringstream in(slurp(json_out));
    for (std::string line; std::getline(in, line);)
      if (line.find("\"event\":\"deny\"") != std::string::npos) {
        first_deny = line;
        break;
      }
  }
  if (!first_deny.empty()) {
    fmt::print("\n  one denial as -o json prints it:\n");
    excerpt(json::parse(first_deny, nullptr, false).dump(2), 40);
  }
  std::vector<std::vector<std::string>> rows{{"client side", "demo counted", "observe -o json says"}};
  rows.push_back({"thief denied at connect()", std::to_string(th->attempts), std::to_string(c.get("thief deny"))});
  rows.push_back({"buyer opened", std::to_string(b.attempts), std::to_string(c.get("buyer open"))});
  rows.push_back({"buyer closed", std::to_string(b.succeeded()), std::to_string(c.get("buyer close"))});
  fmt::print("\n");
  table(rows);

  std::string denials, routes;
  for (const auto& d : c.thief_denials) denials += (denials.empty() ? "" : ", ") + d;
  for (const auto& r : c.buyer_routes) routes += (routes.empty() ? "" : ", ") + r;
  const std::string apex = split_.ns + "/" + split_.apex;
  std::string thief_identity;
  for (const auto& t : templates_)
    if (t.name == thief_pod_) thief_identity = t.ns + "/" + t.service_account;
  checks_.expect(c.lines > 0 && c.bad_lines == 0 && c.lost == 0,
                 "observe -o json: every line is one JSON object, no event lost",
                 fmt::format("{} lines, {} not JSON, {} loss records", c.lines, c.bad_lines, c.lost));
  checks_.expect(c.get("thief deny") == th->attempts &&
                     c.thief_denials == std::set<std::string>{"client/policy/" + thief_identity + "/" + apex},
                 "observe shows each of the thief's connections denied at its connect() (client, policy), named",
                 fmt::format("{}/{}: {}", c.get("thief deny"), th->attempts, denials));
  bool routes_named = !c.buyer_routes.empty();
  for (const auto& r : c.buyer_routes)
    routes_named = routes_named && r.rfind(apex + "/", 0) == 0 && r.size() > apex.size() + 1;
  checks_.expect(
      c.get("buyer open") == b.attempts && c.get("buyer close") == b.succeeded() && routes_named,
      "observe shows each of the buyer's connections opened and closed via the store service and its backend",
      fmt::format("opened {}/{}, closed {}/{}: {}", c.get("buyer open"), b.attempts, c.get("buyer close"),
                  b.succeeded(), routes));
}

}  // namespace smi::demo
