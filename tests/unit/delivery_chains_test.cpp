// The relay's per-(consumer, aggregate) ordering (actors/delivery_chains), step by step:
// what goes out in which message, what waits behind a message out, and what an answer
// settles. Deterministic: no actors, no database, no clock.
#include "actors/delivery_chains.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace {

using persistence::due_delivery;

// A fresh (claimed, row-less) delivery of event `id` of `aggregate` to `consumer`.
due_delivery fresh(const std::string& consumer, const std::string& aggregate, const std::string& id,
                   int64_t position) {
  due_delivery d;
  d.consumer = consumer;
  d.position = position;
  d.event.id = id;
  d.event.event_name = "order.created";
  d.event.aggregate_id = aggregate;
  d.event.sequence = position;
  return d;
}

due_delivery row(const std::string& consumer, const std::string& aggregate, const std::string& id,
                 const std::string& row_id) {
  auto d = fresh(consumer, aggregate, id, 0);
  d.row = row_id;
  return d;
}

std::vector<std::string> ids(const delivery_chains::message& m) {
  std::vector<std::string> out;
  for (auto& e : m.d.events)
    out.push_back(e.id);
  return out;
}

std::vector<std::string> ids(const std::vector<due_delivery>& ds) {
  std::vector<std::string> out;
  for (auto& d : ds)
    out.push_back(d.event.id);
  return out;
}

delivery_ack ack(std::vector<std::string> handled, std::vector<std::string> failed = {},
                 std::vector<std::string> errors = {}) {
  return {"c", std::move(handled), std::move(failed), std::move(errors)};
}

using strings = std::vector<std::string>;

} // namespace

BOOST_AUTO_TEST_SUITE(delivery_chains_steps)

BOOST_AUTO_TEST_CASE(an_aggregates_events_claimed_together_share_one_message_in_order) {
  delivery_chains chains{10};
  auto out =
      chains.route({fresh("c", "A", "a1", 1), fresh("c", "B", "b1", 2), fresh("c", "A", "a2", 3)});
  BOOST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].d.consumer == "c");
  BOOST_TEST(ids(out[0]) == (strings{"a1", "b1", "a2"}));
  BOOST_TEST(chains.in_memory() == 3u);
  BOOST_TEST(chains.has_chain("c", "A"));
  BOOST_TEST(!chains.has_chain("other", "A"));
}

BOOST_AUTO_TEST_CASE(each_consumer_gets_its_own_message) {
  delivery_chains chains{10};
  auto out = chains.route({fresh("c", "A", "a1", 1), fresh("d", "A", "a1", 1)});
  BOOST_REQUIRE(out.size() == 2u);
  BOOST_TEST(out[0].d.consumer == "c");
  BOOST_TEST(out[1].d.consumer == "d");
  BOOST_TEST(out[0].id != out[1].id);
}

BOOST_AUTO_TEST_CASE(a_later_event_waits_behind_the_message_out_and_follows_its_answer) {
  delivery_chains chains{10};
  auto first = chains.route({fresh("c", "A", "a1", 1)});
  auto second = chains.route({fresh("c", "A", "a2", 2), fresh("c", "B", "b1", 3)});
  BOOST_REQUIRE(second.size() == 1u);
  BOOST_TEST(ids(second[0]) == strings{"b1"}); // a2 waits: a1 is out
  BOOST_TEST(chains.in_memory() == 3u);
  auto a = ack({"a1"});
  auto settled = chains.answered(first[0].id, &a, "", false);
  BOOST_TEST(ids(settled.delivered) == strings{"a1"});
  BOOST_TEST(settled.failed.empty());
  BOOST_TEST(settled.held.empty());
  BOOST_REQUIRE(settled.next.size() == 1u);
  BOOST_TEST(ids(settled.next[0]) == strings{"a2"});
  BOOST_TEST(chains.in_memory() == 2u); // a2 out again, b1 still out
}

BOOST_AUTO_TEST_CASE(a_full_message_goes_out_and_its_aggregates_later_events_wait) {
  delivery_chains chains{2};
  auto out =
      chains.route({fresh("c", "A", "a1", 1), fresh("c", "A", "a2", 2), fresh("c", "A", "a3", 3)});
  BOOST_REQUIRE(out.size() == 1u); // never two messages with one aggregate's events out
  BOOST_TEST(ids(out[0]) == (strings{"a1", "a2"}));
  auto a = ack({"a1", "a2"});
  auto settled = chains.answered(out[0].id, &a, "", false);
  BOOST_REQUIRE(settled.next.size() == 1u);
  BOOST_TEST(ids(settled.next[0]) == strings{"a3"});
}

BOOST_AUTO_TEST_CASE(a_failure_holds_back_only_its_own_aggregate) {
  delivery_chains chains{10};
  auto out =
      chains.route({fresh("c", "A", "a1", 1), fresh("c", "A", "a2", 2), fresh("c", "B", "b1", 3)});
  chains.route({fresh("c", "A", "a3", 4), fresh("c", "B", "b2", 5)}); // both wait
  auto a = ack({"b1"}, {"a1"}, {"stock table locked"});
  auto settled = chains.answered(out[0].id, &a, "", false);
  BOOST_TEST(ids(settled.delivered) == strings{"b1"});
  BOOST_REQUIRE(settled.failed.size() == 1u);
  BOOST_TEST(settled.failed[0].first.event.id == "a1");
  BOOST_TEST(settled.failed[0].second == "stock table locked");
  BOOST_TEST(ids(settled.held) == (strings{"a2", "a3"})); // in order, to rows behind a1
  BOOST_REQUIRE(settled.next.size() == 1u);
  BOOST_TEST(ids(settled.next[0]) == strings{"b2"});
  BOOST_TEST(!chains.has_chain("c", "A")); // its rows carry it on, through the due query
}

BOOST_AUTO_TEST_CASE(an_event_the_consumer_did_not_try_counts_as_failed) {
  delivery_chains chains{10};
  auto out = chains.route({fresh("c", "A", "a1", 1)});
  auto a = ack({});
  auto settled = chains.answered(out[0].id, &a, "", false);
  BOOST_REQUIRE(settled.failed.size() == 1u);
  BOOST_TEST(settled.failed[0].second == "not handled by the consumer");
}

BOOST_AUTO_TEST_CASE(a_message_that_failed_whole_fails_the_first_of_each_aggregate) {
  delivery_chains chains{10};
  auto out =
      chains.route({fresh("c", "A", "a1", 1), fresh("c", "A", "a2", 2), fresh("c", "B", "b1", 3)});
  chains.route({fresh("c", "B", "b2", 4)});
  auto settled = chains.answered(out[0].id, nullptr, "request timed out", true);
  BOOST_TEST(settled.delivered.empty());
  BOOST_REQUIRE(settled.failed.size() == 2u);
  BOOST_TEST(settled.failed[0].first.event.id == "a1");
  BOOST_TEST(settled.failed[1].first.event.id == "b1");
  BOOST_TEST(settled.failed[0].second == "request timed out");
  BOOST_TEST(ids(settled.held) == (strings{"a2", "b2"}));
  BOOST_TEST(settled.next.empty());
  BOOST_TEST(chains.in_memory() == 0u);
}

BOOST_AUTO_TEST_CASE(with_the_bus_lost_everything_waiting_goes_to_rows) {
  delivery_chains chains{10};
  auto out = chains.route({fresh("c", "A", "a1", 1)});
  chains.route({fresh("c", "A", "a2", 2)});
  auto a = ack({"a1"});
  auto settled = chains.answered(out[0].id, &a, "", true);
  BOOST_TEST(ids(settled.delivered) == strings{"a1"});
  BOOST_TEST(ids(settled.held) == strings{"a2"});
  BOOST_TEST(settled.next.empty());
}

BOOST_AUTO_TEST_CASE(due_rows_go_straight_out_without_a_chain) {
  delivery_chains chains{10};
  auto out = chains.route({row("c", "A", "a1", "row-1")});
  BOOST_REQUIRE(out.size() == 1u);
  BOOST_TEST(!chains.has_chain("c", "A"));
  BOOST_TEST(chains.rows_in_flight() == strings{"row-1"});
  auto a = ack({"a1"});
  auto settled = chains.answered(out[0].id, &a, "", false);
  BOOST_REQUIRE(settled.delivered.size() == 1u);
  BOOST_TEST(settled.delivered[0].row == "row-1");
  BOOST_TEST(chains.rows_in_flight().empty());
}

BOOST_AUTO_TEST_CASE(an_answer_to_a_forgotten_message_settles_nothing) {
  delivery_chains chains{10};
  auto out = chains.route({fresh("c", "A", "a1", 1)});
  chains.clear(); // the lease was lost
  BOOST_TEST(chains.in_memory() == 0u);
  BOOST_TEST(!chains.has_chain("c", "A"));
  auto a = ack({"a1"});
  auto settled = chains.answered(out[0].id, &a, "", false);
  BOOST_TEST(settled.delivered.empty());
  BOOST_TEST(settled.next.empty());
  // And the aggregate is free again for whoever claims it next.
  BOOST_TEST(chains.route({fresh("c", "A", "a1", 1)}).size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
