// Small questions about BPF objects the inspector asks the kernel: what a
// pin is (map, program or link), a program's name, a map's entry count.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace smi::inspect {

enum class ObjKind { unknown, map, prog, link };

// The kind of the BPF object behind fd (read from /proc/self/fdinfo).
ObjKind obj_kind(int fd);

// A program's kernel name (cut at 15 characters), "" when it is gone.
std::string prog_name(uint32_t prog_id);

// Entries in a map, by walking its keys; nullopt for types that cannot be
// walked (ring buffers, socket storage).
std::optional<uint64_t> count_entries(int map_fd, uint32_t map_type, uint32_t key_size);

}  // namespace smi::inspect
