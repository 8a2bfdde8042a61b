// Result<T>: recoverable errors as values.
//
// An Error carries the errno it came from (0 when it did not come from a system
// call) and a chain of context, outermost first when printed:
//   "load datapath: open skeleton tc_pod: Operation not permitted (errno 1)".
// Add context with .context("...") where a caller knows more than the callee.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

namespace smi {

class Error {
 public:
  Error() = default;
  explicit Error(std::string message, int err = 0) : errno_(err) { chain_.push_back(std::move(message)); }

  // An error from a failed system call: captures the errno it is given.
  static Error from_errno(std::string what, int err = errno) { return Error(std::move(what), err); }

  int code() const { return errno_; }

  // Wraps the error with what the caller was doing.
  Error& context(std::string what) & {
    chain_.push_back(std::move(what));
    return *this;
  }
  Error&& context(std::string what) && {
    chain_.push_back(std::move(what));
    return std::move(*this);
  }

  // The innermost message, without context.
  const std::string& root() const { return chain_.front(); }

  std::string message() const {
    std::string out;
    for (auto it = chain_.rbegin(); it != chain_.rend(); ++it) {
      if (!out.empty()) out += ": ";
      out += *it;
    }
    if (errno_ != 0) out += fmt::format(": {} (errno {})", std::strerror(errno_), errno_);
    return out;
  }

 private:
  int errno_ = 0;
  std::vector<std::string> chain_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

  Result&& context(std::string what) && {
    if (!ok()) std::get<1>(v_).context(std::move(what));
    return std::move(*this);
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }

  Result&& context(std::string what) && {
    if (!ok_) err_.context(std::move(what));
    return std::move(*this);
  }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok() { return {}; }

}  // namespace smi

// Propagates an error from an expression returning Result/Status.
#define SMI_TRY(expr)                          \
  do {                                         \
    auto smi_try_r_ = (expr);                  \
    if (!smi_try_r_.ok()) return std::move(smi_try_r_).error(); \
  } while (0)
