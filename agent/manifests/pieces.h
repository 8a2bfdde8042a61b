// A large YAML stream cut into pieces at document starts, so the pieces can
// be read in parallel and still give exactly the documents, lines and errors
// of one serial read up to the first error.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace smi::manifests {

struct Piece {
  std::string_view text;
  int first_line = 1;  // the file's line number of the piece's first line
};

// Pieces of about `target` bytes each, each starting at a line that is a
// document start marker (`---` then a space, a tab or the end of the line).
// YAML forbids such a line inside any content (plain, quoted or block
// scalars, flow collections), so cutting there changes nothing a serial read
// sees. A stream with directives (`%YAML`, `%TAG`, which belong to the next
// document) is one piece. Deterministic: the cuts depend on the text only.
std::vector<Piece> split_documents(std::string_view text, size_t target);

// Lines of `text` that are document start markers (after the first line).
// A stream without `...` end markers holds at most this many documents plus
// one (after `...` a document may start bare). For sizing, not parsing.
size_t count_document_starts(std::string_view text);

}  // namespace smi::manifests
