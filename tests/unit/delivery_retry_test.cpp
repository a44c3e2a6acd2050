// The one retry policy of every bus (actors/delivery_retry.hpp): the waits double from
// backoff-initial up to backoff-max, the max-attempts-th failure is a dead letter, and each
// failure is counted once, as a retry or as a dead letter.
#include "actors/delivery_retry.hpp"

#include "actors/metrics.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

using namespace std::chrono_literals;

namespace {

config::delivery_settings settings(int max_attempts) {
  config::delivery_settings s;
  s.backoff_initial = 100ms;
  s.backoff_max = 1000ms;
  s.max_attempts = max_attempts;
  return s;
}

// The value of one series in the registry's text, 0 when absent.
double sample(metrics::registry& reg, const std::string& series) {
  auto text = reg.render();
  auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? 0.0 : std::stod(text.substr(at + series.size() + 2));
}

} // namespace

BOOST_AUTO_TEST_CASE(waits_double_from_the_initial_backoff_up_to_the_maximum) {
  delivery_retry retry{settings(10), nullptr};
  BOOST_TEST(retry.backoff(1).count() == 100);
  BOOST_TEST(retry.backoff(2).count() == 200);
  BOOST_TEST(retry.backoff(3).count() == 400);
  BOOST_TEST(retry.backoff(4).count() == 800);
  BOOST_TEST(retry.backoff(5).count() == 1000);
  BOOST_TEST(retry.backoff(64).count() == 1000); // no overflow however many failures
}

BOOST_AUTO_TEST_CASE(the_last_allowed_failure_makes_a_dead_letter) {
  delivery_retry retry{settings(3), nullptr};
  auto first = retry.failed(0, "orders", "inventory.order-events");
  BOOST_TEST(first.attempts == 1);
  BOOST_TEST(!first.dead);
  BOOST_TEST(first.wait.count() == 100);
  auto second = retry.failed(first.attempts, "orders", "inventory.order-events");
  BOOST_TEST(second.attempts == 2);
  BOOST_TEST(!second.dead);
  BOOST_TEST(second.wait.count() == 200);
  auto third = retry.failed(second.attempts, "orders", "inventory.order-events");
  BOOST_TEST(third.attempts == 3);
  BOOST_TEST(third.dead);
}

BOOST_AUTO_TEST_CASE(each_failure_is_counted_once_as_a_retry_or_a_dead_letter) {
  metrics::registry reg;
  app_metrics exported{reg};
  delivery_retry retry{settings(2), &exported};
  const std::string labels = R"({module="orders",consumer="notifications.order-events"})";
  retry.failed(0, "orders", "notifications.order-events");
  BOOST_TEST(sample(reg, "deliveries_retried_total" + labels) == 1.0);
  BOOST_TEST(sample(reg, "events_dead_lettered_total" + labels) == 0.0);
  retry.failed(1, "orders", "notifications.order-events");
  BOOST_TEST(sample(reg, "deliveries_retried_total" + labels) == 1.0);
  BOOST_TEST(sample(reg, "events_dead_lettered_total" + labels) == 1.0);
}
