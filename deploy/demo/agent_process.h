// The real agent, one per demo node, started as a person would start it for a
// fixture node: `nsenter --net=/run/netns/<node netns> smi-agent run ...`
// (not `ip netns exec`, which remounts /sys and hides bpffs and cgroupfs).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace smi::demo {

struct AgentConfig {
  std::string binary;       // smi-agent
  std::string node;         // --node
  std::string netns;        // the node's netns name (under /run/netns)
  std::string cgroup_root;  // --cgroup-root
  std::string bpffs;        // --bpffs
  std::string state_dir;    // --state-dir
  std::string manifests;    // --manifests
  uint16_t port = 0;        // --listen 127.0.0.1:<port>
  std::string log_file;     // the agent's stdout and stderr
  std::vector<std::string> extra;  // more `run` flags (--encryption wireguard ...)
};

// The argv the demo runs (also printed for the person watching).
std::vector<std::string> agent_argv(const AgentConfig& c);

// A running agent, ended by its PID: SIGTERM (clean exit, pins stay), then
// SIGKILL if it does not exit in time.
class AgentProcess {
 public:
  static Result<AgentProcess> start(const AgentConfig& c);
  AgentProcess(AgentProcess&& o) noexcept;
  AgentProcess& operator=(AgentProcess&&) = delete;
  ~AgentProcess() { stop(); }

  pid_t pid() const { return pid_; }
  const AgentConfig& config() const { return config_; }
  // True while the process has not exited (reaps it when it has).
  bool alive();
  // Polls /readyz until 200, the process exits, or the timeout passes.
  Status wait_ready(int timeout_ms);
  // Returns the exit status (128+signal when signalled), -1 if not running.
  int stop();

 private:
  AgentProcess(pid_t pid, AgentConfig c) : pid_(pid), config_(std::move(c)) {}
  pid_t pid_ = -1;
  int status_ = -1;
  AgentConfig config_;
};

struct Captured {
  int status = -1;     // exit code (128+signal)
  std::string output;  // stdout and stderr together
};
// Runs argv to completion (no shell) and captures its output.
Result<Captured> capture(const std::vector<std::string>& argv, int timeout_ms = 20000);

// Starts argv (no shell) with stdout to out_file and stderr to err_file,
// ended with the demo; the caller ends it by its PID (cluster::Process).
Result<pid_t> spawn_logged(const std::vector<std::string>& argv, const std::string& out_file,
                           const std::string& err_file);

// The last `n` lines of a file that contain `needle`.
std::vector<std::string> grep_tail(const std::string& path, const std::string& needle, size_t n);

}  // namespace smi::demo
