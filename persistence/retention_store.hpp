// The statements that keep a module's tables from growing for ever: each deletes at most
// one batch of rows that nothing pending needs and that are older than their retention,
// in its own short transaction, so that no lock is held for long and the hot path of the
// module (its workers, its relay) never waits on more than one batch.
//
// They run a few times a minute, so they are sent as plain parameterised SQL, not
// prepared. What goes, per module schema:
// - deliveries: rows `delivered` or `discarded` (dead letters an operator threw away),
//   last changed longer ago than their retention; open and dead ones stay;
// - outbox: events below the relay's watermark (delivered to every consumer) with no
//   delivery row left; `relay_lease.pruned` counts them, so the published total stays;
// - inbox: entries handled longer ago than their retention;
// - the module's own aged tables (orders' idempotency keys), by their time column.
#pragma once

#include "persistence/pg.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace persistence {

// A table of the module's own whose rows expire by one timestamp column (indexed for it,
// e.g. BRIN: rows are written in time order).
struct aged_table {
  std::string table;
  std::string column;
  std::chrono::milliseconds age;
};

struct retention_ages {
  std::chrono::milliseconds outbox;
  std::chrono::milliseconds inbox;
  std::chrono::milliseconds deliveries;
};

class retention_store {
public:
  retention_store(const std::string& schema, retention_ages ages, std::vector<aged_table> own,
                  int batch_size);

  struct table_batch {
    std::string table;
    int64_t deleted = 0;
  };
  // One batch per table, deliveries before the outbox (a delivery row holds its event);
  // true in `more` when some table has more to prune now.
  std::vector<table_batch> prune_batch(pg_connection& db, bool& more);
  // A new pass starts from the outbox's first rows again.
  void start_pass() { outbox_cursor_ = 0; }
  int batch_size() const { return batch_size_; }

  // Every table this store prunes, with its size on disk (indexes and TOAST included).
  std::vector<std::pair<std::string, int64_t>> table_sizes(pg_connection& db);

private:
  struct step {
    std::string table;
    std::string sql; // ($1 age in ms, $2 batch size) -> rows deleted
    int64_t age_ms;
  };
  std::vector<step> steps_; // deliveries, inbox, own tables
  std::string outbox_;      // ($1, $2, $3 cursor) -> rows deleted, next cursor, more
  int64_t outbox_age_ms_;
  int64_t outbox_cursor_ = 0; // positions up to here were looked at in this pass
  std::string sizes_;
  std::vector<std::string> tables_;
  std::string schema_;
  int batch_size_;
};

} // namespace persistence
