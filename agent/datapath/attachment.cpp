#include "datapath/attachment.h"

#include <utility>

#include "base/log.h"

namespace smi {

Attachment::Attachment(Attachment&& o) noexcept
    : what_(std::move(o.what_)), detach_(std::exchange(o.detach_, nullptr)), prog_id_(o.prog_id_) {}

Attachment& Attachment::operator=(Attachment&& o) noexcept {
  if (this != &o) {
    if (auto st = detach(); !st) log(Log::datapath)->warn("detach {}: {}", what_, st.error().message());
    what_ = std::move(o.what_);
    detach_ = std::exchange(o.detach_, nullptr);
    prog_id_ = o.prog_id_;
  }
  return *this;
}

Attachment::~Attachment() {
  if (auto st = detach(); !st) log(Log::datapath)->warn("detach {}: {}", what_, st.error().message());
}

Status Attachment::detach() {
  if (!detach_) return ok();
  auto d = std::exchange(detach_, nullptr);
  return d();
}

}  // namespace smi
