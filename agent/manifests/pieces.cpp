#include "manifests/pieces.h"

#include <algorithm>

namespace smi::manifests {
namespace {

bool has_directive(std::string_view text) {
  return (!text.empty() && text.front() == '%') || text.find("\n%") != std::string_view::npos;
}

// Whether the line starting at `at` is a document start marker.
bool is_document_start(std::string_view text, size_t at) {
  if (text.compare(at, 3, "---") != 0) return false;
  if (at + 3 == text.size()) return true;
  const char c = text[at + 3];
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

size_t count_document_starts(std::string_view text) {
  size_t n = 0;
  for (size_t nl = text.find('\n'); nl != std::string_view::npos; nl = text.find('\n', nl + 1))
    if (is_document_start(text, nl + 1)) ++n;
  return n;
}

std::vector<Piece> split_documents(std::string_view text, size_t target) {
  std::vector<Piece> out;
  if (target == 0 || text.size() <= target || has_directive(text)) {
    out.push_back({text, 1});
    return out;
  }
  size_t begin = 0;
  int line = 1;
  size_t counted = 0;  // lines counted up to here
  while (begin < text.size()) {
    size_t cut = text.size();
    for (size_t nl = text.find('\n', std::min(text.size(), begin + target)); nl != std::string_view::npos;
         nl = text.find('\n', nl + 1)) {
      if (is_document_start(text, nl + 1)) {
        cut = nl + 1;
        break;
      }
    }
    out.push_back({text.substr(begin, cut - begin), line});
    line += static_cast<int>(std::count(text.begin() + counted, text.begin() + cut, '\n'));
    counted = cut;
    begin = cut;
  }
  return out;
}

}  // namespace smi::manifests
