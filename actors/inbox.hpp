// Effectively-once consumption, a batch at a time: the ids of the events a consumer takes
// are recorded in its module's inbox in the same transaction as the consumer's side
// effects, so a redelivered event (after a crash, a retry or a replay) is recognised and
// its effects are never applied twice. Senders are acknowledged only after COMMIT.
//
// Every delivery that queued up while the worker was busy is consumed in one transaction:
// one statement records every event id and filters the repeats (ON CONFLICT DO NOTHING
// RETURNING), then the module's handler applies the new events with set-based statements.
// When the batch fails (an error value, an exception, a database error of its own), it is
// rolled back and its events are applied again one per transaction: only the failing
// event is left out (its sender retries it), and the later events of its aggregate in the
// batch are not tried, so no aggregate's events are ever applied out of sequence.
#pragma once

#include "actors/app_error.hpp"
#include "actors/event_delivery.hpp"
#include "persistence/pg.hpp"

#include <caf/atom.hpp>
#include <caf/typed_response_promise.hpp>

#include <functional>
#include <string>
#include <vector>

// A consumer's side effects for `events` inside the transaction: events new to the
// consumer, in delivery order (so each aggregate's in sequence order), each one of the
// events its declaration names. An error value or an exception rolls the whole batch back.
using batch_handler = std::function<caf::error(persistence::pg_connection&,
                                               const std::vector<const event_envelope*>&)>;

// One of a module's consumers (declared once, in the module's consumers.hpp) and what it
// does with its events. An event the declaration does not name, or a delivery to a
// consumer the module does not declare, fails like an event its handler refuses: it is
// retried and then dead-lettered, never acknowledged unseen.
struct consumer_binding {
  consumer_spec declared;
  batch_handler handle;
};

using flush_inbox_atom = caf::atom_constant<caf::atom("flushinbox")>;

class inbox_batch {
public:
  inbox_batch(std::string schema, std::vector<consumer_binding> consumers);

  // Queues one delivery; true when it starts a new batch (the caller then sends itself
  // flush_inbox_atom, which lands behind every delivery already in its mailbox).
  bool add(caf::typed_response_promise<delivery_ack> promise, delivery d);

  // Consumes every queued delivery and answers each one.
  void flush(persistence::pg_session& session);

private:
  enum class outcome { open, handled, failed, untried };

  // One event of a queued delivery.
  struct item {
    const std::string* consumer;
    const event_envelope* event;
    outcome result = outcome::open;
    std::string error; // for operators, when failed
  };

  struct entry {
    delivery d;
    caf::typed_response_promise<delivery_ack> promise;
  };

  // Every item in one transaction; false when the handler failed (rolled back).
  bool apply_all(persistence::pg_connection& db, std::vector<item>& items);
  // Each item in a transaction of its own, after apply_all failed.
  void apply_one_by_one(persistence::pg_connection& db, std::vector<item>& items);
  // Records `items` in the inbox; returns those new to their consumer (the first of each).
  std::vector<item*> record(persistence::pg_connection& db, std::vector<item*> items);
  // Runs each consumer's handler over its events of `fresh`; an empty text on success,
  // else what went wrong.
  std::string handle(persistence::pg_connection& db, const std::vector<item*>& fresh);
  // What the consumers' declarations say against `fresh`: empty when every event is one
  // its consumer declares, else why not.
  std::string undeclared(const std::vector<item*>& fresh) const;
  // Commits (sending the handler's deferred writes); the same kind of text on failure.
  std::string commit(persistence::pg_transaction& tx);

  std::string schema_;
  std::vector<consumer_binding> consumers_;
  persistence::pg_statement record_;
  std::vector<entry> entries_;
};
