#include "manifests/load.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>
#include <fmt/format.h>

#include "base/fd.h"
#include "base/memory.h"
#include "manifests/decode.h"
#include "manifests/pieces.h"
#include "manifests/reader.h"

namespace smi::manifests {

namespace fs = std::filesystem;

namespace {

// YAML larger than this is read in pieces of about this size, in parallel.
constexpr size_t kPieceBytes = size_t{2} << 20;
constexpr unsigned kMaxReaders = 4;

// One piece of one file, read and decoded on its own.
struct Work {
  std::string_view text;
  const std::string* file = nullptr;
  Format format = Format::yaml;
  int first_line = 1;
  // Out:
  std::vector<model::Object> objects;
  model::Diagnostics diags;
  bool complete = true;  // false: reading stopped at an error in this piece

  void run() {
    if (format == Format::json) {
      for (const auto& d : read_json(text, *file, diags)) decode_document(d, *file, diags, objects);
      return;
    }
    // Room for every document at once: a vector grown by doubling moves
    // its objects into fresh memory again and again.
    objects.reserve(count_document_starts(text) + 1);
    prefault(objects.data(), objects.capacity() * sizeof(model::Object));
    // Each document decoded while it is still in cache, then freed.
    complete = read_yaml_each(
        text, *file, diags, {}, [&](Document&& d) { decode_document(d, *file, diags, objects); }, first_line);
  }
};

// Calls fn(0) .. fn(n - 1), on up to kMaxReaders threads.
template <class Fn>
void parallel_for(size_t n, const Fn& fn) {
  const unsigned threads = std::min<size_t>({n, kMaxReaders, std::max(1u, std::thread::hardware_concurrency())});
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(worker);
    } catch (const std::system_error&) {
      break;  // fewer threads; the work is the same
    }
  }
  worker();
  for (auto& t : pool) t.join();
}

// Runs every work item, on up to kMaxReaders threads.
void run_all(std::vector<Work>& work) {
  parallel_for(work.size(), [&](size_t i) { work[i].run(); });
}

void add_work(std::vector<Work>& work, std::string_view text, const std::string& file, Format format) {
  if (format == Format::json) {
    work.push_back({.text = text, .file = &file, .format = format});
    return;
  }
  for (const auto& p : split_documents(text, kPieceBytes))
    work.push_back({.text = p.text, .file = &file, .format = format, .first_line = p.first_line});
}

// Appends one file's results in order. As in one serial read, the pieces
// after the one whose reading stopped at an error are dropped.
void collect(std::vector<Work>::iterator begin, std::vector<Work>::iterator end, std::vector<model::Object>& out,
             model::Diagnostics& diags) {
  size_t n = out.size();
  for (auto it = begin; it != end; ++it) n += it->objects.size();
  out.reserve(n);
  for (auto it = begin; it != end; ++it) {
    std::move(it->objects.begin(), it->objects.end(), std::back_inserter(out));
    diags.append(it->diags);
    if (!it->complete) break;
  }
}

bool is_manifest(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

Format format_of(const fs::path& p) { return p.extension() == ".json" ? Format::json : Format::yaml; }

}  // namespace

std::vector<model::Object> parse_text(std::string_view text, const std::string& file, Format format,
                                      model::Diagnostics& diags) {
  std::vector<Work> work;
  add_work(work, text, file, format);
  run_all(work);
  std::vector<model::Object> out;
  collect(work.begin(), work.end(), out, diags);
  return out;
}

std::vector<model::Object> parse_json_value(const nlohmann::json& value, const std::string& source,
                                            model::Diagnostics& diags) {
  // Round-trips through text: one conversion path, and the API source's
  // objects are small.
  std::string text;
  try {
    text = value.dump();
  } catch (const std::exception& e) {
    diags.error({source, 0, 0}, "", "", fmt::format("cannot serialise JSON value: {}", e.what()));
    return {};
  }
  return parse_text(text, source, Format::json, diags);
}

std::vector<fs::path> list_manifests(const fs::path& path, model::Diagnostics& diags) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::error_code ec2;
      if (it->is_regular_file(ec2) && is_manifest(it->path())) files.push_back(it->path());
    }
    if (ec) diags.error({path.string(), 0, 0}, "", "", fmt::format("cannot list: {}", ec.message()));
  } else if (fs::exists(path, ec)) {
    files.push_back(path);
  } else {
    diags.error({path.string(), 0, 0}, "", "", "no such file or directory");
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::optional<std::string> read_manifest_file(const fs::path& f, model::Diagnostics& diags) {
  auto refuse = [&](std::string why) {
    diags.error({f.string(), 0, 0}, "", "", std::move(why));
    return std::nullopt;
  };
  auto cannot_read = [&] { return refuse(fmt::format("cannot read file: {}", std::strerror(errno))); };
  // Read at the size fstat gives, into one buffer: a stream grown by
  // doubling copies a 10 MB file several times and faults in twice its pages.
  const Fd fd(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) return cannot_read();
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > kMaxFileBytes)
    return refuse(fmt::format("file is {} bytes, more than the {} a manifest file may have", size, kMaxFileBytes));
  std::string text;
  text.reserve(size + 1);
  prefault(text.data(), text.capacity());
  text.resize(size + 1);  // one byte more: growth (or a size fstat does not know, as in /proc) is seen at once
  size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (text.size() > kMaxFileBytes)
        return refuse(fmt::format("file grew past the {} bytes a manifest file may have while it was read",
                                  kMaxFileBytes));
      text.resize(text.size() * 2);
    }
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cannot_read();
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

std::vector<model::Object> load_manifests(const fs::path& path, model::Diagnostics& diags) {
  ManifestCache once;
  return once.load(path, diags, ManifestCache::Keep::no);
}

// ---- ManifestCache

namespace {

ManifestCache::Stamp stamp_of(const fs::path& f) {
  struct stat st {};
  if (::stat(f.c_str(), &st) != 0) return {};
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec};
}

}  // namespace

std::vector<model::Object> ManifestCache::load(const fs::path& path, model::Diagnostics& diags, Keep keep) {
  opened_ = decoded_ = 0;
  std::vector<model::Object> out;
  const auto files = list_manifests(path, diags);
  std::map<std::string, Entry> next;
  // Files to read: new, changed, or changed too recently to trust the stamp.
  struct Opened {
    std::string name;
    const fs::path* path;
    Entry e;
    std::optional<std::string> text;
  };
  std::vector<Opened> opened;
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  for (const auto& f : files) {
    std::string name = f.string();
    Entry e;
    e.stamp = stamp_of(f);
    auto old = files_.find(name);
    // A file modified within the timestamp granularity of its stamp may
    // change again without its stamp changing: such a file is read again
    // (its content hash then decides).
    if (old != files_.end() && old->second.stamp == e.stamp && old->second.settled && e.stamp.ino != 0) {
      next.emplace(std::move(name), std::move(old->second));
      continue;
    }
    e.settled = e.stamp.ctime_ns < now_ns - settle_.count();
    opened.push_back({std::move(name), &f, std::move(e), std::nullopt});
  }
  // Read and hash them on the readers' threads: at a cold start this is
  // every byte of every manifest.
  parallel_for(opened.size(), [&](size_t i) {
    Opened& o = opened[i];
    o.text = read_manifest_file(*o.path, o.e.diags);
    // The hash tells a rewritten file from an unchanged one: for the next
    // load, or against what this cache holds. A one-shot read needs neither.
    if (o.text && (keep == Keep::yes || !files_.empty())) o.e.hash = std::hash<std::string>{}(*o.text);
  });
  opened_ = opened.size();
  std::vector<std::pair<std::string, std::string>> texts;  // path, content
  for (auto& [name, path, e, text] : opened) {
    auto old = files_.find(name);
    if (text) {
      if (old != files_.end() && old->second.hash == e.hash && old->second.size == text->size() &&
          old->second.read_ok) {
        old->second.stamp = e.stamp;
        old->second.settled = e.settled;
        next.emplace(name, std::move(old->second));
        continue;
      }
      e.size = text->size();
      e.read_ok = true;
      texts.emplace_back(name, std::move(*text));
    }
    next.emplace(name, std::move(e));
  }
  // Read and decode the changed files, in parallel pieces.
  std::vector<Work> work;
  std::vector<size_t> first;  // work index where each text starts
  for (const auto& [name, text] : texts) {
    first.push_back(work.size());
    add_work(work, text, name, format_of(name));
  }
  first.push_back(work.size());
  run_all(work);
  auto range = [&](size_t i) {
    return std::pair{work.begin() + static_cast<long>(first[i]), work.begin() + static_cast<long>(first[i + 1])};
  };
  decoded_ = texts.size();
  if (keep == Keep::no) {
    // Straight from the pieces into the result, in the cache's file order.
    std::map<std::string_view, size_t> index;
    for (size_t i = 0; i < texts.size(); ++i) index.emplace(texts[i].first, i);
    size_t total = 0;
    for (const auto& w : work) total += w.objects.size();
    out.reserve(total);
    prefault(out.data(), total * sizeof(model::Object));
    for (auto& [name, e] : next) {
      if (auto it = index.find(name); it != index.end()) {
        auto [b, end] = range(it->second);
        collect(b, end, out, e.diags);
      }
      diags.append(e.diags);
    }
    files_.clear();
    diags.sort();
    return out;
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    Entry& e = next.at(texts[i].first);
    auto [b, end] = range(i);
    collect(b, end, e.objects, e.diags);
  }
  files_ = std::move(next);
  size_t total = 0;
  for (const auto& [name, e] : files_) total += e.objects.size();
  out.reserve(total);
  for (const auto& [name, e] : files_) {
    out.insert(out.end(), e.objects.begin(), e.objects.end());
    diags.append(e.diags);
  }
  diags.sort();
  return out;
}

}  // namespace smi::manifests
