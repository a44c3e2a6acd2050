// Group commit for a database worker: commands that queue up while the worker is busy run
// in one transaction, and every caller is answered only after the shared COMMIT. One
// commit (one WAL flush) then serves many requests, which is what lets writes scale past
// one transaction per request.
//
// The contract for a command: it returns an error value (e.g. EMAIL_TAKEN) only before
// it has written anything (use ON CONFLICT DO NOTHING rather than catching a unique
// violation). A command that throws a database error is dropped and the batch runs again
// without it (it is answered INTERNAL); a deadlock runs the batch again as it is.
//
// A command whose caller's deadline has passed (command_deadline) is not run, and when
// one passes before the COMMIT, the batch is rolled back and runs again without it: such
// commands are answered UNAVAILABLE, as their callers already were.
//
// Like lookup_batch, the first command of a batch makes the worker send itself a flush
// message that lands behind every command already in its mailbox.
#pragma once

#include "actors/app_error.hpp"
#include "actors/command_deadline.hpp"
#include "actors/log.hpp"
#include "persistence/pg.hpp"

#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/typed_response_promise.hpp>

#include <functional>
#include <memory>
#include <vector>

using flush_writes_atom = caf::atom_constant<caf::atom("flushwrite")>;

class write_batch {
public:
  // Queues `apply(db) -> caf::expected<Reply>`; true when it starts a new batch (the
  // caller then sends the flush).
  template <class Reply, class Apply>
  bool add(caf::typed_response_promise<Reply> promise, Apply apply,
           command_deadline deadline = {}) {
    auto result = std::make_shared<caf::expected<Reply>>(unavailable_error());
    commands_.push_back(command{[result, apply](persistence::pg_connection& db) {
                                  *result = apply(db);
                                  return static_cast<bool>(*result);
                                },
                                [result, promise]() mutable {
                                  if (*result)
                                    promise.deliver(std::move(**result));
                                  else
                                    promise.deliver(result->error());
                                },
                                [promise](const caf::error& err) mutable { promise.deliver(err); },
                                deadline});
    return commands_.size() == 1;
  }

  // Runs every queued command in one transaction and answers them all.
  void flush(persistence::pg_session& session);

private:
  struct command {
    std::function<bool(persistence::pg_connection&)> run; // false: roll it back
    std::function<void()> answer;                         // after COMMIT
    std::function<void(const caf::error&)> fail;          // when it or the batch failed
    command_deadline deadline;
    bool broke = false;   // threw a database error of its own: left out, answered INTERNAL
    bool expired = false; // its caller has given up: left out, answered UNAVAILABLE
  };

  // One attempt; throws pg_error when the transaction failed, after marking the command
  // that caused it (if it was one command's own error). False when it was rolled back
  // because a command's deadline passed (that command is marked).
  bool run_once(persistence::pg_connection& db);

  // Marks the commands whose deadline has passed; true if there was one not marked yet.
  bool mark_expired();

  std::vector<command> commands_;
};
