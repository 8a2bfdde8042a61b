#include "sources/dir_watcher.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <vector>

namespace smi {
namespace {

constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_DELETE_SELF |
                           IN_MOVE_SELF | IN_ONLYDIR;
using Clock = std::chrono::steady_clock;

}  // namespace

Result<DirWatcher> DirWatcher::open(const std::string& root, Options opts) {
  Fd in(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!in) return Error::from_errno("inotify_init1");
  Fd stop(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!stop) return Error::from_errno("eventfd");
  DirWatcher w(root, opts, std::move(in), std::move(stop));
  SMI_TRY(w.add_tree(root).context("watch manifests directory " + root));
  return w;
}

Status DirWatcher::add_tree(const std::string& dir) {
  // IN_ONLYDIR on a file fails with ENOTDIR: the caller passed a file.
  int wd = ::inotify_add_watch(inotify_.get(), dir.c_str(), kMask);
  if (wd < 0) return Error::from_errno("inotify_add_watch " + dir);
  watches_[wd] = dir;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Error::from_errno("opendir " + dir);
  std::vector<std::string> subdirs;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || e->d_type != DT_DIR) continue;
    subdirs.push_back(dir + "/" + n);
  }
  ::closedir(d);
  for (const auto& s : subdirs) SMI_TRY(add_tree(s));
  return ok();
}

Result<bool> DirWatcher::drain() {
  alignas(inotify_event) std::array<char, 16384> buf{};
  bool relevant = false;
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf.data(), buf.size());
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("read inotify");
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<inotify_event*>(buf.data() + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        relevant = true;  // events were lost: a full re-read is the safe answer
        continue;
      }
      if (ev->mask & IN_IGNORED) {
        watches_.erase(ev->wd);
        continue;
      }
      std::string name = ev->len ? ev->name : "";
      // Editors' swap and backup files are not manifests.
      bool hidden = !name.empty() && (name[0] == '.' || name.back() == '~');
      if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
        auto it = watches_.find(ev->wd);
        if (it != watches_.end()) (void)add_tree(it->second + "/" + name);  // a vanished dir is fine
        relevant = true;
        continue;
      }
      if (ev->mask & IN_CREATE) continue;  // wait for IN_CLOSE_WRITE: the file is being written
      if (!hidden) relevant = true;
    }
  }
  return relevant;
}

Result<DirWatcher::Wake> DirWatcher::wait(std::chrono::milliseconds timeout) {
  std::array<pollfd, 2> fds{pollfd{inotify_.get(), POLLIN, 0}, pollfd{stop_.get(), POLLIN, 0}};
  bool pending = false;
  Clock::time_point first{}, deadline = Clock::now() + timeout;
  for (;;) {
    auto now = Clock::now();
    Clock::time_point until = pending ? std::min(now + opts_.quiet, first + opts_.max_delay) : deadline;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
    int r = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(ms, 0)));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Error::from_errno("poll inotify");
    if (fds[1].revents & POLLIN) return Wake::stopped;
    if (r == 0) {
      if (pending) return Wake::changed;
      return Wake::timeout;
    }
    auto rel = drain();
    if (!rel) return std::move(rel).error();
    if (*rel && !pending) {
      pending = true;
      first = Clock::now();
    }
    if (pending && Clock::now() >= first + opts_.max_delay) return Wake::changed;
  }
}

void DirWatcher::stop() {
  uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof(one));
}

}  // namespace smi
