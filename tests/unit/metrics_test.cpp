// Prometheus metrics: exact exposition text (format 0.0.4), escaping, ordering, callback
// gauges, exact sums under concurrent recording, and the registration rules.
#include "actors/metrics.hpp"

#include "actors/app_metrics.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <fstream>
#include <limits>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// The value printed for an unlabelled gauge set to `v`.
std::string rendered(double v) {
  metrics::registry reg;
  reg.gauge("g", "h").labels().set(v);
  auto text = reg.render();
  auto start = text.find("\ng ") + 3;
  return text.substr(start, text.size() - start - 1);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_counter_renders_help_type_and_one_line_per_label_set) {
  metrics::registry reg;
  auto& c =
      reg.counter("http_requests_total", "HTTP requests by route and status", {"route", "status"});
  c.labels({"/customers/{id}", "200"}).inc();
  c.labels({"/customers/{id}", "200"}).inc(2);
  c.labels({"/customers/{id}", "404"}).inc();
  BOOST_TEST(reg.render() == "# HELP http_requests_total HTTP requests by route and status\n"
                             "# TYPE http_requests_total counter\n"
                             "http_requests_total{route=\"/customers/{id}\",status=\"200\"} 3\n"
                             "http_requests_total{route=\"/customers/{id}\",status=\"404\"} 1\n");
}

BOOST_AUTO_TEST_CASE(a_gauge_is_set_increased_and_decreased) {
  metrics::registry reg;
  auto& g = reg.gauge("outbox_pending", "Outbox rows not yet relayed", {"module"});
  g.labels({"orders"}).set(3);
  g.labels({"orders"}).inc();
  g.labels({"orders"}).dec(0.5);
  g.labels({"customers"}).set(-7);
  BOOST_TEST(reg.render() == "# HELP outbox_pending Outbox rows not yet relayed\n"
                             "# TYPE outbox_pending gauge\n"
                             "outbox_pending{module=\"customers\"} -7\n"
                             "outbox_pending{module=\"orders\"} 3.5\n");
}

BOOST_AUTO_TEST_CASE(histogram_buckets_are_cumulative_and_inf_equals_count) {
  metrics::registry reg;
  auto& h = reg.histogram("http_request_duration_seconds", "Request latency", {"route"},
                          {0.001, 0.25, 0.5, 1, 5});
  for (double v : {0.25, 0.5, 0.75, 2.0, 10.0}) // 0.25 and 0.5 land on a bound: le is <=
    h.labels({"/orders"}).observe(v);
  BOOST_TEST(reg.render() ==
             "# HELP http_request_duration_seconds Request latency\n"
             "# TYPE http_request_duration_seconds histogram\n"
             "http_request_duration_seconds_bucket{route=\"/orders\",le=\"0.001\"} 0\n"
             "http_request_duration_seconds_bucket{route=\"/orders\",le=\"0.25\"} 1\n"
             "http_request_duration_seconds_bucket{route=\"/orders\",le=\"0.5\"} 2\n"
             "http_request_duration_seconds_bucket{route=\"/orders\",le=\"1\"} 3\n"
             "http_request_duration_seconds_bucket{route=\"/orders\",le=\"5\"} 4\n"
             "http_request_duration_seconds_bucket{route=\"/orders\",le=\"+Inf\"} 5\n"
             "http_request_duration_seconds_sum{route=\"/orders\"} 13.5\n"
             "http_request_duration_seconds_count{route=\"/orders\"} 5\n");
}

BOOST_AUTO_TEST_CASE(an_unlabelled_histogram_puts_le_alone_in_braces_and_may_end_in_inf) {
  metrics::registry reg;
  reg.histogram("job_seconds", "Job time", {}, {1, std::numeric_limits<double>::infinity()})
      .labels()
      .observe(0.5);
  BOOST_TEST(reg.render() == "# HELP job_seconds Job time\n"
                             "# TYPE job_seconds histogram\n"
                             "job_seconds_bucket{le=\"1\"} 1\n"
                             "job_seconds_bucket{le=\"+Inf\"} 1\n"
                             "job_seconds_sum 0.5\n"
                             "job_seconds_count 1\n");
}

BOOST_AUTO_TEST_CASE(label_values_escape_backslash_quote_and_newline_and_help_escapes_too) {
  metrics::registry reg;
  reg.counter("odd_total", "a \\ b\nc \"quoted\"", {"v"}).labels({"a\\b\"c\nd"}).inc();
  BOOST_TEST(reg.render() == "# HELP odd_total a \\\\ b\\nc \"quoted\"\n"
                             "# TYPE odd_total counter\n"
                             "odd_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

BOOST_AUTO_TEST_CASE(families_are_sorted_by_name_and_children_by_label_values) {
  metrics::registry reg;
  reg.gauge("zeta", "z", {"k"}).labels({"b"}).set(1);
  reg.counter("alpha_total", "a", {"k", "n"}).labels({"y", "2"}).inc();
  reg.gauge("zeta", "z", {"k"}).labels({"a"}).set(2);
  reg.counter("alpha_total", "a", {"k", "n"}).labels({"x", "9"}).inc();
  reg.counter("alpha_total", "a", {"k", "n"}).labels({"x", "10"}).inc();
  reg.gauge("mid", "m");
  auto expected = "# HELP alpha_total a\n"
                  "# TYPE alpha_total counter\n"
                  "alpha_total{k=\"x\",n=\"10\"} 1\n"
                  "alpha_total{k=\"x\",n=\"9\"} 1\n"
                  "alpha_total{k=\"y\",n=\"2\"} 1\n"
                  "# HELP mid m\n"
                  "# TYPE mid gauge\n"
                  "mid 0\n"
                  "# HELP zeta z\n"
                  "# TYPE zeta gauge\n"
                  "zeta{k=\"a\"} 2\n"
                  "zeta{k=\"b\"} 1\n";
  BOOST_TEST(reg.render() == expected);
  BOOST_TEST(reg.render() == expected);
}

BOOST_AUTO_TEST_CASE(integers_print_without_exponent_and_other_values_round_trip) {
  BOOST_TEST(rendered(42) == "42");
  BOOST_TEST(rendered(1e16) == "10000000000000000");
  BOOST_TEST(rendered(-3) == "-3");
  BOOST_TEST(rendered(-0.0) == "0");
  BOOST_TEST(rendered(0.1 + 0.2) == "0.30000000000000004");
  BOOST_TEST(rendered(0.0042) == "0.0042");
  BOOST_TEST(rendered(1e-7) == "1e-07");
  BOOST_TEST(rendered(1e300) == "1e+300");
  BOOST_TEST(rendered(std::numeric_limits<double>::infinity()) == "+Inf");
  BOOST_TEST(rendered(-std::numeric_limits<double>::infinity()) == "-Inf");
  BOOST_TEST(rendered(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

BOOST_AUTO_TEST_CASE(unlabelled_counters_render_zero_before_first_use) {
  metrics::registry reg;
  reg.counter("restarts_total", "Actor restarts");
  BOOST_TEST(reg.render() == "# HELP restarts_total Actor restarts\n"
                             "# TYPE restarts_total counter\n"
                             "restarts_total 0\n");
}

BOOST_AUTO_TEST_CASE(callback_gauges_are_evaluated_on_each_render_and_sorted) {
  metrics::registry reg;
  std::atomic<int> calls{0};
  reg.gauge_callback("outbox_oldest_pending_age_seconds", "Age of the oldest unrelayed row",
                     {"module"}, [&] {
                       int n = ++calls;
                       return metrics::gauge_samples{{{"orders"}, n * 1.5}, {{"customers"}, 0}};
                     });
  BOOST_TEST(calls == 0);
  auto head = std::string{"# HELP outbox_oldest_pending_age_seconds Age of the oldest "
                          "unrelayed row\n# TYPE outbox_oldest_pending_age_seconds gauge\n"};
  BOOST_TEST(reg.render() == head + "outbox_oldest_pending_age_seconds{module=\"customers\"} 0\n"
                                    "outbox_oldest_pending_age_seconds{module=\"orders\"} 1.5\n");
  BOOST_TEST(reg.render() == head + "outbox_oldest_pending_age_seconds{module=\"customers\"} 0\n"
                                    "outbox_oldest_pending_age_seconds{module=\"orders\"} 3\n");
  BOOST_TEST(calls == 2);
}

BOOST_AUTO_TEST_CASE(a_failing_or_malformed_callback_fails_the_render) {
  metrics::registry a;
  a.gauge_callback("broken", "h", {}, []() -> metrics::gauge_samples {
    throw std::runtime_error("database unavailable");
  });
  BOOST_CHECK_THROW(a.render(), std::runtime_error);
  metrics::registry b;
  b.gauge_callback("wrong_arity", "h", {"module"}, [] {
    return metrics::gauge_samples{{{"orders", "extra"}, 1}};
  });
  BOOST_CHECK_THROW(b.render(), std::logic_error);
}

BOOST_AUTO_TEST_CASE(a_callback_may_register_metrics_without_deadlocking) {
  metrics::registry reg;
  reg.gauge_callback("lazy", "h", {}, [&reg] {
    reg.counter("registered_on_scrape_total", "h").labels().inc();
    return metrics::gauge_samples{{{}, 1}};
  });
  reg.render();
  BOOST_TEST(reg.render().find("registered_on_scrape_total 2\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(concurrent_increments_from_8_threads_of_100000_sum_exactly) {
  metrics::registry reg;
  auto& c = reg.counter("hits_total", "h", {"route"});
  auto& cached = c.labels({"/cached"});
  auto& h = reg.histogram("latency_seconds", "h", {"route"}, {0.5, 1});
  auto& g = reg.gauge("in_flight", "h");
  constexpr int threads = 8, per_thread = 100000;
  std::atomic<bool> done{false};
  std::thread scraper{[&] { // rendering while recording must neither block nor crash
    while (!done)
      reg.render();
  }};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        cached.inc();
        c.labels({"/looked-up"}).inc(); // first use races to create the child
        h.labels({"/x"}).observe(t % 2 ? 0.25 : 2);
        g.labels().inc();
        g.labels().dec();
      }
    });
  for (auto& w : workers)
    w.join();
  done = true;
  scraper.join();
  BOOST_TEST(cached.value() == threads * per_thread);
  BOOST_TEST(c.labels({"/looked-up"}).value() == threads * per_thread);
  BOOST_TEST(g.labels().value() == 0);
  auto s = h.labels({"/x"}).read();
  BOOST_TEST(s.cumulative.front() == threads / 2 * per_thread);
  BOOST_TEST(s.cumulative.back() == threads * per_thread);
  BOOST_TEST(s.sum == threads / 2 * per_thread * (0.25 + 2));
  auto text = reg.render();
  BOOST_TEST(text.find("hits_total{route=\"/cached\"} 800000\n") != std::string::npos);
  BOOST_TEST(text.find("latency_seconds_count{route=\"/x\"} 800000\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cached_children_stay_valid_as_more_children_are_added) {
  metrics::registry reg;
  auto& c = reg.counter("c_total", "h", {"id"});
  auto& first = c.labels({"first"});
  for (int i = 0; i < 1000; ++i)
    c.labels({std::to_string(i)}).inc();
  first.inc(5);
  BOOST_TEST(&first == &c.labels({"first"}));
  BOOST_TEST(c.labels({"first"}).value() == 5);
}

BOOST_AUTO_TEST_CASE(registering_the_same_name_and_shape_again_returns_the_same_family) {
  metrics::registry reg;
  auto& c = reg.counter("c_total", "first help", {"a"});
  BOOST_TEST(&reg.counter("c_total", "other help", {"a"}) == &c);
  auto& h = reg.histogram("h_seconds", "h", {}, {1, 2});
  BOOST_TEST(&reg.histogram("h_seconds", "h", {}, {1, 2}) == &h);
  BOOST_TEST(reg.render().find("# HELP c_total first help\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(registering_a_name_with_another_type_labels_or_buckets_throws) {
  metrics::registry reg;
  reg.counter("c_total", "h", {"a"});
  reg.histogram("h_seconds", "h", {}, {1, 2});
  reg.gauge_callback("cb", "h", {}, [] { return metrics::gauge_samples{}; });
  BOOST_CHECK_THROW(reg.counter("c_total", "h", {"b"}), std::logic_error);
  BOOST_CHECK_THROW(reg.counter("c_total", "h", {"a", "b"}), std::logic_error);
  BOOST_CHECK_THROW(reg.gauge("c_total", "h", {"a"}), std::logic_error);
  BOOST_CHECK_THROW(reg.histogram("h_seconds", "h", {}, {1, 3}), std::logic_error);
  BOOST_CHECK_THROW(reg.gauge("cb", "h"), std::logic_error);
  BOOST_CHECK_THROW(reg.gauge_callback("cb", "h", {}, [] { return metrics::gauge_samples{}; }),
                    std::logic_error);
}

BOOST_AUTO_TEST_CASE(malformed_names_buckets_arity_and_decrements_are_refused) {
  metrics::registry reg;
  BOOST_CHECK_THROW(reg.counter("1st_total", "h"), std::invalid_argument);
  BOOST_CHECK_THROW(reg.counter("has-dash", "h"), std::invalid_argument);
  BOOST_CHECK_THROW(reg.counter("ok_total", "h", {"__reserved"}), std::invalid_argument);
  BOOST_CHECK_THROW(reg.counter("ok_total", "h", {"a", "a"}), std::invalid_argument);
  BOOST_CHECK_THROW(reg.histogram("h_seconds", "h", {"le"}, {1}), std::invalid_argument);
  BOOST_CHECK_THROW(reg.histogram("h_seconds", "h", {}, {2, 1}), std::invalid_argument);
  BOOST_CHECK_THROW(reg.histogram("h_seconds", "h", {}, {1, 1}), std::invalid_argument);
  auto& c = reg.counter("ok_total", "h", {"a"});
  BOOST_CHECK_THROW(c.labels({}), std::invalid_argument);
  BOOST_CHECK_THROW(c.labels({"x", "y"}), std::invalid_argument);
  BOOST_CHECK_THROW(c.labels({"x"}).inc(-1), std::invalid_argument);
  BOOST_TEST(c.labels({"x"}).value() == 0);
  BOOST_TEST(reg.counter("colons:are_ok_total", "h").labels().value() == 0);
}

// docs/alerts.yml is the operators' example rules (promtool tests their logic:
// alert_rules_test); here, that every series they select is one a node exports, so a
// renamed metric cannot leave an alert that never fires.
BOOST_AUTO_TEST_CASE(the_example_alert_rules_select_only_metrics_the_node_exports) {
  metrics::registry reg;
  app_metrics exported{reg};
  auto text = reg.render();
  std::ifstream file{std::string{MONOLITH_SOURCE_DIR} + "/docs/alerts.yml"};
  BOOST_REQUIRE(file);
  std::stringstream rules;
  rules << file.rdbuf();
  auto source = rules.str();
  std::set<std::string> selected;
  std::regex selector{R"(([a-z_]+)\{job="monolith")"};
  for (std::sregex_iterator it{source.begin(), source.end(), selector}, end; it != end; ++it)
    selected.insert((*it)[1].str());
  BOOST_TEST(selected.size() >= 10u);
  auto exported_as = [&text](const std::string& name, const std::string& type) {
    return text.find("# TYPE " + name + " " + type) != std::string::npos;
  };
  for (auto name : selected) {
    if (name == "up")
      continue; // Prometheus's own, per scrape target
    for (std::string suffix : {"_bucket", "_sum", "_count"}) {
      auto base = name.size() > suffix.size() ? name.substr(0, name.size() - suffix.size()) : "";
      if (name == base + suffix && exported_as(base, "histogram"))
        name = base;
    }
    BOOST_TEST(exported_as(name, ""), name << " is not exported by the node");
  }
}
