/* How a map that outlives the agent is declared. Every such map is pinned by
 * its name under the agent's bpffs directory (LIBBPF_PIN_BY_NAME), so the
 * name is the pin name: smi_<family>_v<layout>, at most 15 characters (the
 * kernel cuts map names there). One line per map keeps the facts a reader
 * and the C++ side look for (name, type, key, value, size, flags) together.
 *
 *   SMI_PINNED_MAP(name, BPF_MAP_TYPE_*, key type, value type, max_entries, map_flags);
 *
 * max_entries 0 is for maps the kernel sizes itself (socket storage);
 * map_flags 0 is the default (preallocated hash entries). The ring buffer has
 * no key or value and is declared with SMI_PINNED_RINGBUF. */
#ifndef SMI_LIB_MAPS_H
#define SMI_LIB_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define SMI_PINNED_MAP(name, map_type, key_type, value_type, max, flags) \
  struct {                                                               \
    __uint(type, map_type);                                              \
    __uint(max_entries, max);                                            \
    __type(key, key_type);                                               \
    __type(value, value_type);                                           \
    __uint(map_flags, flags);                                            \
    __uint(pinning, LIBBPF_PIN_BY_NAME);                                 \
  } name SEC(".maps")

#define SMI_PINNED_RINGBUF(name, bytes)   \
  struct {                                \
    __uint(type, BPF_MAP_TYPE_RINGBUF);   \
    __uint(max_entries, bytes);           \
    __uint(pinning, LIBBPF_PIN_BY_NAME);  \
  } name SEC(".maps")

#endif
