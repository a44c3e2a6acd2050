// See inbox.hpp.
#include "actors/inbox.hpp"

#include "actors/log.hpp"
#include "actors/validation.hpp"

#include <algorithm>
#include <set>

inbox_batch::inbox_batch(std::string schema, std::vector<consumer_binding> consumers)
    : schema_(std::move(schema)), consumers_(std::move(consumers)),
      record_{"inbox_record",
              "INSERT INTO " + schema_ +
                  ".inbox (consumer, event_id) "
                  "SELECT * FROM unnest($1::text[], $2::uuid[]) ON CONFLICT DO NOTHING "
                  "RETURNING consumer, event_id"} {}

bool inbox_batch::add(caf::typed_response_promise<delivery_ack> promise, delivery d) {
  entries_.push_back({std::move(d), std::move(promise)});
  return entries_.size() == 1;
}

std::vector<inbox_batch::item*> inbox_batch::record(persistence::pg_connection& db,
                                                    std::vector<item*> items) {
  std::vector<std::string> consumers, ids;
  for (auto* i : items) {
    consumers.push_back(*i->consumer);
    ids.push_back(i->event->id);
  }
  std::set<std::pair<std::string, std::string>> fresh;
  auto rows = db.exec(record_, {persistence::pg_array(consumers), persistence::pg_array(ids)});
  for (int r = 0; r < rows.rows(); ++r)
    fresh.emplace(rows.string(r, 0), rows.string(r, 1));
  std::vector<item*> result;
  for (auto* i : items) // the first of an event given twice takes its one row
    if (fresh.erase({*i->consumer, lower_case(i->event->id)}) > 0)
      result.push_back(i);
  return result;
}

std::string inbox_batch::undeclared(const std::vector<item*>& fresh) const {
  for (auto* i : fresh) {
    auto binding = std::find_if(consumers_.begin(), consumers_.end(),
                                [&](auto& c) { return c.declared.name == *i->consumer; });
    if (binding == consumers_.end())
      return "no consumer " + *i->consumer + " in module " + schema_;
    auto& events = binding->declared.events;
    if (std::find(events.begin(), events.end(), i->event->event_name) == events.end())
      return "consumer " + *i->consumer + " does not handle " + i->event->event_name;
  }
  return {};
}

std::string inbox_batch::handle(persistence::pg_connection& db, const std::vector<item*>& fresh) {
  if (fresh.empty())
    return {};
  if (auto refusal = undeclared(fresh); !refusal.empty()) {
    logging::error("consumer refused an event",
                   {{"schema", schema_}, {"events", int64_t(fresh.size())}, {"error", refusal}});
    return refusal; // one by one, only the undeclared event fails
  }
  try {
    for (auto& consumer : consumers_) {
      std::vector<const event_envelope*> events;
      for (auto* i : fresh)
        if (*i->consumer == consumer.declared.name)
          events.push_back(i->event);
      if (events.empty())
        continue;
      if (auto err = consumer.handle(db, events)) {
        auto view = describe(err);
        return !view.message.empty() ? view.message : !view.code.empty() ? view.code : "failed";
      }
    }
    return {};
  } catch (const persistence::pg_error& e) {
    if (e.connection_lost() || e.is_retryable())
      throw;
    logging::error("consumer failed", {{"schema", schema_},
                                       {"events", int64_t(fresh.size())},
                                       {"sqlstate", e.sqlstate()},
                                       {"error", e.what()}});
    return "database error " + e.sqlstate();
  } catch (const std::exception& e) {
    // A consumer that throws must not take its worker down: the event is retried and
    // eventually dead-lettered with this text for operators.
    logging::error("consumer threw",
                   {{"schema", schema_}, {"events", int64_t(fresh.size())}, {"error", e.what()}});
    return *e.what() ? e.what() : "consumer threw";
  }
}

std::string inbox_batch::commit(persistence::pg_transaction& tx) {
  try {
    tx.commit(); // the handler's deferred writes go out with it
    return {};
  } catch (const persistence::pg_error& e) {
    if (e.connection_lost() || e.is_retryable())
      throw;
    logging::error("consumer failed",
                   {{"schema", schema_}, {"sqlstate", e.sqlstate()}, {"error", e.what()}});
    return "database error " + e.sqlstate();
  }
}

bool inbox_batch::apply_all(persistence::pg_connection& db, std::vector<item>& items) {
  return persistence::retry_on_conflict([&] {
    persistence::pg_transaction tx{db};
    std::vector<item*> all;
    for (auto& i : items)
      all.push_back(&i);
    if (!handle(db, record(db, all)).empty() || !commit(tx).empty())
      return false; // rolled back by tx
    for (auto& i : items)
      i.result = outcome::handled;
    return true;
  });
}

void inbox_batch::apply_one_by_one(persistence::pg_connection& db, std::vector<item>& items) {
  std::set<std::pair<std::string, std::string>> broken; // (consumer, aggregate) with a failure
  for (auto& i : items) {
    if (broken.count({*i.consumer, i.event->aggregate_id})) {
      i.result = outcome::untried;
      continue;
    }
    i.error = persistence::retry_on_conflict([&] {
      persistence::pg_transaction tx{db};
      auto error = handle(db, record(db, {&i}));
      return error.empty() ? commit(tx) : error;
    });
    i.result = i.error.empty() ? outcome::handled : outcome::failed;
    if (!i.error.empty())
      broken.emplace(*i.consumer, i.event->aggregate_id);
  }
}

void inbox_batch::flush(persistence::pg_session& session) {
  std::vector<item> items;
  for (auto& e : entries_)
    for (auto& event : e.d.events)
      items.push_back({&e.d.consumer, &event, outcome::open, {}});
  caf::error failure;
  try {
    auto& db = session.connection();
    bool applied = false;
    try {
      applied = apply_all(db, items);
    } catch (const persistence::pg_error& e) {
      if (e.connection_lost())
        throw;
      // deadlocks again and again, or a failure outside the handler: one by one
    }
    if (!applied)
      apply_one_by_one(db, items);
  } catch (const persistence::pg_error& e) {
    if (e.connection_lost()) {
      session.discard();
      failure = unavailable_error();
    } else {
      logging::error("consumer batch failed", {{"sqlstate", e.sqlstate()}, {"error", e.what()}});
      failure =
          make_app_error(app_error::internal, "CONSUMER_FAILED", "database error " + e.sqlstate());
    }
  }
  // Answers in order: the items of each entry are consecutive.
  auto next = items.begin();
  for (auto& e : entries_) {
    delivery_ack ack{e.d.consumer, {}, {}, {}};
    for (std::size_t n = 0; n < e.d.events.size(); ++n, ++next) {
      if (next->result == outcome::handled) {
        ack.handled.push_back(next->event->id);
      } else if (next->result == outcome::failed) {
        ack.failed.push_back(next->event->id);
        ack.errors.push_back(next->error);
      }
    }
    if (failure)
      e.promise.deliver(failure); // what committed before is dropped as a repeat next time
    else
      e.promise.deliver(std::move(ack));
  }
  entries_.clear();
}
