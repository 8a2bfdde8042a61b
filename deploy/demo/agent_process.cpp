#include "demo/agent_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "base/fd.h"
#include "demo/scrape.h"

namespace smi::demo {
namespace {

using Clock = std::chrono::steady_clock;

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

[[noreturn]] void exec_or_die(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  ::_exit(127);
}

// The child must not outlive the demo (kill -9 of the demo, ctest timeout).
void die_with_parent() { ::prctl(PR_SET_PDEATHSIG, SIGTERM); }

// In a forked child: argv with stdout and stderr on `out`, ended with the demo.
[[noreturn]] void exec_child(const std::vector<std::string>& argv, int out) {
  die_with_parent();
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_DFL);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(out, STDERR_FILENO);
  exec_or_die(argv);
}

}  // namespace

std::vector<std::string> agent_argv(const AgentConfig& c) {
  std::vector<std::string> argv{"nsenter",        "--net=/run/netns/" + c.netns,
          c.binary,         "--log-level",
          "info",           "run",
          "--manifests",    c.manifests,
          "--node",         c.node,
          "--cgroup-root",  c.cgroup_root,
          "--bpffs",        c.bpffs,
          "--state-dir",    c.state_dir,
          "--listen",       fmt::format("127.0.0.1:{}", c.port)};
  argv.insert(argv.end(), c.extra.begin(), c.extra.end());
  return argv;
}

Result<AgentProcess> AgentProcess::start(const AgentConfig& c) {
  Fd log(::open(c.log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!log) return Error::from_errno("open " + c.log_file);
  auto argv = agent_argv(c);
  pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("fork for agent " + c.node);
  if (pid == 0) exec_child(argv, log.get());
  return AgentProcess(pid, c);
}

AgentProcess::AgentProcess(AgentProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), status_(o.status_), config_(std::move(o.config_)) {}

bool AgentProcess::alive() {
  if (pid_ < 0) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = decode(st);
    pid_ = -1;
    return false;
  }
  return true;
}

Status AgentProcess::wait_ready(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string last = "no answer yet";
  while (Clock::now() < deadline) {
    if (!alive())
      return Error(fmt::format("agent for {} exited with status {} before it was ready (log: {})", config_.node,
                               status_, config_.log_file));
    auto r = http_get(config_.netns, config_.port, "/readyz", 500);
    if (r && r->status == 200) return ok();
    last = r ? fmt::format("HTTP {}", r->status) : r.error().message();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Error(fmt::format("agent for {} not ready within {} ms (last /readyz: {}; log: {})", config_.node,
                           timeout_ms, last, config_.log_file));
}

int AgentProcess::stop() {
  if (pid_ < 0) return status_;
  ::kill(pid_, SIGTERM);
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (alive() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (pid_ >= 0) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = decode(st);
    pid_ = -1;
  }
  return status_;
}

Result<Captured> capture(const std::vector<std::string>& argv, int timeout_ms) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::from_errno("pipe");
  Fd r(fds[0]), w(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("fork for " + argv[0]);
  if (pid == 0) exec_child(argv, w.get());
  w.reset();
  Captured c;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  bool timed_out = false;
  for (;;) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    pollfd p{r.get(), POLLIN, 0};
    int n = left > 0 ? ::poll(&p, 1, left) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    ssize_t got = ::read(r.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    c.output.append(buf, static_cast<size_t>(got));
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  c.status = decode(st);
  if (timed_out) return Error(fmt::format("{} did not finish within {} ms", argv[0], timeout_ms), ETIMEDOUT);
  return c;
}

Result<pid_t> spawn_logged(const std::vector<std::string>& argv, const std::string& out_file,
                           const std::string& err_file) {
  Fd out(::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out) return Error::from_errno("open " + out_file);
  Fd err(::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!err) return Error::from_errno("open " + err_file);
  pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("fork for " + argv[0]);
  if (pid == 0) {
    ::dup2(err.get(), STDERR_FILENO);
    die_with_parent();
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_DFL);
    ::dup2(out.get(), STDOUT_FILENO);
    exec_or_die(argv);
  }
  return pid;
}

std::vector<std::string> grep_tail(const std::string& path, const std::string& needle, size_t n) {
  std::vector<std::string> hits;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) hits.push_back(line);
  if (hits.size() > n) hits.erase(hits.begin(), hits.end() - static_cast<long>(n));
  return hits;
}

}  // namespace smi::demo
