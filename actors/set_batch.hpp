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
// A request whose caller's deadline has passed (command_deadline) is left out, and when
// one passes before the COMMIT, the group is rolled back and applied again without it;
// such requests are answered UNAVAILABLE, as their callers already were.
//
// Like lookup_batch, the first request of a group makes the worker send itself
// flush_set_atom, which lands behind every request already in its mailbox.
#pragma once

#include "actors/app_error.hpp"
#include "actors/command_deadline.hpp"
#include "actors/log.hpp"
#include "persistence/pg.hpp"

#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/typed_response_promise.hpp>

#include <functional>
#include <optional>
#include <utility>
#include <vector>

using flush_set_atom = caf::atom_constant<caf::atom("flushset")>;

template <class Request, class Reply> class set_batch {
public:
  using apply_fn = std::function<std::vector<caf::expected<Reply>>(persistence::pg_connection&,
                                                                   const std::vector<Request>&)>;

  explicit set_batch(apply_fn apply) : apply_(std::move(apply)) {}

  // Queues one request; true when it starts a new group (the caller then sends the flush).
  bool add(caf::typed_response_promise<Reply> promise, Request request,
           command_deadline deadline = {}) {
    promises_.push_back(std::move(promise));
    requests_.push_back(std::move(request));
    deadlines_.push_back(deadline);
    return requests_.size() == 1;
  }

  // Applies every queued request whose caller still waits and answers each one.
  void flush(persistence::pg_session& session) {
    auto requests = std::move(requests_);
    auto promises = std::move(promises_);
    auto deadlines = std::move(deadlines_);
    requests_.clear();
    promises_.clear();
    deadlines_.clear();
    std::vector<caf::expected<Reply>> answers(requests.size(),
                                              caf::expected<Reply>{unavailable_error()});
    std::vector<std::size_t> live; // the requests whose callers still wait
    try {
      auto& db = session.connection();
      for (;;) {
        live.clear();
        for (std::size_t i = 0; i < requests.size(); ++i)
          if (!deadlines[i].passed())
            live.push_back(i);
        if (live.empty())
          break;
        try {
          auto applied = live.size() == requests.size()
                             ? in_transaction(db, requests, deadlines)
                             : in_transaction(db, pick(requests, live), pick(deadlines, live));
          if (!applied)
            continue; // a deadline passed before COMMIT: again without that request
          for (std::size_t k = 0; k < live.size(); ++k)
            answers[live[k]] = std::move((*applied)[k]);
          break;
        } catch (const persistence::pg_error& e) {
          if (e.connection_lost())
            throw;
          for (auto i : live) // one by one: only the failing one fails
            answers[i] = alone(db, requests[i], deadlines[i]);
          break;
        }
      }
    } catch (const persistence::pg_error& e) {
      session.discard();
      logging::warn("database unreachable", {{"error", e.what()}});
      for (auto i : live)
        answers[i] = unavailable_error();
    }
    for (std::size_t i = 0; i < promises.size(); ++i) {
      if (answers[i])
        promises[i].deliver(std::move(*answers[i]));
      else
        promises[i].deliver(answers[i].error());
    }
  }

private:
  template <class T>
  static std::vector<T> pick(const std::vector<T>& all, const std::vector<std::size_t>& which) {
    std::vector<T> some;
    for (auto i : which)
      some.push_back(all[i]);
    return some;
  }

  // One transaction over `requests`; a deadlock runs it again (three times at most).
  // Nothing when a request's deadline passed before COMMIT (it was rolled back).
  std::optional<std::vector<caf::expected<Reply>>>
  in_transaction(persistence::pg_connection& db, const std::vector<Request>& requests,
                 const std::vector<command_deadline>& deadlines) {
    return persistence::retry_on_conflict(
        [&]() -> std::optional<std::vector<caf::expected<Reply>>> {
          persistence::pg_transaction tx{db};
          auto answers = apply_(db, requests);
          for (auto& deadline : deadlines)
            if (deadline.passed())
              return std::nullopt;
          tx.commit();
          return answers;
        });
  }

  caf::expected<Reply> alone(persistence::pg_connection& db, const Request& request,
                             const command_deadline& deadline) {
    try {
      auto applied = in_transaction(db, {request}, {deadline});
      if (!applied)
        return unavailable_error();
      return std::move(applied->front());
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
  std::vector<command_deadline> deadlines_;
};
