// RAII over libpq: a connection, a result and a transaction guard, with parameterised
// statements only (values never enter SQL text). Blocking: use from detached actors or
// start-up code only, never from CAF's shared scheduler.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

struct pg_conn;
struct pg_result;
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace persistence {

// A failed statement or connection. `sqlstate` is PostgreSQL's five-character code
// ("23505" for a unique violation); `connection_lost` means the server is unreachable
// and the connection must be replaced.
class pg_error : public std::runtime_error {
public:
  pg_error(std::string message, std::string sqlstate, std::string constraint, bool connection_lost);

  const std::string& sqlstate() const { return sqlstate_; }
  const std::string& constraint() const { return constraint_; }
  bool connection_lost() const { return connection_lost_; }
  bool is_unique_violation() const { return sqlstate_ == "23505"; }
  // A deadlock or a serialization failure: the same transaction may succeed if run again.
  bool is_retryable() const { return sqlstate_ == "40P01" || sqlstate_ == "40001"; }

private:
  std::string sqlstate_;
  std::string constraint_;
  bool connection_lost_;
};

// Runs `attempt` (a whole transaction) again after a deadlock or a serialization failure,
// three times in all; any other error, and the third conflict, goes to the caller.
template <class F> auto retry_on_conflict(F&& attempt) {
  for (int conflicts = 0;; ++conflicts) {
    try {
      return attempt();
    } catch (const pg_error& e) {
      if (!e.is_retryable() || conflicts == 2)
        throw;
    }
  }
}

// One statement parameter in text form; nullopt is SQL NULL.
struct pg_param {
  std::optional<std::string> text;

  pg_param(std::nullptr_t) {}
  pg_param(std::string value) : text(std::move(value)) {}
  pg_param(const char* value) : text(value) {}
  pg_param(std::string_view value) : text(std::string{value}) {}
  pg_param(int64_t value) : text(std::to_string(value)) {}
  pg_param(int value) : text(std::to_string(value)) {}
  pg_param(bool value) : text(value ? "true" : "false") {}
  pg_param(const std::optional<std::string>& value) : text(value) {}
};

using pg_params = std::vector<pg_param>;

// The text form of a one-dimensional array parameter ({"a","b\"c",NULL}): how set-based
// statements take many rows at once, through unnest(). Every element is quoted, which
// suits any element type (text, uuid, bigint, jsonb).
std::string pg_array(const std::vector<std::string>& items);
std::string pg_array(const std::vector<std::optional<std::string>>& items);
std::string pg_array(const std::vector<int64_t>& items);

// Told once a transaction that wrote to it has committed (a relay's doorbell, see
// outbox.hpp); told nothing when the transaction rolled back.
class commit_listener {
public:
  virtual ~commit_listener() = default;
  virtual void committed() = 0;
};

class pg_result {
public:
  explicit pg_result(PGresult* raw);

  int rows() const;
  bool empty() const { return rows() == 0; }
  bool is_null(int row, int column) const;
  std::string_view text(int row, int column) const;
  std::string string(int row, int column) const { return std::string{text(row, column)}; }
  std::optional<std::string> optional_string(int row, int column) const;
  int64_t integer(int row, int column) const;
  bool boolean(int row, int column) const { return text(row, column) == "t"; }
  // Rows changed by INSERT/UPDATE/DELETE.
  int64_t affected() const;

private:
  struct deleter {
    void operator()(PGresult* raw) const;
  };
  std::unique_ptr<PGresult, deleter> raw_;
};

// A named statement, prepared once per connection on first use. `plan_each_time` makes
// it planned at every call instead: for a statement that finds rows of a table that
// grows, given as an array of keys. A prepared statement soon runs a generic plan made
// with the statistics of the moment, which for a table still small at start-up is a
// sequential scan that then grows with the table (seen at 15 ms per batch after a
// minute of load); a plan for the actual array is an index lookup per key.
struct pg_statement {
  const char* name;
  std::string sql;
  bool plan_each_time = false;
};

class pg_connection {
public:
  // Connects; throws pg_error (connection_lost) when the server cannot be reached.
  explicit pg_connection(const std::string& dsn);

  pg_result exec(const std::string& sql, const pg_params& params = {});
  pg_result exec(const pg_statement& statement, const pg_params& params = {});
  // Inside a transaction, for a write whose result nobody reads: queues `statement` to go
  // out with the next statement that needs an answer (or the COMMIT), all in one round
  // trip (libpq's pipeline mode). Its failure surfaces there, as a pg_error. The
  // statement object must outlive the call that sends it.
  void defer(const pg_statement& statement, pg_params params);
  // Sends what was deferred now (one round trip), so that its failure is raised here.
  void flush_deferred();
  // Inside a transaction: tells `listener` after the COMMIT succeeded (once however often
  // it is added). It must outlive the transaction.
  void after_commit(commit_listener& listener);
  // Runs several statements without parameters (migrations only).
  void exec_script(const std::string& sql);

  // False once the server closed the connection (checked without a round trip).
  bool alive();
  int socket() const;
  PGconn* raw() { return conn_.get(); }

  // Quotes a name for the rare statements that cannot take it as a parameter (roles,
  // schemas); names are validated by their callers too.
  std::string quote_identifier(const std::string& name);

private:
  friend class pg_transaction;

  // One statement waiting to go out: a named statement, or plain SQL (`statement` null).
  struct deferred {
    const pg_statement* statement;
    std::string sql;
    pg_params params;
  };

  pg_result check(PGresult* raw);
  pg_error error_of(PGresult* raw);
  void prepare(const pg_statement& statement);
  // Sends the deferred statements and `last` in one round trip; `last`'s result.
  pg_result pipeline(std::optional<deferred> last);
  // Drops what was deferred (a transaction rolled back); true when a BEGIN was among it,
  // i.e. the transaction never reached the server.
  bool discard_deferred();

  struct deleter {
    void operator()(PGconn* raw) const;
  };
  std::unique_ptr<PGconn, deleter> conn_;
  std::unordered_set<std::string> prepared_;
  std::vector<deferred> deferred_;
  std::vector<commit_listener*> listeners_; // of the open transaction
};

// BEGIN on construction (sent with the transaction's first statement); ROLLBACK on
// destruction unless commit() succeeded.
class pg_transaction {
public:
  explicit pg_transaction(pg_connection& conn);
  ~pg_transaction();
  pg_transaction(const pg_transaction&) = delete;
  pg_transaction& operator=(const pg_transaction&) = delete;

  void commit();

private:
  pg_connection& conn_;
  bool done_ = false;
};

// Holds one connection to one DSN and replaces it after the server went away, so that the
// first request after an outage succeeds without a process restart.
class pg_session {
public:
  // `statement_timeout_ms` > 0 bounds every statement, so that no worker (and no
  // shutdown waiting for it) can hang on a stuck query.
  explicit pg_session(std::string dsn, int statement_timeout_ms = 10000)
      : dsn_(std::move(dsn)), statement_timeout_ms_(statement_timeout_ms) {}

  // Settings applied to every new connection of this session (e.g. the relay's
  // lock_timeout), as name -> value.
  void set_on_connect(std::vector<std::pair<std::string, std::string>> settings) {
    on_connect_ = std::move(settings);
  }

  // A live connection; throws pg_error (connection_lost) while the server is down.
  pg_connection& connection();
  // Drops the connection after a failure that may have broken it.
  void discard() { conn_.reset(); }

private:
  std::string dsn_;
  int statement_timeout_ms_;
  std::vector<std::pair<std::string, std::string>> on_connect_;
  std::unique_ptr<pg_connection> conn_;
};

} // namespace persistence
