// Writes events to a module's outbox inside the caller's transaction, so that a state
// change and its events commit together or not at all (docs/architecture.md, "Events"; writing
// state and events"). Nothing is published from here: the relay reads the table.
#pragma once

#include "persistence/pg.hpp"

#include <functional>
#include <memory>
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

// How a module's writers wake the relay of its outbox. A relay in this process that holds
// the outbox's lease is told after each COMMIT that appended events, in process. Otherwise
// (no relay here, or a standby) the writing transaction NOTIFYs `<schema>_outbox`, which
// the leader in another process LISTENs to. NOTIFY is not free: PostgreSQL serialises the
// commits of every transaction that notified in a database (a lock held through the WAL
// flush), which would undo the group commit of the module workers; so it is used only
// when another process must hear.
class outbox_doorbell : public commit_listener {
public:
  // True while a relay in this process holds the lease: committed() then reaches it.
  virtual bool heard_in_process() const = 0;
};

// What an outbox_writer tells others; both may be empty (tools, tests).
struct outbox_hooks {
  std::shared_ptr<outbox_doorbell> doorbell; // without one, every append NOTIFYs
  // Runs once per appended event (metrics); the transaction may still roll back, so it
  // counts attempts to append within committed and failed work alike.
  std::function<void()> on_append;
};

class outbox_writer {
public:
  explicit outbox_writer(const std::string& schema, outbox_hooks hooks = {});

  // Appends `events` in this order with one statement, each with the next sequence
  // number of its aggregate (several events of one aggregate are numbered in order). The
  // statement goes out with the transaction's next one or its COMMIT (pg_connection::defer).
  // The caller holds the aggregates' row locks (or created them in this transaction);
  // the (aggregate_id, sequence) key refuses a second writer regardless.
  void append(pg_connection& db, const std::vector<new_event>& events) const;

private:
  pg_statement append_;
  pg_statement notify_;
  std::string channel_;
  outbox_hooks hooks_;
};

} // namespace persistence
