// DirWatcher: tells when a manifests directory has settled after changes.
//
// inotify on the directory and every subdirectory (new ones are added as they
// appear). Editors save in several steps (write a temp file, rename, chmod), and
// `kubectl apply -f DIR` users copy many files at once, so changes are debounced:
// wait() returns once no event has arrived for `quiet`, never later than
// `max_delay` after the first event of a burst. Only complete writes count
// (IN_CLOSE_WRITE, renames, deletions), so a half-written file is not read.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace smi {

class DirWatcher {
 public:
  struct Options {
    std::chrono::milliseconds quiet{150};
    std::chrono::milliseconds max_delay{1000};
  };

  static Result<DirWatcher> open(const std::string& root, Options opts);
  static Result<DirWatcher> open(const std::string& root) { return open(root, Options{}); }

  enum class Wake { changed, timeout, stopped };

  // Blocks until a burst of changes has settled (changed), `timeout` passed
  // with no change at all (timeout), or stop() was called (stopped).
  Result<Wake> wait(std::chrono::milliseconds timeout);

  // Wakes a wait() in another thread; later waits return stopped at once.
  void stop();

  // The descriptor poll()-able for readability (for callers with their own loop).
  int fd() const { return inotify_.get(); }

 private:
  DirWatcher(std::string root, Options opts, Fd inotify, Fd stop_event)
      : root_(std::move(root)), opts_(opts), inotify_(std::move(inotify)), stop_(std::move(stop_event)) {}
  Status add_tree(const std::string& dir);
  // Reads pending events; true if any concerns the manifests.
  Result<bool> drain();

  std::string root_;
  Options opts_;
  Fd inotify_;
  Fd stop_;                              // eventfd
  std::map<int, std::string> watches_;   // watch descriptor -> directory
};

}  // namespace smi
