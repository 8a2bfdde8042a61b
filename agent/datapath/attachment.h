// Attachment: one thing put on a kernel hook (pinned links, a tc filter, a
// program on a sockmap), owned by a move-only handle. Destroying the handle
// takes it off its hook unless keep() was called first. This is the one
// lifetime rule for everything attached:
//
//   auto a = server_check.attach_netns(path, identity);   // Result<Attachment>
//   a->keep();        // the agent: stays in the kernel when the agent exits
//   a->detach();      // or now; a test that keeps nothing leaves no trace
//
// The agent keeps everything (the datapath never depends on it being alive);
// a restarted agent takes pinned links over in place (pinned_links.h), tc
// filters at the same handle/priority, and the sockmap's program by replacing
// it. `smi-agent uninstall` removes what was kept (inspect/remove.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"

namespace smi {

class Attachment {
 public:
  using Detach = std::function<Status()>;

  Attachment() = default;  // holds nothing
  // `detach` takes it off its hook; `prog_id` is the kernel id of the
  // program it runs (0: several, or not known).
  Attachment(std::string what, Detach detach, uint32_t prog_id = 0)
      : what_(std::move(what)), detach_(std::move(detach)), prog_id_(prog_id) {}
  Attachment(Attachment&& o) noexcept;
  Attachment& operator=(Attachment&& o) noexcept;  // detaches what this one held
  Attachment(const Attachment&) = delete;
  Attachment& operator=(const Attachment&) = delete;
  ~Attachment();

  // Takes it off its hook now. Detaching twice, or after keep(), does nothing.
  Status detach();
  // Leaves it in the kernel when this handle goes.
  void keep() { detach_ = nullptr; }

  bool held() const { return static_cast<bool>(detach_); }
  const std::string& what() const { return what_; }
  uint32_t prog_id() const { return prog_id_; }

 private:
  std::string what_;
  Detach detach_;  // empty once detached or kept
  uint32_t prog_id_ = 0;
};

// For callers that leave what they attach in the kernel: keeps it, or
// passes the error on.
inline Status kept(Result<Attachment> a) {
  if (!a) return std::move(a).error();
  a->keep();
  return ok();
}

}  // namespace smi
