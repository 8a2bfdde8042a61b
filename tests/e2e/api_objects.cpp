#include "e2e/api_objects.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "base/netns.h"

namespace smi::test {

using nlohmann::json;

json to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.Scalar()] = to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& v : n) a.push_back(to_json(v));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (s == "true" || s == "false") return s == "true";
      if (s == "null" || s == "~") return nullptr;
      if (!s.empty() && s.find_first_not_of("-0123456789") == std::string::npos && s != "-") return std::stoll(s);
      return s;
    }
    default:
      return nullptr;
  }
}

const kube::ResourceType& type_of(const std::string& api_version, const std::string& kind) {
  for (const auto& t : kube::all_resources())
    if (t.api_version() == api_version && t.kind == kind) return t;
  throw std::runtime_error("not a watched resource: " + api_version + " " + kind);
}

void serve_manifests(kube::testing::FakeApi& api, const std::string& dir) {
  for (const auto& t : kube::all_resources()) api.serve(t);
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().filename().string()[0] == '.') continue;
    for (const auto& doc : YAML::LoadAllFromFile(f.path())) {
      if (!doc.IsMap()) continue;
      json obj = to_json(doc);
      api.put(type_of(obj["apiVersion"], obj["kind"]), obj);
    }
  }
}

Result<std::unique_ptr<kube::testing::FakeApi>> api_in_netns(const std::string& netns, const kube::testing::Pki& pki,
                                                             const std::string& token, const std::string& dir,
                                                             const std::string& host) {
  std::unique_ptr<kube::testing::FakeApi> api;
  Status made = ok();
  std::thread([&] {
    auto in = ScopedNetns::enter("/run/netns/" + netns);
    if (!in) {
      made = std::move(in).error();
      return;
    }
    try {
      api = std::make_unique<kube::testing::FakeApi>(kube::testing::FakeApi::Options{
          .tls = kube::testing::TlsIdentity{pki.server_cert, pki.server_key, ""}, .token = token, .host = host});
    } catch (const std::exception& e) {
      made = Error(std::string("fake API server: ") + e.what());
    }
  }).join();
  SMI_TRY(made);
  serve_manifests(*api, dir);
  return api;
}

std::string write_kubeconfig(const std::string& dir, const kube::testing::Pki& pki, const std::string& token,
                             const std::string& url) {
  std::ofstream(dir + "/ca.crt") << pki.ca_cert;
  std::ofstream(dir + "/token") << token << "\n";
  std::ofstream(dir + "/kubeconfig") << fmt::format(R"(apiVersion: v1
kind: Config
current-context: e2e
clusters: [{{name: fake, cluster: {{server: "{}", certificate-authority: ca.crt}}}}]
users: [{{name: agent, user: {{tokenFile: token}}}}]
contexts: [{{name: e2e, context: {{cluster: fake, user: agent}}}}]
)",
                                                    url);
  return dir + "/kubeconfig";
}

}  // namespace smi::test
