// What this build is: the project version (one source: project() in the
// top-level CMakeLists.txt) and the git commit it was built from ("unknown"
// outside a git checkout, "-dirty" with uncommitted changes). Link smi_version.
#pragma once

#include <string>
#include <string_view>

namespace smi {

std::string_view version();     // "0.1.0"
std::string_view git_commit();  // "628cf6b1a2c3", "628cf6b1a2c3-dirty" or "unknown"

// "smi-agent 0.1.0 (commit 628cf6b1a2c3)": what --version prints.
std::string version_line();

}  // namespace smi
