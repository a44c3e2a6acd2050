// Group commit with set-based statements, for requests of one kind: those that queue up
// while a database worker is busy are applied together by one function, in one
// transaction, with one statement per table for the whole group (arrays and unnest), and
// every caller is answered after the shared COMMIT. Where write_batch runs each command's
// own statements, this pays a statement's round trip, parse and plan once per group.
//
// The contract for `apply`: it returns one answer per request, in order, and a request it
// answers with an error has written nothing (filter such requests out before the
// inserts). When the group fails on a database error, it is rolled back and its requests
// are applied again one per transaction, so that only the failing one fails (INTERNAL).
//
// Like lookup_batch, the first request of a group makes the worker send itself
// flush_set_atom, which lands behind every request already in its mailbox.
#pragma once

#include "actors/app_error.hpp"
#include "actors/log.hpp"
#include "persistence/pg.hpp"

#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/typed_response_promise.hpp>

#include <functional>
#include <utility>
#include <vector>

using flush_set_atom = caf::atom_constant<caf::atom("flushset")>;

template <class Request, class Reply> class set_batch {
public:
  using apply_fn = std::function<std::vector<caf::expected<Reply>>(persistence::pg_connection&,
                                                                   const std::vector<Request>&)>;

  explicit set_batch(apply_fn apply) : apply_(std::move(apply)) {}

  // Queues one request; true when it starts a new group (the caller then sends the flush).
  bool add(caf::typed_response_promise<Reply> promise, Request request) {
    promises_.push_back(std::move(promise));
    requests_.push_back(std::move(request));
    return requests_.size() == 1;
  }

  // Applies every queued request and answers each one.
  void flush(persistence::pg_session& session) {
    auto requests = std::move(requests_);
    auto promises = std::move(promises_);
    requests_.clear();
    promises_.clear();
    std::vector<caf::expected<Reply>> answers;
    try {
      auto& db = session.connection();
      try {
        answers = in_transaction(db, requests);
      } catch (const persistence::pg_error& e) {
        if (e.connection_lost())
          throw;
        answers.clear();
        for (auto& request : requests) // one by one: only the failing one fails
          answers.push_back(alone(db, request));
      }
    } catch (const persistence::pg_error& e) {
      session.discard();
      logging::warn("database unreachable", {{"error", e.what()}});
      answers.assign(requests.size(), caf::expected<Reply>{unavailable_error()});
    }
    for (std::size_t i = 0; i < promises.size(); ++i) {
      if (i < answers.size() && answers[i])
        promises[i].deliver(std::move(*answers[i]));
      else
        promises[i].deliver(i < answers.size() ? answers[i].error() : unavailable_error());
    }
  }

private:
  // One transaction over `requests`; a deadlock runs it again (three times at most).
  std::vector<caf::expected<Reply>> in_transaction(persistence::pg_connection& db,
                                                   const std::vector<Request>& requests) {
    return persistence::retry_on_conflict([&] {
      persistence::pg_transaction tx{db};
      auto answers = apply_(db, requests);
      tx.commit();
      return answers;
    });
  }

  caf::expected<Reply> alone(persistence::pg_connection& db, const Request& request) {
    try {
      return std::move(in_transaction(db, {request}).front());
    } catch (const persistence::pg_error& e) {
      if (e.connection_lost())
        throw;
      logging::error("database error", {{"sqlstate", e.sqlstate()}, {"error", e.what()}});
      return make_app_error(app_error::internal, "INTERNAL", "internal error");
    }
  }

  apply_fn apply_;
  std::vector<Request> requests_;
  std::vector<caf::typed_response_promise<Reply>> promises_;
};
