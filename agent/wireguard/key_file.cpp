#include "wireguard/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.h"

namespace smi::wireguard {
namespace {

std::string path_in(const std::string& dir, std::string_view name) {
  return dir + "/" + std::string(name);
}

// Writes `data` to a temporary file in the same directory with `mode`, syncs
// it and renames it over `path`: a reader sees the old file or the new one.
Status write_replacing(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return Error::from_errno("create " + tmp);
  // The umask may have taken bits the mode asked for; the mode is exact.
  if (::fchmod(fd.get(), mode) != 0) return Error::from_errno("chmod " + tmp);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = Error::from_errno("write " + tmp);
      ::unlink(tmp.c_str());
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    Error e = Error::from_errno("fsync " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = Error::from_errno("rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  return ok();
}

Result<Key> read_private_key(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Error::from_errno("open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno("stat " + path);
  if (!S_ISREG(st.st_mode)) return Error(path + " is not a regular file");
  if ((st.st_mode & 077) != 0)
    return Error(
        fmt::format("{} has mode {:04o}: a private key must not be readable by group or others "
                    "(chmod 600 it, or remove it to generate a new key)",
                    path, st.st_mode & 07777));
  char buf[128];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0) return Error::from_errno("read " + path);
  std::string_view text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  auto key = parse_base64_key(text);
  if (!key) return Error(path + ": " + key.error().root());
  if (key->is_zero()) return Error(path + ": the private key is all zeros");
  return key;
}

Result<NodeKeys> publish(const std::string& state_dir, Key private_key, bool created) {
  auto pub = public_key_of(private_key);
  if (!pub) return std::move(pub).error();
  SMI_TRY(write_replacing(path_in(state_dir, kPublicKeyFile), pub->base64() + "\n", 0644));
  return NodeKeys{private_key, *pub, created};
}

Result<NodeKeys> create(const std::string& state_dir) {
  auto key = generate_private_key();
  if (!key) return std::move(key).error();
  SMI_TRY(write_replacing(path_in(state_dir, kPrivateKeyFile), key->base64() + "\n", 0600));
  return publish(state_dir, *key, true);
}

}  // namespace

Result<NodeKeys> load_or_create_node_keys(const std::string& state_dir) {
  std::string path = path_in(state_dir, kPrivateKeyFile);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Error::from_errno("stat " + path);
    return create(state_dir).context("WireGuard keys in " + state_dir);
  }
  auto key = read_private_key(path);
  if (!key) return std::move(key).error().context("WireGuard keys in " + state_dir);
  return publish(state_dir, *key, false).context("WireGuard keys in " + state_dir);
}

Result<NodeKeys> rotate_node_keys(const std::string& state_dir) {
  return create(state_dir).context("rotate the WireGuard key in " + state_dir);
}

}  // namespace smi::wireguard
