#include "manifests/quantity.h"

#include <fmt/format.h>

namespace smi::manifests {
namespace {

constexpr __int128 kMaxMilli = 1'000'000'000'000'000;  // 10^15

struct Suffix {
  std::string_view text;
  // value = number * num / den (in milli-units the base factor is 1000)
  __int128 num;
  __int128 den;
};

__int128 pow_i(__int128 b, int e) {
  __int128 r = 1;
  while (e-- > 0) r *= b;
  return r;
}

}  // namespace

std::optional<std::int64_t> parse_quantity_milli(std::string_view s, std::string* why) {
  auto fail = [&](std::string m) -> std::optional<std::int64_t> {
    if (why) *why = std::move(m);
    return std::nullopt;
  };
  std::string_view orig = s;
  if (s.empty()) return fail("empty quantity");
  if (s.front() == '-') return fail(fmt::format("'{}' is negative", orig));
  if (s.front() == '+') s.remove_prefix(1);
  // digits [. digits]
  __int128 mant = 0;
  int frac_digits = 0;
  size_t i = 0;
  bool any = false, dot = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      any = true;
      if (mant > kMaxMilli * 1000) return fail(fmt::format("'{}' is too large", orig));
      mant = mant * 10 + (c - '0');
      if (dot) ++frac_digits;
      if (frac_digits > 9) return fail(fmt::format("'{}' has too many decimals", orig));
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!any) return fail(fmt::format("'{}' is not a quantity (expected a number such as 1, 0.5 or 500m)", orig));
  std::string_view suf = s.substr(i);
  __int128 num = 1000, den = pow_i(10, frac_digits);
  static constexpr Suffix kSuffixes[] = {
      {"", 1, 1},          {"m", 1, 1000},        {"k", 1000, 1},        {"M", 1000000, 1},
      {"G", 1000000000, 1}, {"T", 1000000000000, 1}, {"Ki", 1024, 1},      {"Mi", 1024 * 1024, 1},
      {"Gi", 1024LL * 1024 * 1024, 1}, {"Ti", 1024LL * 1024 * 1024 * 1024, 1},
  };
  bool matched = false;
  if (!suf.empty() && (suf.front() == 'e' || suf.front() == 'E') && suf.size() > 1) {
    // decimal exponent: 1e3
    std::string_view e = suf.substr(1);
    bool neg = false;
    if (e.front() == '-' || e.front() == '+') {
      neg = e.front() == '-';
      e.remove_prefix(1);
    }
    if (e.empty() || e.size() > 2) return fail(fmt::format("'{}' has a bad exponent", orig));
    int ex = 0;
    for (char c : e) {
      if (c < '0' || c > '9') return fail(fmt::format("'{}' has a bad exponent", orig));
      ex = ex * 10 + (c - '0');
    }
    if (ex > 18) return fail(fmt::format("'{}' is too large", orig));
    if (neg) den *= pow_i(10, ex);
    else num *= pow_i(10, ex);
    matched = true;
  } else {
    for (const auto& sx : kSuffixes) {
      if (suf == sx.text) {
        num *= sx.num;
        den *= sx.den;
        matched = true;
        break;
      }
    }
  }
  if (!matched) return fail(fmt::format("'{}' has an unknown suffix '{}'", orig, suf));
  // mant < 10^22 and num <= 10^21; refuse products that could overflow.
  constexpr __int128 kLimit = static_cast<__int128>(1'000'000'000'000'000'000) * 1'000'000'000'000'000'000 * 10;
  if (mant > kLimit / num) return fail(fmt::format("'{}' is out of range", orig));
  __int128 scaled = mant * num;
  if (scaled % den != 0) return fail(fmt::format("'{}' is finer than one milli-unit", orig));
  __int128 v = scaled / den;
  if (v > kMaxMilli) return fail(fmt::format("'{}' is too large", orig));
  return static_cast<std::int64_t>(v);
}

}  // namespace smi::manifests
