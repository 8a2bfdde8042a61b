#include "bench/targets.h"

#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace smi::bench {
namespace {

// The figures issue 16 started from, measured with this harness.
constexpr double kConnect4BaselineNs = 2351;
constexpr double kSockopsBaselineNsPerConn = 17 * 280;

void row(const char* what, const std::optional<double>& now, const std::string& shown, const std::string& target,
         bool met) {
  std::printf("| %s | %s | %s | %s |\n", what, now ? shown.c_str() : "not measured", target.c_str(),
              now ? (met ? "met" : "MISSED") : "-");
}

}  // namespace

void print_targets(const TargetFigures& f) {
  std::printf("\ntargets (issue 16), this run:\n| what | now | target | |\n| --- | ---: | ---: | --- |\n");
  row("connect-request-close, same node (accelerated) vs plain", f.crr_same_ratio,
      fmt::format("{:.2f}x", f.crr_same_ratio.value_or(0)), ">= 0.95x", f.crr_same_ratio.value_or(0) >= 0.95);
  row("connect-request-close, cross node vs plain", f.crr_cross_ratio,
      fmt::format("{:.2f}x", f.crr_cross_ratio.value_or(0)), ">= 0.95x", f.crr_cross_ratio.value_or(0) >= 0.95);
  row("smi_connect4 per call under the connection-rate load", f.connect4_ns,
      fmt::format("{:.0f} ns", f.connect4_ns.value_or(0)),
      fmt::format("<= {:.0f} ns (1/3 of {:.0f})", kConnect4BaselineNs / 3, kConnect4BaselineNs),
      f.connect4_ns.value_or(0) <= kConnect4BaselineNs / 3);
  const std::optional<double> per_conn =
      f.sockops_calls_per_conn && f.sockops_ns_per_call
          ? std::optional<double>(*f.sockops_calls_per_conn * *f.sockops_ns_per_call)
          : std::nullopt;
  row("sock_ops per connection (calls x ns per call)", per_conn,
      fmt::format("{:.1f} x {:.0f} ns = {:.0f} ns", f.sockops_calls_per_conn.value_or(0),
                  f.sockops_ns_per_call.value_or(0), per_conn.value_or(0)),
      fmt::format("<= {:.0f} ns (half of 17 x 280)", kSockopsBaselineNsPerConn / 2),
      per_conn.value_or(0) <= kSockopsBaselineNsPerConn / 2);
  const std::string edit = fmt::format("one TrafficTarget edited at {} services: re-read + compile + diff + apply",
                                       f.services);
  row(edit.c_str(), f.edit_ms,
      fmt::format("{:.0f} ms", f.edit_ms.value_or(0)), "< 1000 ms", f.edit_ms.value_or(1e9) < 1000);
  row("cold start at that scale (read, parse, compile, apply)", f.cold_ms,
      fmt::format("{:.0f} ms", f.cold_ms.value_or(0)), "< 3000 ms", f.cold_ms.value_or(1e9) < 3000);
  // Judged on the first read, which is what a cold start pays.
  row("YAML parsing (read, parse, decode; the manifests at that scale)", f.yaml_mb_s,
      fmt::format("{:.1f} MB/s first read ({:.1f} read again)", f.yaml_mb_s.value_or(0),
                  f.yaml_again_mb_s.value_or(0)),
      ">= 50 MB/s", f.yaml_mb_s.value_or(0) >= 50);
}

}  // namespace smi::bench
