// See inbox.hpp.
#include "actors/inbox.hpp"

#include "actors/log.hpp"
#include "actors/validation.hpp"

#include <set>

namespace {

// Thrown inside the transaction when one entry failed on its own: rolls back the batch.
struct entry_failed {};

bool is_retryable(const persistence::pg_error& e) {
  return e.sqlstate() == "40P01" || e.sqlstate() == "40001"; // deadlock, serialization
}

caf::error consumer_failed(const std::string& text) {
  return make_app_error(app_error::internal, "CONSUMER_FAILED", text);
}

std::string uuid_list(const std::vector<std::string>& ids) {
  std::string text = "{";
  for (auto& id : ids)
    text += (text.size() > 1 ? "," : "") + id; // uuids need no quoting
  return text + "}";
}

} // namespace

inbox_batch::inbox_batch(std::string schema, event_handler handle)
    : schema_(std::move(schema)), handle_(std::move(handle)),
      record_{"inbox_record",
              "INSERT INTO " + schema_ +
                  ".inbox (consumer, event_id) "
                  "SELECT * FROM unnest($1::text[], $2::uuid[]) ON CONFLICT DO NOTHING "
                  "RETURNING consumer, event_id"} {}

bool inbox_batch::add(caf::typed_response_promise<delivery_ack> promise, delivery d) {
  entries_.push_back({std::move(d), std::move(promise), {}});
  return entries_.size() == 1;
}

void inbox_batch::run_once(persistence::pg_connection& db) {
  persistence::pg_transaction tx{db};
  std::string consumers = "{";
  std::vector<std::string> ids;
  for (auto& e : entries_) {
    if (e.failure)
      continue;
    consumers += (consumers.size() > 1 ? ",\"" : "\"") + e.d.consumer + "\"";
    ids.push_back(e.d.event.id);
  }
  if (ids.empty())
    return;
  // One statement records every event; those it returns are new to this consumer.
  std::set<std::pair<std::string, std::string>> fresh;
  auto rows = db.exec(record_, {consumers + "}", uuid_list(ids)});
  for (int i = 0; i < rows.rows(); ++i)
    fresh.emplace(rows.string(i, 0), rows.string(i, 1));
  for (auto& e : entries_) {
    if (e.failure || fresh.erase({e.d.consumer, lower_case(e.d.event.id)}) == 0)
      continue; // seen before (or twice in this batch): acknowledge without effects
    try {
      if (auto err = handle_(db, e.d.event))
        e.failure = err;
    } catch (const persistence::pg_error& err) {
      if (err.connection_lost() || is_retryable(err))
        throw;
      logging::error("consumer failed", {{"consumer", e.d.consumer},
                                         {"event", e.d.event.id},
                                         {"sqlstate", err.sqlstate()},
                                         {"error", err.what()}});
      e.failure = consumer_failed("database error " + err.sqlstate());
    } catch (const std::exception& err) {
      // A consumer that throws must not take its worker down: the delivery is retried and
      // eventually dead-lettered with this text for operators.
      logging::error("consumer threw",
                     {{"consumer", e.d.consumer}, {"event", e.d.event.id}, {"error", err.what()}});
      e.failure = consumer_failed(err.what());
    }
    if (e.failure)
      throw entry_failed{}; // its partial effects must go: roll back, run the rest again
  }
  tx.commit();
}

void inbox_batch::flush(persistence::pg_session& session) {
  caf::error failure;
  for (int conflicts = 0;;) {
    try {
      run_once(session.connection());
      break;
    } catch (const entry_failed&) {
      continue;
    } catch (const persistence::pg_error& e) {
      if (e.connection_lost()) {
        session.discard();
        failure = unavailable_error();
        break;
      }
      if (is_retryable(e) && ++conflicts < 3)
        continue;
      logging::error("consumer batch failed", {{"sqlstate", e.sqlstate()}, {"error", e.what()}});
      failure = consumer_failed("database error " + e.sqlstate());
      break;
    }
  }
  for (auto& e : entries_) {
    if (e.failure)
      e.promise.deliver(e.failure);
    else if (failure)
      e.promise.deliver(failure);
    else
      e.promise.deliver(delivery_ack{e.d.consumer, e.d.event.id});
  }
  entries_.clear();
}
