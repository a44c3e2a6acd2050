// Effectively-once consumption: the event id is recorded in the consuming module's inbox
// in the same transaction as the consumer's side effects, so a redelivered event (after a
// crash, a retry or a replay) is recognised and its effects are never applied twice. The
// caller is acknowledged only after COMMIT.
//
// Deliveries that queue up while the worker is busy are consumed in one transaction
// (group commit, like write_batch): one commit serves many events. A delivery whose
// handler fails (an error value, an exception, a database error of its own) is left out
// and the batch runs again without it, so one bad event never takes others down with it.
#pragma once

#include "actors/app_error.hpp"
#include "actors/event_delivery.hpp"
#include "persistence/pg.hpp"

#include <caf/atom.hpp>
#include <caf/typed_response_promise.hpp>

#include <functional>
#include <string>
#include <vector>

// A consumer's side effects for one event, inside the transaction; an error value or an
// exception rolls it back and the delivery is retried later.
using event_handler = std::function<caf::error(persistence::pg_connection&, const event_envelope&)>;

using flush_inbox_atom = caf::atom_constant<caf::atom("flushinbox")>;

class inbox_batch {
public:
  inbox_batch(std::string schema, event_handler handle);

  // Queues one delivery; true when it starts a new batch (the caller then sends itself
  // flush_inbox_atom, which lands behind every delivery already in its mailbox).
  bool add(caf::typed_response_promise<delivery_ack> promise, delivery d);

  // Consumes every queued delivery and answers each one.
  void flush(persistence::pg_session& session);

private:
  struct entry {
    delivery d;
    caf::typed_response_promise<delivery_ack> promise;
    caf::error failure; // its own failure: left out of the next attempt
  };

  // One attempt at a transaction over every entry not yet failed; throws pg_error when
  // the transaction failed, after marking the entry that caused it.
  void run_once(persistence::pg_connection& db);

  std::string schema_;
  event_handler handle_;
  persistence::pg_statement record_;
  std::vector<entry> entries_;
};
