// deploy/kubernetes/monitoring: the Grafana dashboard and the PrometheusRule
// alerts parse, their PromQL passes `promtool check rules`, and every series
// (and every label a selector matches on) they query is one the agent really
// exports: compared with the rendered exposition of a fully populated agent
// (tests/unit/metrics_full_exposition.h), not with a hand-kept list.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "deploy/manifests.h"
#include "unit/metrics_full_exposition.h"
#include "unit/promtool.h"

namespace smi::test {
namespace {

using json = nlohmann::json;
using metrics::testing::find_promtool;
using metrics::testing::run_promtool;

// One vector selector of a PromQL expression: the series name and the label
// names its matchers use.
struct Selector {
  std::string name;
  std::set<std::string> labels;
};

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool ident_char(char c) { return ident_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

// The vector selectors of a PromQL expression. A scanner, not a parser
// (promtool checks the syntax): it skips strings, durations, numbers,
// function names (followed by '('), aggregations, keywords and the label
// lists of by/without/on/ignoring/group_left/group_right.
std::vector<Selector> selectors(const std::string& expr) {
  static const std::set<std::string> keywords = {"and", "or", "unless", "bool", "offset", "by", "without", "on",
                                                 "ignoring", "group_left", "group_right", "inf", "nan", "atan2",
                                                 // aggregations: `sum by (l) (...)` puts a label list before '('
                                                 "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                                                 "count_values", "bottomk", "topk", "quantile"};
  static const std::set<std::string> label_lists = {"by", "without", "on", "ignoring", "group_left", "group_right"};
  std::vector<Selector> out;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < expr.size() && std::isspace(static_cast<unsigned char>(expr[i]))) ++i;
  };
  // The label names of a {...} matcher list starting at expr[i] == '{'.
  auto matchers = [&](std::set<std::string>& labels) {
    ++i;
    while (i < expr.size() && expr[i] != '}') {
      skip_space();
      size_t s = i;
      while (i < expr.size() && ident_char(expr[i])) ++i;
      if (i > s) labels.insert(expr.substr(s, i - s));
      while (i < expr.size() && expr[i] != '"' && expr[i] != '}') ++i;  // the operator
      if (i < expr.size() && expr[i] == '"') {
        for (++i; i < expr.size() && expr[i] != '"'; ++i)
          if (expr[i] == '\\') ++i;
        ++i;
      }
      skip_space();
      if (i < expr.size() && expr[i] == ',') ++i;
    }
    ++i;
  };
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      for (++i; i < expr.size() && expr[i] != c; ++i)
        if (expr[i] == '\\' && c != '`') ++i;
      ++i;
    } else if (c == '[') {
      i = expr.find(']', i) + 1;  // a range or subquery: durations only
    } else if (c == '{') {
      Selector s;  // a selector with no name ({__name__=...}): only its labels
      matchers(s.labels);
      out.push_back(s);
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      while (i < expr.size() && (std::isalnum(static_cast<unsigned char>(expr[i])) || expr[i] == '.')) ++i;
    } else if (ident_start(c)) {
      size_t s = i;
      while (i < expr.size() && ident_char(expr[i])) ++i;
      const std::string word = expr.substr(s, i - s);
      skip_space();
      const bool call = i < expr.size() && expr[i] == '(';
      if (label_lists.count(word)) {
        if (call) i = expr.find(')', i) + 1;
      } else if (!call && !keywords.count(word)) {
        Selector sel{word, {}};
        if (i < expr.size() && expr[i] == '{') matchers(sel.labels);
        out.push_back(sel);
      }
    } else {
      ++i;
    }
  }
  return out;
}

// Grafana's variables as Prometheus would see them after substitution.
std::string expand_grafana(std::string e) {
  for (const auto& [var, value] : std::vector<std::pair<std::string, std::string>>{
           {"$__rate_interval", "5m"}, {"$__interval", "1m"}, {"$__range", "1h"}, {"${node}", ".*"}, {"$node", ".*"}}) {
    for (size_t p; (p = e.find(var)) != std::string::npos;) e.replace(p, var.size(), value);
  }
  return e;
}

void collect_exprs(const json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "expr" && it.value().is_string()) out.push_back(it.value());
      collect_exprs(it.value(), out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collect_exprs(v, out);
  }
}

std::string write_temp(const std::string& content) {
  char path[] = "/tmp/smi-rules-XXXXXX";
  int fd = ::mkstemp(path);
  ::close(fd);
  std::ofstream(path) << content;
  return path;
}

class Monitoring : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    exposition_ = new std::string(metrics::testing::full_exposition());
    // Sample name -> every label name it carries somewhere.
    labels_ = new std::map<std::string, std::set<std::string>>();
    std::istringstream in(*exposition_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      const size_t brace = line.find('{');
      const std::string name = line.substr(0, line.find_first_of("{ "));
      auto& l = (*labels_)[name];
      if (brace == std::string::npos) continue;
      for (const auto& s : selectors(line.substr(brace, line.rfind('}') - brace + 1))) l.insert(s.labels.begin(), s.labels.end());
    }
  }
  static void TearDownTestSuite() {
    delete exposition_;
    delete labels_;
  }

  // Every selector of `expr` names a series the agent exports, matching only
  // on labels it carries (plus the scrape's own: node, instance, job).
  void check_series(const std::string& where, const std::string& expr) {
    const auto sels = selectors(expr);
    EXPECT_FALSE(sels.empty()) << where << ": no series in " << expr;
    for (const auto& s : sels) {
      auto it = labels_->find(s.name);
      if (it == labels_->end()) {
        ADD_FAILURE() << where << ": queries " << (s.name.empty() ? "{...}" : s.name)
                      << ", which the agent does not export; in: " << expr;
        continue;
      }
      for (const auto& l : s.labels) {
        if (l == "node" || l == "instance" || l == "job") continue;  // the scrape's own
        EXPECT_TRUE(it->second.count(l)) << where << ": " << s.name << " has no label " << l << "; in: " << expr;
      }
    }
  }

  static json dashboard() {
    std::ifstream in(deploy_dir() + "/kubernetes/monitoring/grafana-dashboard.json");
    EXPECT_TRUE(in) << "no grafana-dashboard.json";
    return json::parse(in);  // throws (fails the test) on a syntax error
  }

  static YAML::Node rule_groups() {
    auto docs = load_docs("kubernetes/monitoring");
    auto rules = of_kind(docs, "PrometheusRule");
    EXPECT_EQ(rules.size(), 1u);
    if (rules.empty()) return {};
    EXPECT_EQ(rules[0]->api_version(), "monitoring.coreos.com/v1");
    return rules[0]->node["spec"];
  }

  static std::string* exposition_;
  static std::map<std::string, std::set<std::string>>* labels_;
};

std::string* Monitoring::exposition_ = nullptr;
std::map<std::string, std::set<std::string>>* Monitoring::labels_ = nullptr;

TEST(PromqlScanner, FindsSeriesAndTheirMatcherLabelsOnly) {
  auto s = selectors(
      "sum by (a, b) (rate(x_total{a=\"v,}\", b=~'w'}[5m] offset 1h)) / on(c) group_left(d) y > 0.5 and "
      "histogram_quantile(0.99, z_bucket) or vector(1) * 2e3 + time()");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].name, "x_total");
  EXPECT_EQ(s[0].labels, (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(s[1].name, "y");
  EXPECT_EQ(s[2].name, "z_bucket");
}

TEST_F(Monitoring, DashboardPanelsQueryOnlyExportedSeries) {
  json d = dashboard();
  EXPECT_EQ(d.value("uid", ""), "smi-agent");
  std::vector<std::string> exprs;
  collect_exprs(d["panels"], exprs);
  EXPECT_GE(exprs.size(), 15u);
  for (size_t i = 0; i < exprs.size(); ++i) check_series("dashboard expr " + std::to_string(i), exprs[i]);
  // The node variable: label_values(<series>, node).
  for (const auto& v : d["templating"]["list"]) {
    const std::string q = v.value("query", "");
    if (q.rfind("label_values(", 0) != 0) continue;
    const std::string series = q.substr(13, q.find(',') - 13);
    EXPECT_TRUE(labels_->count(series)) << "variable " << v.value("name", "") << " reads " << series;
  }
}

TEST_F(Monitoring, DashboardCoversWhatTheIssueAsks) {
  std::vector<std::string> exprs;
  collect_exprs(dashboard()["panels"], exprs);
  std::set<std::string> used;
  for (const auto& e : exprs)
    for (const auto& s : selectors(e)) used.insert(s.name);
  for (const char* s : {"smi_edge_connections_closed_total", "smi_edge_connect_duration_seconds_bucket",
                        "smi_edge_connections_denied_total", "smi_datapath_verdicts_total", "smi_events_lost_total",
                        "smi_map_entries", "smi_updates_refused_total", "smi_objects_refused", "smi_source_synced"})
    EXPECT_TRUE(used.count(s)) << "no panel shows " << s;
}

TEST_F(Monitoring, AlertsQueryOnlyExportedSeries) {
  YAML::Node spec = rule_groups();
  size_t n = 0;
  for (const auto& g : spec["groups"])
    for (const auto& r : g["rules"]) {
      ASSERT_TRUE(r["alert"]) << "only alerts in " << g["name"].as<std::string>();
      check_series("alert " + r["alert"].as<std::string>(), r["expr"].as<std::string>());
      EXPECT_TRUE(r["labels"]["severity"]) << r["alert"].as<std::string>() << " has no severity";
      ++n;
    }
  EXPECT_GE(n, 8u);
}

TEST_F(Monitoring, RuleGroupsPassPromtoolCheckRules) {
  const std::string promtool = find_promtool();
  ASSERT_FALSE(promtool.empty()) << "promtool missing: run deploy/setup.sh as root";
  YAML::Emitter out;
  out << rule_groups();  // spec: {groups: [...]}, a Prometheus rule file
  const std::string path = write_temp(out.c_str());
  auto r = run_promtool(promtool, "check rules " + path);
  ::unlink(path.c_str());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
}

TEST_F(Monitoring, DashboardExpressionsPassPromtool) {
  const std::string promtool = find_promtool();
  ASSERT_FALSE(promtool.empty()) << "promtool missing: run deploy/setup.sh as root";
  std::vector<std::string> exprs;
  collect_exprs(dashboard()["panels"], exprs);
  // Each panel query as a recording rule: promtool parses its PromQL.
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key
      << "name" << YAML::Value << "dashboard" << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (size_t i = 0; i < exprs.size(); ++i)
    out << YAML::BeginMap << YAML::Key << "record" << YAML::Value << "smi:panel_" + std::to_string(i) << YAML::Key
        << "expr" << YAML::Value << expand_grafana(exprs[i]) << YAML::EndMap;
  out << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
  const std::string path = write_temp(out.c_str());
  auto r = run_promtool(promtool, "check rules " + path);
  ::unlink(path.c_str());
  EXPECT_EQ(r.status, 0) << r.output << "\n" << out.c_str();
}

}  // namespace
}  // namespace smi::test
