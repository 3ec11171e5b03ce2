// Issue 5 acceptance: Kepler's own Grafana dashboard keeps working on wattson. Every PromQL
// expression of testdata/kepler-v0.7.11/grafana-dashboards/Kepler-Exporter.json (panels and
// template variables), with its template variables filled from the scraped data, must return
// non-empty data from a real Prometheus server scraping `wattson agent`.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "agent_fixture.h"
#include "gtest/gtest.h"
#include "integration_util.h"

namespace wattson::integration {
namespace {

// One PromQL expression of a panel.
struct PanelQuery {
  std::string where;  // "panel 4 'Total Power Consumption (W) ...' target B"
  std::string expr;
};

// One template variable, as Grafana stores it.
struct Variable {
  std::string name;
  std::string type;   // query, constant, textbox, custom, datasource, interval, ...
  std::string query;  // the query text (for "query": e.g. label_values(metric{...}, label))
  std::string current;
  bool include_all = false;
  std::string all_value;
  std::string regex;
};

struct Dashboard {
  std::string title;
  std::vector<PanelQuery> queries;
  std::vector<Variable> variables;
};

std::string StringOr(const Json& j, const char* key, std::string fallback = "") {
  const Json* f = FindField(j, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : fallback;
}

// Panels may nest (collapsed rows hold their panels); every target with an expr counts.
void CollectQueries(const Json& panels, std::vector<PanelQuery>* out) {
  if (!panels.is_array()) return;
  for (const Json& p : panels) {
    if (!p.is_object()) continue;
    if (const Json* targets = FindField(p, "targets"); targets != nullptr && targets->is_array()) {
      for (const Json& t : *targets) {
        const std::string expr = t.is_object() ? StringOr(t, "expr") : "";
        if (expr.empty()) continue;
        const Json* id = FindField(p, "id");
        out->push_back({fmt::format("panel {} '{}' target {}", id != nullptr ? id->dump() : "?",
                                    StringOr(p, "title"), StringOr(t, "refId", "?")),
                        expr});
      }
    }
    if (const Json* nested = FindField(p, "panels"); nested != nullptr) {
      CollectQueries(*nested, out);
    }
  }
}

Result<Dashboard> LoadDashboard(const fs::path& path) {
  const std::string text = ReadText(path);
  if (text.empty()) return Status::NotFound(path.string() + ": missing or empty");
  WATTSON_ASSIGN_OR_RETURN(Json j, ParseJson(text, path.string()));
  Dashboard d;
  d.title = StringOr(j, "title");
  if (const Json* panels = FindField(j, "panels"); panels != nullptr) {
    CollectQueries(*panels, &d.queries);
  }
  const Json* templating = FindField(j, "templating");
  const Json* list = templating != nullptr ? FindField(*templating, "list") : nullptr;
  if (list != nullptr && list->is_array()) {
    for (const Json& v : *list) {
      Variable var;
      var.name = StringOr(v, "name");
      var.type = StringOr(v, "type");
      if (const Json* q = FindField(v, "query"); q != nullptr) {
        var.query = q->is_string() ? q->get<std::string>() : StringOr(*q, "query");
      }
      if (const Json* cur = FindField(v, "current"); cur != nullptr && cur->is_object()) {
        const Json* value = FindField(*cur, "value");
        if (value != nullptr && value->is_string()) var.current = value->get<std::string>();
      }
      if (const Json* ia = FindField(v, "includeAll"); ia != nullptr && ia->is_boolean()) {
        var.include_all = ia->get<bool>();
      }
      var.all_value = StringOr(v, "allValue");
      var.regex = StringOr(v, "regex");
      d.variables.push_back(std::move(var));
    }
  }
  return d;
}

// Grafana's variable syntaxes: $name, ${name}, ${name:format}, [[name]]. An unknown name is an
// error, so a dashboard that uses a variable this test does not fill fails loudly.
Result<std::string> Interpolate(std::string_view text,
                                const std::map<std::string, std::string>& vars) {
  auto is_ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::string name;
    std::size_t next = i;
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      const auto close = text.find('}', i);
      if (close == std::string_view::npos) return Status::InvalidArgument("unclosed ${");
      name = std::string(text.substr(i + 2, close - i - 2));
      name = name.substr(0, name.find(':'));
      next = close + 1;
    } else if (text[i] == '$' && i + 1 < text.size() && is_ident(text[i + 1])) {
      std::size_t j = i + 1;
      while (j < text.size() && is_ident(text[j])) ++j;
      name = std::string(text.substr(i + 1, j - i - 1));
      next = j;
    } else if (text.substr(i, 2) == "[[") {
      const auto close = text.find("]]", i);
      if (close == std::string_view::npos) return Status::InvalidArgument("unclosed [[");
      name = std::string(text.substr(i + 2, close - i - 2));
      name = name.substr(0, name.find(':'));
      next = close + 2;
    } else {
      out += text[i++];
      continue;
    }
    auto it = vars.find(name);
    if (it == vars.end()) {
      return Status::NotFound(fmt::format("template variable '{}' has no value", name));
    }
    out += it->second;
    i = next;
  }
  return out;
}

// Grafana's global variables for a dashboard showing the last 15 minutes of a Prometheus that
// scrapes every second ($__rate_interval = max($__interval + scrape, 4 × scrape)).
std::map<std::string, std::string> BuiltinVariables(const std::string& title) {
  const long long now_ms = std::llround(UnixNow() * 1000.0);
  return {{"__interval", "1s"},
          {"__interval_ms", "1000"},
          {"__rate_interval", "4s"},
          {"__range", "900s"},
          {"__range_s", "900"},
          {"__range_ms", "900000"},
          {"__from", std::to_string(now_ms - 900000)},
          {"__to", std::to_string(now_ms)},
          {"__dashboard", title}};
}

// Splits label_values(selector, label) / label_values(label).
struct LabelValuesQuery {
  std::string selector;  // may be empty
  std::string label;
};
Result<LabelValuesQuery> ParseLabelValues(std::string q) {
  auto trim = [](std::string s) {
    const auto b = s.find_first_not_of(" \t\n");
    const auto e = s.find_last_not_of(" \t\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  q = trim(q);
  const std::string head = "label_values(";
  if (q.rfind(head, 0) != 0 || q.back() != ')') {
    return Status::InvalidArgument("unsupported template variable query (only label_values): " + q);
  }
  const std::string inner = q.substr(head.size(), q.size() - head.size() - 1);
  int depth = 0;
  bool quoted = false;
  std::size_t split = std::string::npos;
  for (std::size_t i = 0; i < inner.size(); ++i) {
    const char c = inner[i];
    if (c == '"' && (i == 0 || inner[i - 1] != '\\')) quoted = !quoted;
    if (quoted) continue;
    if (c == '{' || c == '(' || c == '[') ++depth;
    if (c == '}' || c == ')' || c == ']') --depth;
    if (c == ',' && depth == 0) split = i;
  }
  if (split == std::string::npos) return LabelValuesQuery{"", trim(inner)};
  return LabelValuesQuery{trim(inner.substr(0, split)), trim(inner.substr(split + 1))};
}

// Metric names an expression reads: identifiers followed by a selector or range ('{', '['),
// and any kepler_/wattson_ name.
std::set<std::string> MetricNames(const std::string& expr) {
  std::set<std::string> names;
  static const std::regex re(R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{|\[)?)re");
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), re); it != std::sregex_iterator();
       ++it) {
    const std::string name = (*it)[1];
    if ((*it)[2].matched || name.rfind("kepler_", 0) == 0 || name.rfind("wattson_", 0) == 0) {
      if (name != "by" && name != "without" && name != "on" && name != "ignoring") {
        names.insert(name);
      }
    }
  }
  return names;
}

// Seconds of the largest subquery resolution in expr ("[24h:1m]" → 60), or 0.
double LargestSubqueryStep(const std::string& expr) {
  static const std::regex re(R"re(\[\s*[0-9a-z]+\s*:\s*([0-9]+)([smhd])\s*\])re");
  double step = 0.0;
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), re); it != std::sregex_iterator();
       ++it) {
    const double n = std::strtod((*it)[1].str().c_str(), nullptr);
    const char u = (*it)[2].str()[0];
    const double s = n * (u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : 86400);
    step = std::max(step, s);
  }
  return step;
}

fs::path DashboardPath() {
  return TestdataDir() / "kepler-v0.7.11" / "grafana-dashboards" / "Kepler-Exporter.json";
}

// Extraction and interpolation, without a server: guards the parser against silently finding
// nothing.
TEST(KeplerDashboardTest, ExtractsEveryExpressionAndVariable) {
  auto d = LoadDashboard(DashboardPath());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->queries.size(), 16u);
  std::map<std::string, std::string> vars = BuiltinVariables(d->title);
  int query_vars = 0;
  for (const Variable& v : d->variables) {
    vars[v.name] = "x";
    query_vars += v.type == "query" ? 1 : 0;
  }
  EXPECT_EQ(query_vars, 2);
  for (const PanelQuery& q : d->queries) {
    auto s = Interpolate(q.expr, vars);
    ASSERT_TRUE(s.ok()) << q.where << ": " << s.status().ToString();
    EXPECT_EQ(s->find('$'), std::string::npos) << *s;
    EXPECT_FALSE(MetricNames(q.expr).empty()) << q.expr;
  }
  auto lv = ParseLabelValues(
      "label_values(kepler_container_package_joules_total{container_namespace=~\"$namespace\"}, "
      "pod_name)");
  ASSERT_TRUE(lv.ok()) << lv.status().ToString();
  EXPECT_EQ(lv->label, "pod_name");
  EXPECT_EQ(lv->selector,
            "kepler_container_package_joules_total{container_namespace=~\"$namespace\"}");
  EXPECT_EQ(LargestSubqueryStep("increase((x{a=\"b\"}[24h:1m]))"), 60.0);
  EXPECT_EQ(LargestSubqueryStep("irate(x[1m])"), 0.0);
  auto missing = Interpolate("rate(x[$nope])", vars);
  EXPECT_FALSE(missing.ok());
}

// What one run of the dashboard selected and how each expression fared.
struct Outcome {
  std::string scenario;
  std::string where;
  std::string expr;  // interpolated
  std::size_t series = 0;
  std::string problem;  // empty: passed
};

class KeplerDashboardLiveTest : public AgentIntegrationTest {
 protected:
  // Values of every variable in dashboard order; `all` picks "All" where the variable allows it,
  // else the first value (preferring the test scenario's pods and namespaces).
  Result<std::map<std::string, std::string>> FillVariables(const Dashboard& d,
                                                           const PrometheusServer& prom, bool all,
                                                           std::vector<Outcome>* outcomes) {
    std::map<std::string, std::string> vars = BuiltinVariables(d.title);
    std::set<std::string> preferred;
    for (const auto& [ns, pod] : ExpectedPods()) {
      preferred.insert(ns);
      preferred.insert(pod);
    }
    for (const Variable& v : d.variables) {
      if (v.type == "query") {
        WATTSON_ASSIGN_OR_RETURN(const std::string q, Interpolate(v.query, vars));
        WATTSON_ASSIGN_OR_RETURN(const LabelValuesQuery lv, ParseLabelValues(q));
        httplib::Params params;
        if (!lv.selector.empty()) params.emplace("match[]", lv.selector);
        WATTSON_ASSIGN_OR_RETURN(Json values, prom.Api("label/" + lv.label + "/values", params));
        std::vector<std::string> options;
        for (const Json& x : values) {
          if (x.is_string() && !x.get<std::string>().empty()) options.push_back(x);
        }
        Outcome o{all ? "All" : "one value", "variable $" + v.name, q, options.size(), ""};
        if (!v.regex.empty()) {
          o.problem = "variable regex '" + v.regex + "' is not supported by this test";
        } else if (options.empty()) {
          o.problem =
              Diagnose(prom, MetricNames(lv.selector.empty() ? q : lv.selector), std::nullopt);
        }
        outcomes->push_back(o);
        if (options.empty()) {
          return Status::NotFound(
              fmt::format("variable ${}: {} returned no values ({})", v.name, q, o.problem));
        }
        std::string chosen = options.front();
        for (const std::string& opt : options) {
          if (preferred.count(opt) > 0) {
            chosen = opt;
            break;
          }
        }
        if (all && v.include_all) {
          if (!v.all_value.empty()) {
            chosen = v.all_value;
          } else {
            chosen = "(";
            for (std::size_t i = 0; i < options.size(); ++i) {
              chosen += (i ? "|" : "") + options[i];
            }
            chosen += ")";
          }
        }
        vars[v.name] = chosen;
      } else if (v.type == "custom") {
        const std::string q = v.current.empty() ? v.query : v.current;
        vars[v.name] = q.substr(0, q.find(','));
      } else if (v.type == "adhoc") {
        continue;  // ad-hoc filters add label matchers; an empty set changes nothing
      } else {
        // constant, textbox, interval, datasource: the stored value.
        vars[v.name] = v.type == "constant" || v.current.empty() ? v.query : v.current;
      }
    }
    return vars;
  }

  // Why an expression returned nothing: which of its series the agent does not export, or that
  // they exist but the selection is empty.
  static std::string Diagnose(const PrometheusServer& prom, const std::set<std::string>& names,
                              std::optional<double> at) {
    std::vector<std::string> missing, present;
    for (const std::string& n : names) {
      auto r = prom.Query("count({__name__=\"" + n + "\"})");
      (r.ok() && !r->empty() ? present : missing).push_back(n);
    }
    if (!missing.empty()) {
      std::string list;
      for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
      return "missing series: " + list + " (not exported by `wattson agent`)";
    }
    std::string list;
    for (const std::string& p : present) list += (list.empty() ? "" : ", ") + p;
    return fmt::format(
        "its series exist ({}) but the expression selects no data{} — check labels/values", list,
        at.has_value() ? fmt::format(" at t={:.0f}", *at) : "");
  }

  void RunDashboard(const Dashboard& d, const PrometheusServer& prom, bool all,
                    std::vector<Outcome>* outcomes) {
    auto vars = FillVariables(d, prom, all, outcomes);
    if (!vars.ok()) {
      ADD_FAILURE() << "filling the dashboard's template variables: " << vars.status().ToString();
      return;
    }
    for (const PanelQuery& q : d.queries) {
      Outcome o{all ? "All" : "one value", q.where, q.expr, 0, ""};
      auto expr = Interpolate(q.expr, *vars);
      if (!expr.ok()) {
        o.problem = expr.status().ToString();
        outcomes->push_back(o);
        continue;
      }
      o.expr = *expr;
      // A subquery with resolution S ("[24h:1m]") needs its inner expression at two instants
      // aligned to S after the first scrape, which a test shorter than 2 × S cannot provide.
      // Such expressions are evaluated 2 × S + 1 s ahead: the subquery then takes one aligned
      // point inside or after the scraped data and one after it, both answered within
      // Prometheus' 5-minute lookback by the latest samples (as Grafana would show a minute or
      // two later).
      const double step = LargestSubqueryStep(*expr);
      std::optional<double> at;
      if (step > 0.0) {
        if (2 * step + 1 > 290.0) {
          o.problem = fmt::format("subquery step {} s too coarse for this test", step);
          outcomes->push_back(o);
          continue;
        }
        at = UnixNow() + 2 * step + 1;
      }
      auto r = prom.Query(*expr, at);
      if (!r.ok()) {
        o.problem = r.status().ToString();
      } else if (r->empty()) {
        o.problem = "returned no data: " + Diagnose(prom, MetricNames(*expr), at);
      } else {
        o.series = r->size();
        for (const Json& s : *r) {
          const double v = std::strtod(s["value"][1].get<std::string>().c_str(), nullptr);
          if (!std::isfinite(v) || v < 0.0) {
            o.problem = "value not finite and non-negative: " + s.dump();
            break;
          }
        }
      }
      outcomes->push_back(o);
    }
  }
};

TEST_F(KeplerDashboardLiveTest, EveryExpressionReturnsDataFromPrometheusScrapingWattson) {
  const SteadyTime t0 = std::chrono::steady_clock::now();
  auto d = LoadDashboard(DashboardPath());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_FALSE(d->queries.empty());
  WATTSON_REQUIRE_TOOL(prometheus, "prometheus");
  ASSERT_NO_FATAL_FAILURE(StartAgent());

  PrometheusServer prom;
  fs::create_directories(tmp_.path() / "prometheus");
  const Status started = prom.Start(*prometheus, tmp_.path() / "prometheus", agent_.port());
  ASSERT_TRUE(started.ok()) << started.ToString();
  // irate(...[1m]) needs two samples; a few more make the energy counters move between them.
  const Status scraped = prom.WaitForScrapes(4, 30.0);
  ASSERT_TRUE(scraped.ok()) << scraped.ToString();

  std::vector<Outcome> outcomes;
  RunDashboard(*d, prom, /*all=*/true, &outcomes);
  RunDashboard(*d, prom, /*all=*/false, &outcomes);

  int failed = 0;
  for (const Outcome& o : outcomes) {
    std::cout << fmt::format("[dashboard] {:<4} [{}] {}: {}\n", o.problem.empty() ? "ok" : "FAIL",
                             o.scenario, o.where,
                             o.problem.empty() ? fmt::format("{} series", o.series) : o.problem);
    if (!o.problem.empty()) {
      ++failed;
      ADD_FAILURE() << "Kepler dashboard expression fails on wattson (" << o.scenario << ", "
                    << o.where << "):\n  " << o.expr << "\n  " << o.problem;
    }
  }
  std::cout << fmt::format("[dashboard] {} of {} checks passed in {:.1f} s\n",
                           outcomes.size() - static_cast<std::size_t>(failed), outcomes.size(),
                           SecondsSince(t0));
  CheckStillRunning();
  EXPECT_LT(SecondsSince(t0), 60.0);
}

}  // namespace
}  // namespace wattson::integration
