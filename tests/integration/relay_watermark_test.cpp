// The relay's scan of unpublished events starts at a watermark (relay_store.cpp,
// advance_watermark). These tests drive the relay's SQL directly, round by round, with no
// other transaction on the database, to pin down what a node under load only hits by
// chance: a position held by a transaction that is, for a while, the newest of all must
// never fall below the watermark before that transaction ends.
#include "test_database.hpp"

#include "persistence/migration.hpp"
#include "persistence/pg.hpp"
#include "persistence/relay_store.hpp"

#include <boost/test/unit_test.hpp>

using namespace testing_support;
using persistence::pg_connection;
using persistence::pg_transaction;

namespace {

struct outbox_rounds {
  test_database db{"watermark"};
  persistence::relay_store store{"events", "watermark-test", std::chrono::seconds{30}};
  std::unique_ptr<pg_connection> relay;
  int64_t fencing = 0;

  outbox_rounds() {
    persistence::migrate(db.dsn(), {{"events", db.name() + "_events", {}}});
    relay = std::make_unique<pg_connection>(db.module_dsn("events"));
    fencing = store.acquire_lease(*relay).value();
  }
  std::unique_ptr<pg_connection> writer() {
    return std::make_unique<pg_connection>(db.module_dsn("events"));
  }
  static int64_t append(pg_connection& c) {
    return c
        .exec("INSERT INTO events.outbox (id, event_name, aggregate_id, sequence, correlation_id, "
              "payload) "
              "VALUES (gen_random_uuid(), 'thing.happened', gen_random_uuid(), 1, 'test', '{}') "
              "RETURNING position")
        .integer(0, 0);
  }
  // Relay rounds; events claimed in all (no consumers: each is marked published at once).
  int rounds(int n) {
    int events = 0;
    for (int i = 0; i < n; ++i)
      events += store.publish(*relay, fencing, 500, {}, {}).value().events;
    return events;
  }
  bool published(int64_t position) {
    return relay
        ->exec("SELECT published_at IS NOT NULL FROM events.outbox WHERE position = $1", {position})
        .boolean(0, 0);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(relay_watermark, outbox_rounds)

BOOST_AUTO_TEST_CASE(a_position_held_by_the_newest_transaction_is_never_passed) {
  BOOST_TEST(rounds(3) == 0);
  // The watermark moves in steps over several rounds: start the transaction at each step.
  for (int offset = 0; offset < 4; ++offset) {
    BOOST_TEST_CONTEXT("started " << offset << " rounds later") {
      BOOST_TEST(rounds(offset) == 0);
      auto early_writer = writer();
      pg_transaction early{*early_writer};
      auto early_position = append(*early_writer); // the newest transaction of all, running
      BOOST_TEST(rounds(6) == 0);
      auto late_writer = writer();
      auto late_position = append(*late_writer); // commits at once, after the early position
      BOOST_REQUIRE(late_position > early_position);
      BOOST_TEST(rounds(6) == 1);
      BOOST_TEST(published(late_position));
      early.commit();
      BOOST_TEST(rounds(6) == 1, "the event that committed late was skipped");
      BOOST_TEST(published(early_position));
    }
  }
}

BOOST_AUTO_TEST_CASE(rolled_back_positions_do_not_hold_the_relay_back) {
  {
    auto w = writer();
    pg_transaction abandoned{*w};
    append(*w);
    BOOST_TEST(rounds(3) == 0);
  } // rolled back
  auto w = writer();
  std::vector<int64_t> positions;
  int claimed = 0;
  for (int i = 0; i < 50; ++i) {
    positions.push_back(append(*w));
    if (i % 10 == 0)
      claimed += rounds(1); // the watermark moves on while events keep coming
  }
  claimed += rounds(8);
  BOOST_TEST(claimed == 50);
  for (auto p : positions)
    BOOST_TEST(published(p), "position " << p << " never published");
  auto counts = store.counts(*relay);
  BOOST_TEST(counts.pending == 0);
  BOOST_TEST(counts.published == 50);
}

BOOST_AUTO_TEST_SUITE_END()
