// deploy/image/Dockerfile, checked without a container engine: both stages are
// Debian bookworm, the build stage installs what deploy/setup.sh installs for
// building, every package it names exists in bookworm's archive (apt-cache,
// from this machine's package lists), and the runtime stage's packages hold
// every shared library the shipped agent links (ldd + dpkg -S). The shipped
// agent is a plain build's: in a sanitizer build the agent next to this test
// links libasan and libubsan, which no image carries, so that build is told
// where a plain agent is (SMI_SHIPPED_AGENT) or skips the library check.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "deploy/agent_cli.h"
#include "deploy/manifests.h"

namespace smi::test {
namespace {

struct Stage {
  std::string from, name;
  std::set<std::string> packages;  // apt-get install arguments
  std::vector<std::string> lines;  // instructions, continuations joined
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<Stage> parse_dockerfile(const std::string& text) {
  std::vector<Stage> stages;
  std::stringstream in(text);
  std::string joined;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '#' && joined.empty()) continue;
    auto first = line.find_first_not_of(' ');
    if (first != std::string::npos && line[first] == '#') continue;  // comment inside a continued RUN
    if (!line.empty() && line.back() == '\\') {
      joined += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    joined += line;
    std::stringstream words(joined);
    std::vector<std::string> w;
    for (std::string t; words >> t;) w.push_back(t);
    joined.clear();
    if (w.empty()) continue;
    if (w[0] == "FROM") {
      stages.push_back({w.size() > 1 ? w[1] : "", w.size() > 3 ? w[3] : "", {}, {}});
      continue;
    }
    if (stages.empty()) continue;
    std::string instr;
    for (const auto& t : w) instr += (instr.empty() ? "" : " ") + t;
    stages.back().lines.push_back(instr);
    if (w[0] != "RUN") continue;
    bool in_install = false;
    for (size_t i = 1; i < w.size(); ++i) {
      if (w[i] == "&&" || w[i] == ";")
        in_install = false;
      else if (w[i] == "install" && i > 0 && w[i - 1] == "apt-get")
        in_install = true;
      else if (in_install && w[i][0] != '-')
        stages.back().packages.insert(w[i]);
    }
  }
  return stages;
}

// The packages=( ... ) array of deploy/setup.sh.
std::set<std::string> setup_sh_packages() {
  std::string text = slurp(deploy_dir() + "/setup.sh");
  std::smatch m;
  std::set<std::string> out;
  if (!std::regex_search(text, m, std::regex(R"(packages=\(([^)]*)\))"))) return out;
  std::stringstream words(m[1].str());
  for (std::string t; words >> t;) out.insert(t);
  return out;
}

class Image : public ::testing::Test {
 protected:
  void SetUp() override {
    stages_ = parse_dockerfile(slurp(deploy_dir() + "/image/Dockerfile"));
    ASSERT_EQ(stages_.size(), 2u);
  }
  const Stage& build() const { return stages_[0]; }
  const Stage& runtime() const { return stages_[1]; }
  std::vector<Stage> stages_;
};

TEST_F(Image, BothStagesAreDebianBookworm) {
  EXPECT_EQ(build().from, "debian:bookworm");
  EXPECT_EQ(build().name, "build");
  EXPECT_EQ(runtime().from, "debian:bookworm-slim");
  EXPECT_FALSE(runtime().packages.count("clang")) << "no compiler at run time";
}

TEST_F(Image, BuildStageInstallsWhatSetupInstallsForBuilding) {
  // setup.sh also prepares a test machine: tools the build does not use.
  const std::set<std::string> not_for_building = {"git",  "iproute2",           "iputils-ping", "procps",
                                                  "curl", "libclang-rt-14-dev", "wireguard-go", "wireguard-tools"};
  std::set<std::string> want;
  for (const auto& p : setup_sh_packages())
    if (!not_for_building.count(p)) want.insert(p);
  ASSERT_GT(want.size(), 10u) << "could not read deploy/setup.sh's package list";
  EXPECT_EQ(build().packages, want);
}

TEST_F(Image, BuildsTheAgentAndInstallsItWhereTheDaemonSetCallsIt) {
  bool builds = false, copies = false;
  for (const auto& l : build().lines)
    builds |= l.find("--target smi-agent") != std::string::npos && l.find("-B /build") != std::string::npos;
  for (const auto& l : runtime().lines)
    copies |= l == "COPY --from=build /build/agent/smi-agent /usr/local/bin/smi-agent";
  EXPECT_TRUE(builds);
  EXPECT_TRUE(copies);
  // The DaemonSet runs it by that path (daemonset_e2e_test binds the built agent there).
  auto docs = load_docs("kubernetes");
  auto ds = of_kind(docs, "DaemonSet");
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(at(ds[0]->node, "spec.template.spec.containers")[0]["command"][0].Scalar(), "/usr/local/bin/smi-agent");
}

// Reads this machine's package lists: the machine runs bookworm (deploy/setup.sh).
class ImagePackages : public Image {
 protected:
  void SetUp() override {
    Image::SetUp();
    if (slurp("/etc/os-release").find("VERSION_CODENAME=bookworm") == std::string::npos)
      GTEST_SKIP() << "not a bookworm machine: its package lists would not say what bookworm has";
    if (run_command("apt-cache policy").status != 0) GTEST_SKIP() << "no apt-cache";
  }
};

TEST_F(ImagePackages, EveryPackageExistsInBookworm) {
  // One apt-cache run for all names (loading the cache is the slow part); it
  // prints a "Package:" stanza for each name it knows.
  std::set<std::string> all;
  std::string names;
  for (const auto& s : stages_)
    for (const auto& p : s.packages) {
      all.insert(p);
      names += " '" + p + "'";
    }
  auto r = run_command("apt-cache show --no-all-versions" + names);
  for (const auto& p : all)
    EXPECT_NE(r.output.find("Package: " + p + "\n"), std::string::npos) << p << " is not a bookworm package";
}

TEST_F(ImagePackages, BpffsInitStepToolsComeWithTheBaseImage) {
  // /bin/sh, grep and mount: priority "required", in every Debian image.
  for (const std::string p : {"dash", "grep", "mount"}) {
    auto r = run_command("apt-cache show --no-all-versions " + p);
    EXPECT_NE(r.output.find("Priority: required"), std::string::npos) << p;
  }
}

// What `apt-get install` of the runtime stage's list brings: the packages
// and everything they depend on.
std::set<std::string> runtime_closure(const std::set<std::string>& listed) {
  std::string cmd = "apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks "
                    "--no-replaces --no-enhances";
  for (const auto& p : listed) cmd += " " + p;
  auto r = run_command(cmd);
  std::set<std::string> out = listed;
  std::stringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    // "libcurl4" at column 0, "  Depends: libnghttp2-14" below it.
    auto colon = line.find("Depends: ");
    std::string name = colon == std::string::npos ? line : line.substr(colon + 9);
    name = name.substr(0, name.find_first_of(" :<"));
    if (!name.empty() && name[0] != ' ') out.insert(name);
  }
  return out;
}

// The agent the image ships: the environment's SMI_SHIPPED_AGENT if set (the
// sanitize tier points it at the plain build's agent), else this build's
// agent when this build is a plain one (SMI_SHIPPED_AGENT_PATH), else none.
std::string shipped_agent_path() {
  if (const char* e = std::getenv("SMI_SHIPPED_AGENT"); e && *e) return e;
#ifdef SMI_SHIPPED_AGENT_PATH
  return SMI_SHIPPED_AGENT_PATH;
#else
  return "";
#endif
}

// A sanitizer runtime among a binary's libraries: not a build the image ships.
bool links_a_sanitizer(const std::string& ldd_output) {
  return ldd_output.find("libasan.so") != std::string::npos || ldd_output.find("libubsan.so") != std::string::npos ||
         ldd_output.find("libtsan.so") != std::string::npos;
}

// --encryption wireguard on a kernel without WireGuard runs wireguard-go
// from the image; wg shows either engine's device from inside the pod.
TEST_F(ImagePackages, RuntimeStageCarriesTheWireGuardEngineAndTools) {
  EXPECT_TRUE(runtime().packages.count("wireguard-go"));
  EXPECT_TRUE(runtime().packages.count("wireguard-tools"));
}

TEST(ShippedAgent, SanitizerRuntimesMarkABuildTheImageDoesNotShip) {
  EXPECT_TRUE(links_a_sanitizer("\tlibasan.so.8 => /lib/x86_64-linux-gnu/libasan.so.8 (0x1)\n"));
  EXPECT_TRUE(links_a_sanitizer("\tlibubsan.so.1 => /lib/x86_64-linux-gnu/libubsan.so.1 (0x1)\n"));
  EXPECT_FALSE(links_a_sanitizer("\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x1)\n"));
}

TEST_F(ImagePackages, RuntimeStageHoldsEveryLibraryTheAgentLinks) {
  const std::string agent = shipped_agent_path();
  if (agent.empty())
    GTEST_SKIP() << "sanitizer build: its smi-agent links libasan/libubsan and is not the agent the image ships; "
                    "set SMI_SHIPPED_AGENT to a plain build's agent (./tests/run.sh's sanitize tier does) or run "
                    "the plain unit tier";
  const auto installed = runtime_closure(runtime().packages);
  auto ldd = run_command("ldd '" + agent + "'");
  ASSERT_EQ(ldd.status, 0) << agent << ": " << ldd.output;
  ASSERT_FALSE(links_a_sanitizer(ldd.output))
      << agent << " is a sanitizer build, not the agent the image ships:\n" << ldd.output;
  std::regex lib(R"(=> (/[^ ]+) \()");
  int libs = 0;
  std::stringstream in(ldd.output);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, lib)) continue;
    ++libs;
    // dpkg knows a file by the path its package ships; with merged /usr that
    // may be /lib/... or /usr/lib/..., of the link or of its target.
    CommandOutput owner;
    for (const auto& dir : {"", "/usr"}) {
      for (const auto& file : {m[1].str(), run_command("readlink -f '" + m[1].str() + "'").output}) {
        std::string f = file.substr(0, file.find('\n'));
        if (f.rfind("/usr/", 0) == 0) f = f.substr(4);
        if (owner.status != 0) owner = run_command("dpkg -S '" + std::string(dir) + f + "'");
      }
    }
    ASSERT_EQ(owner.status, 0) << m[1].str() << ": " << owner.output;
    auto pkg = owner.output.substr(0, owner.output.find_first_of(":,"));
    // libc6 is essential: in every Debian image, listed or not.
    EXPECT_TRUE(pkg == "libc6" || installed.count(pkg))
        << m[1].str() << " comes from " << pkg << ", which the runtime stage does not install";
  }
  EXPECT_GE(libs, 5) << ldd.output;
}

TEST(Dockerfile, ParserJoinsContinuationsAndFindsInstallArguments) {
  auto st = parse_dockerfile(
      "# c\nFROM debian:bookworm AS b\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends \\\n"
      "   # why\n   a b \\\n   c \\\n && rm -rf x\nFROM debian:bookworm-slim\nCOPY --from=b /x /y\n");
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].packages, (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(st[1].lines, (std::vector<std::string>{"COPY --from=b /x /y"}));
}

}  // namespace
}  // namespace smi::test
