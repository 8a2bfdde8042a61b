// A test fixture with a fresh directory of its own under /tmp, removed with
// everything in it after the test.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace smi::test {

class TempDirTest : public ::testing::Test {
 protected:
  // The directory is /tmp/<prefix>-XXXXXX.
  explicit TempDirTest(std::string prefix) : prefix_(std::move(prefix)) {}

  // A fixture with more to set up calls this from its own SetUp.
  void SetUp() override {
    std::string tmpl = "/tmp/" + prefix_ + "-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << tmpl << ": " << std::strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Writes `text` to the file `rel` below the directory; returns its path.
  std::string write(const std::string& rel, const std::string& text) const {
    const std::string path = dir_ + "/" + rel;
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;

 private:
  std::string prefix_;
};

}  // namespace smi::test
