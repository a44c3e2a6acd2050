// The relay's progress is a watermark (relay_store.cpp, advance_watermark): every event
// below it is settled and no position below it can still commit. These tests drive the
// relay's SQL directly, round by round, with no other transaction on the database, to pin
// down what a node under load only hits by chance: a position held by a transaction that
// is, for a while, the newest of all must never fall below the watermark before that
// transaction ends, and an event that commits behind the claims is claimed, not skipped.
// Last, how the writers wake the relay: the doorbell after COMMIT, NOTIFY across processes.
#include "eventually.hpp"
#include "test_database.hpp"

#include "persistence/migration.hpp"
#include "persistence/outbox.hpp"
#include "persistence/pg.hpp"
#include "persistence/relay_store.hpp"

#include <boost/test/unit_test.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <memory>
#include <thread>

using namespace testing_support;
using persistence::pg_connection;
using persistence::pg_transaction;

namespace {

// Rounds until something holds: 5 s at most (the proof waits for every older write
// transaction on the server, and tests run side by side), a round every 10 ms.
constexpr std::chrono::milliseconds round_limit{5000}, round_step{10};

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
  static int64_t append_to(pg_connection& c, const std::string& aggregate, int sequence) {
    return c
        .exec("INSERT INTO events.outbox (id, event_name, aggregate_id, sequence, correlation_id, "
              "payload) VALUES (gen_random_uuid(), 'thing.happened', $1::uuid, $2, 'test', '{}') "
              "RETURNING position",
              {aggregate, sequence})
        .integer(0, 0);
  }
  // Positions claimed by rounds until `want` were claimed (5 s at most), in claim order.
  std::vector<int64_t> claimed_positions(std::size_t want) {
    std::vector<int64_t> positions;
    eventually(
        round_limit,
        [&] {
          auto round = store.publish(*relay, fencing, 500, nullptr, {}, {}).value();
          for (auto& c : round.events) {
            positions.push_back(c.position);
            store.settle(c.position);
          }
          return positions.size() >= want;
        },
        round_step);
    return positions;
  }
  // Relay rounds; events claimed in all. Each claimed event is settled at once, as a
  // broker's publisher does once the broker has it.
  int rounds(int n) {
    int events = 0;
    for (int i = 0; i < n; ++i) {
      auto claimed = store.publish(*relay, fencing, 500, nullptr, {}, {}).value().events;
      for (auto& c : claimed)
        store.settle(c.position);
      events += int(claimed.size());
    }
    return events;
  }
  // Rounds until `want` events were claimed in all, for 5 s at most (the proof waits for
  // every older write transaction on the server, and tests run side by side); the count.
  int claim_until(int want) {
    int events = 0;
    eventually(
        round_limit, [&] { return (events += rounds(1)) >= want; }, round_step);
    return events;
  }
  // Rounds until the stored watermark passed `position` (5 s at most).
  bool watermark_passes(int64_t position) {
    return eventually(
        round_limit,
        [&] {
          if (stored_watermark() > position)
            return true;
          BOOST_REQUIRE(rounds(1) == 0);
          return false;
        },
        round_step);
  }
  // The watermark as stored (by each round's fencing check): every position below it done.
  int64_t stored_watermark() {
    return relay->exec("SELECT published_through FROM events.relay_lease").integer(0, 0);
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
      BOOST_TEST(claim_until(1) == 1);
      BOOST_TEST(rounds(6) == 0);
      BOOST_TEST(stored_watermark() <= early_position, "passed a position still in flight");
      early.commit();
      BOOST_TEST(claim_until(1) == 1, "the event that committed late was skipped");
      BOOST_TEST(watermark_passes(late_position));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_long_write_elsewhere_does_not_hold_back_an_event_that_committed_late) {
  BOOST_TEST(rounds(3) == 0);
  // A write transaction that stays open (here on another connection, with an id and no
  // outbox row): no watermark can be proven while it runs.
  auto blocker = writer();
  pg_transaction blocking{*blocker};
  blocker->exec("SELECT pg_current_xact_id()");
  auto early_writer = writer();
  pg_transaction early{*early_writer};
  auto early_position = append(*early_writer);
  auto late_writer = writer();
  append(*late_writer);
  BOOST_TEST(claim_until(1) == 1);
  early.commit();
  BOOST_TEST(claim_until(1) == 1, "the event that committed late waited for the long write");
  BOOST_TEST(stored_watermark() <= early_position);
  blocking.commit();
}

BOOST_AUTO_TEST_CASE(an_event_that_committed_late_goes_out_before_the_next_of_its_aggregate) {
  BOOST_TEST(rounds(3) == 0);
  auto aggregate = relay->exec("SELECT gen_random_uuid()::text").string(0, 0);
  // A write held open elsewhere stalls the watermark's proof, which would otherwise find
  // the late event by itself (under load, some transaction is always running).
  auto blocker = writer();
  pg_transaction blocking{*blocker};
  blocker->exec("SELECT pg_current_xact_id()");
  auto early_writer = writer();
  pg_transaction early{*early_writer};
  auto first = append_to(*early_writer, aggregate, 1); // held open
  auto other_writer = writer();
  append(*other_writer); // commits at once, after `first`: claimed past it
  BOOST_TEST(claim_until(1) == 1);
  // Rounds back to back, so that the last look for late events while the proof stalls is
  // recent: the round right after the commit does not look again.
  for (auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds{60};
       std::chrono::steady_clock::now() < until;)
    BOOST_TEST(rounds(1) == 0);
  early.commit();
  // The aggregate's next event (written once the first committed, as a cancel follows a
  // placed order) must not overtake it, whichever round finds which.
  auto next_writer = writer();
  auto second = append_to(*next_writer, aggregate, 2);
  BOOST_TEST(claimed_positions(2) == (std::vector<int64_t>{first, second}));
  blocking.commit();
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
  claimed += claim_until(50 - claimed);
  BOOST_TEST(claimed == 50);
  BOOST_TEST(watermark_passes(positions.back()));
  auto counts = store.counts(*relay);
  BOOST_TEST(counts.pending == 0);
  BOOST_TEST(counts.published == 50);
}

BOOST_AUTO_TEST_CASE(events_claimed_by_a_round_that_did_not_commit_are_claimed_again) {
  BOOST_TEST(rounds(3) == 0);
  // A round whose COMMIT fails, as when the database restarts under it: a deferred
  // trigger on the lease row (which every round's fencing check updates) refuses it.
  {
    pg_connection admin{db.dsn()};
    admin.exec("CREATE FUNCTION events.refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
               "BEGIN IF current_setting('test.refuse_commit', true) = 'on' THEN RAISE "
               "EXCEPTION 'commit refused by the test'; END IF; RETURN NULL; END $$");
    admin.exec("CREATE CONSTRAINT TRIGGER refuse_commit AFTER UPDATE ON events.relay_lease "
               "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "
               "events.refuse_commit()");
  }
  auto w = writer();
  std::vector<int64_t> positions;
  for (int i = 0; i < 5; ++i)
    positions.push_back(append(*w));
  relay->exec("SET test.refuse_commit = on");
  bool refused = false;
  try {
    store.publish(*relay, fencing, 500, nullptr, {}, {});
  } catch (const persistence::pg_error&) {
    refused = true;
  }
  BOOST_REQUIRE(refused);
  relay->exec("SET test.refuse_commit = off");
  BOOST_TEST(claimed_positions(5) == positions, "events of the failed round were lost");
  BOOST_TEST(watermark_passes(positions.back()));
  BOOST_TEST(store.counts(*relay).pending == 0);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// A doorbell that counts its rings, for a relay here that leads or not.
struct counting_doorbell : persistence::outbox_doorbell {
  bool leads = true;
  int rings = 0;
  void committed() override { ++rings; }
  bool heard_in_process() const override { return leads; }
};

persistence::new_event thing_happened() {
  return {"thing.happened", "5f0c1a52-3c6e-4b8e-9d8a-1f2e3d4c5b6a", "test", std::nullopt, "{}"};
}

// Whether `listener` gets a notification on its channel within `within`.
bool notified(pg_connection& listener, std::chrono::milliseconds within) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{listener.socket(), POLLIN, 0};
    ::poll(&pfd, 1, 50);
    PQconsumeInput(listener.raw());
    if (PGnotify* n = PQnotifies(listener.raw())) {
      PQfreemem(n);
      return true;
    }
  }
  return false;
}

} // namespace

// How a writer wakes the relay (outbox.hpp): the doorbell once per COMMIT that appended
// events, never for a transaction that rolled back; a NOTIFY instead, for a relay in
// another process, when none here leads.
BOOST_AUTO_TEST_CASE(a_writer_rings_after_commit_only_and_notifies_when_no_relay_here_leads) {
  test_database db{"doorbell"};
  persistence::migrate(db.dsn(), {{"events", db.name() + "_events", {}}});
  auto bell = std::make_shared<counting_doorbell>();
  persistence::outbox_writer writer{"events", {bell, {}}};
  pg_connection conn{db.module_dsn("events")};
  pg_connection listener{db.module_dsn("events")};
  listener.exec("LISTEN events_outbox");

  {
    persistence::pg_transaction tx{conn};
    writer.append(conn, {thing_happened()});
    conn.flush_deferred();
  } // rolled back
  BOOST_TEST(bell->rings == 0);
  {
    persistence::pg_transaction tx{conn};
    writer.append(conn, {thing_happened()});
    writer.append(conn, {thing_happened()});
    tx.commit();
  }
  BOOST_TEST(bell->rings == 1, "one ring for one COMMIT however many appends");
  BOOST_TEST(!notified(listener, std::chrono::milliseconds{300}),
             "a NOTIFY went out though the relay here leads");

  bell->leads = false; // a standby here: the leader is elsewhere
  {
    persistence::pg_transaction tx{conn};
    writer.append(conn, {thing_happened()});
    tx.commit();
  }
  BOOST_TEST(bell->rings == 1);
  BOOST_TEST(notified(listener, std::chrono::seconds{2}), "no NOTIFY for the other processes");
}
