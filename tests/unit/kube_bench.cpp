// Figures for the Kubernetes source, printed (never asserted): time to list a
// large cluster-wide Pod collection, watch-event apply rate, decode cost, and
// what the Pod projection saves. Run: build/tests/unit/kube_bench [pods]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "base/log.h"
#include "kube_fake_api.h"
#include "sources/kube/kube_source.h"
#include "sources/kube/objects.h"
#include "sources/kube/watch_stream.h"

using namespace smi::kube;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

const ResourceType& pods_type() {
  for (const auto& t : all_resources())
    if (t.plural == "pods") return t;
  std::abort();
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

json pod_n(const json& tmpl, int i) {
  json p = tmpl;
  p["metadata"]["name"] = "web-" + std::to_string(i);
  p["metadata"]["uid"] = "uid-" + std::to_string(i);
  p["status"]["podIP"] = "10.244." + std::to_string(i / 250) + "." + std::to_string(i % 250);
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  smi::set_log_level(spdlog::level::warn);
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  const ResourceType& pods = pods_type();
  const json tmpl = testing::load_fixture("pods.json")["items"][0];

  // What the projection keeps of a realistic Pod.
  json projected = tmpl;
  (void)normalize_object(projected, pods);
  std::printf("pod object: %zu bytes as served, %zu bytes kept\n", tmpl.dump().size(), projected.dump().size());

  // Decode cost of one watch event line.
  const std::string line = json{{"type", "MODIFIED"}, {"object", pod_n(tmpl, 7)}}.dump();
  const int reps = 20000;
  auto t = Clock::now();
  for (int i = 0; i < reps; ++i) {
    auto d = decode_watch_event(line, pods);
    if (d.outcome != DecodedEvent::Outcome::event) std::abort();
  }
  std::printf("decode_watch_event: %.1f us per %zu-byte Pod event\n", ms_since(t) * 1000 / reps, line.size());

  testing::FakeApi api;
  api.serve(pods);
  for (int i = 0; i < n; ++i) api.put(pods, pod_n(tmpl, i), /*quiet=*/true);
  ClusterConfig cfg;
  cfg.server = api.url();
  KubeOptions opts;
  opts.resources = {pods};
  auto src = KubeSource::create(cfg, opts);
  if (!src) {
    std::fprintf(stderr, "%s\n", src.error().message().c_str());
    return 1;
  }
  t = Clock::now();
  (*src)->start();
  if (!(*src)->wait_synced(120s)) return 1;
  const auto st = (*src)->status()[0];
  std::printf("list %d pods over loopback HTTP, %llu pages of 500: %.0f ms to synced\n", n,
              static_cast<unsigned long long>(st.list_pages), ms_since(t));

  while (api.watches(pods) == 0) std::this_thread::sleep_for(1ms);
  const int events = 5000;
  const uint64_t before = (*src)->status()[0].events;
  t = Clock::now();
  for (int i = 0; i < events; ++i) {
    json p = pod_n(tmpl, i);
    p["status"]["phase"] = "Succeeded";
    api.put(pods, p);
  }
  while ((*src)->status()[0].events < before + events) std::this_thread::sleep_for(1ms);
  const double took = ms_since(t);
  std::printf("watch: %d MODIFIED events applied in %.0f ms (%.0f events/s, server included)\n", events, took,
              events * 1000.0 / took);
  t = Clock::now();
  auto snap = (*src)->snapshot();
  std::printf("snapshot of %zu objects: %.1f ms\n", snap.size(), ms_since(t));
  (*src)->stop();
  return 0;
}
