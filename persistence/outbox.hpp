// Writes events to a module's outbox inside the caller's transaction, so that a state
// change and its events commit together or not at all (README, "Events"; writing state
// and events"). Nothing is published from here: the relay reads the table.
#pragma once

#include "persistence/pg.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace persistence {

struct new_event {
  std::string event_name;
  std::string aggregate_id;
  std::string correlation_id;
  std::optional<std::string> causation_id;
  std::string payload_json;
};

class outbox_writer {
public:
  // `on_append` runs once per appended event (metrics); the transaction may still roll
  // back, so it counts attempts to append within committed and failed work alike.
  explicit outbox_writer(const std::string& schema, std::function<void()> on_append = {});

  // Appends `events` in this order with one statement, each with the next sequence
  // number of its aggregate (several events of one aggregate are numbered in order). The
  // statement goes out with the transaction's next one or its COMMIT (pg_connection::defer).
  // The caller holds the aggregates' row locks (or created them in this transaction);
  // the (aggregate_id, sequence) key refuses a second writer regardless.
  void append(pg_connection& db, const std::vector<new_event>& events) const;

private:
  pg_statement append_;
  std::function<void()> on_append_;
};

} // namespace persistence
