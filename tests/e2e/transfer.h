// Byte-exact bulk transfers between two pods for the acceleration tests and
// the benchmark: every stream carries a deterministic pseudo-random pattern
// (seeded per connection and direction) that the receiver checks byte by
// byte, then EOF must follow exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace smi::test {

// Fills buf with the pattern of stream `seed` starting at byte `offset`.
void fill_pattern(uint64_t seed, uint64_t offset, uint8_t* buf, size_t n);

// Server loop (runs forever in a pod): for each accepted connection, in its
// own thread, sends `bytes` of pattern (seed from the first 8 bytes the
// client sends) while checking `bytes` of the client's pattern, then expects
// EOF and closes. Writes "ok\n" or "bad <why>\n" per connection to report_fd,
// preceded by "eagain <n>\n" when blocking reads saw spurious EAGAINs.
int transfer_server(const std::string& any, uint16_t port, size_t bytes, int report_fd);

// Client: `conns` parallel connections to addr:port, each sending and
// checking `bytes` each way, half-closing after its sends. Returns 0 when
// every byte and every EOF was exact, else a small error code. Writes
// "eagain <n>\n" (spurious EAGAINs its blocking reads saw) to report_fd.
int transfer_client(const std::string& addr, uint16_t port, int conns, size_t bytes, int report_fd = -1);

}  // namespace smi::test
