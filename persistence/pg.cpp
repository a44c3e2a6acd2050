// libpq RAII (see pg.hpp). Every statement goes through PQexecParams/PQexecPrepared
// with text parameters; only migrations use PQexec.
#include "persistence/pg.hpp"

#include <algorithm>
#include <optional>

#include <libpq-fe.h>
#include <poll.h>

#include <charconv>

namespace persistence {

namespace {

bool is_connection_sqlstate(const std::string& state) {
  // Class 08: connection exception; 57P01..57P03: shutdown / cannot connect now.
  return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
}

std::string field(const PGresult* raw, int code) {
  const char* value = raw ? PQresultErrorField(raw, code) : nullptr;
  return value ? value : "";
}

} // namespace

pg_error::pg_error(std::string message, std::string sqlstate, std::string constraint,
                   bool connection_lost)
    : std::runtime_error(std::move(message)), sqlstate_(std::move(sqlstate)),
      constraint_(std::move(constraint)), connection_lost_(connection_lost) {}

// -- pg_result ---------------------------------------------------------------

void pg_result::deleter::operator()(PGresult* raw) const {
  PQclear(raw);
}

pg_result::pg_result(PGresult* raw) : raw_(raw) {}

int pg_result::rows() const {
  return PQntuples(raw_.get());
}

bool pg_result::is_null(int row, int column) const {
  return PQgetisnull(raw_.get(), row, column) == 1;
}

std::string_view pg_result::text(int row, int column) const {
  return {PQgetvalue(raw_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(raw_.get(), row, column))};
}

std::optional<std::string> pg_result::optional_string(int row, int column) const {
  if (is_null(row, column))
    return std::nullopt;
  return string(row, column);
}

int64_t pg_result::integer(int row, int column) const {
  auto value = text(row, column);
  int64_t result = 0;
  std::from_chars(value.data(), value.data() + value.size(), result);
  return result;
}

int64_t pg_result::affected() const {
  const char* n = PQcmdTuples(raw_.get());
  return n && *n ? std::stoll(n) : 0;
}

// -- pg_connection -----------------------------------------------------------

void pg_connection::deleter::operator()(PGconn* raw) const {
  PQfinish(raw);
}

pg_connection::pg_connection(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    // The server's message names hosts and users: keep it for logs, never for clients.
    std::string message = conn_ ? PQerrorMessage(conn_.get()) : "out of memory";
    throw pg_error("cannot connect to PostgreSQL: " + message, "08001", "", true);
  }
  // Notices (e.g. "schema already exists") are not errors; keep them off stderr.
  PQsetNoticeProcessor(
      conn_.get(), [](void*, const char*) {}, nullptr);
}

pg_result pg_connection::check(PGresult* raw) {
  auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
    return pg_result{raw};
  pg_result owner{raw};
  throw error_of(raw);
}

pg_error pg_connection::error_of(PGresult* raw) {
  std::string state = field(raw, PG_DIAG_SQLSTATE);
  bool lost = PQstatus(conn_.get()) != CONNECTION_OK || is_connection_sqlstate(state);
  std::string message = raw ? field(raw, PG_DIAG_MESSAGE_PRIMARY) : "";
  if (message.empty())
    message = PQerrorMessage(conn_.get());
  return pg_error(message, state.empty() && lost ? "08006" : state,
                  field(raw, PG_DIAG_CONSTRAINT_NAME), lost);
}

namespace {

struct param_arrays {
  std::vector<const char*> values;
  explicit param_arrays(const pg_params& params) {
    values.reserve(params.size());
    for (auto& p : params) {
      // libpq takes C strings: a NUL would silently cut the value short.
      if (p.text && p.text->find('\0') != std::string::npos)
        throw pg_error("statement parameter contains a NUL character", "22021", "", false);
      values.push_back(p.text ? p.text->c_str() : nullptr);
    }
  }
};

} // namespace

pg_result pg_connection::exec(const std::string& sql, const pg_params& params) {
  if (!deferred_.empty())
    return pipeline(deferred{nullptr, sql, params});
  param_arrays arrays{params};
  return check(PQexecParams(conn_.get(), sql.c_str(), int(params.size()), nullptr,
                            arrays.values.data(), nullptr, nullptr, 0));
}

pg_result pg_connection::exec(const pg_statement& statement, const pg_params& params) {
  if (statement.plan_each_time)
    return exec(statement.sql, params);
  if (!deferred_.empty())
    return pipeline(deferred{&statement, {}, params});
  prepare(statement);
  param_arrays arrays{params};
  return check(PQexecPrepared(conn_.get(), statement.name, int(params.size()), arrays.values.data(),
                              nullptr, nullptr, 0));
}

void pg_connection::defer(const pg_statement& statement, pg_params params) {
  deferred_.push_back({&statement, {}, std::move(params)});
}

void pg_connection::prepare(const pg_statement& statement) {
  if (statement.plan_each_time || prepared_.count(statement.name))
    return;
  check(PQprepare(conn_.get(), statement.name, statement.sql.c_str(), 0, nullptr));
  prepared_.insert(statement.name);
}

bool pg_connection::discard_deferred() {
  bool unsent_begin = false;
  for (auto& d : deferred_)
    unsent_begin |= !d.statement && d.sql == "BEGIN";
  deferred_.clear();
  return unsent_begin;
}

void pg_connection::after_commit(commit_listener& listener) {
  if (std::find(listeners_.begin(), listeners_.end(), &listener) == listeners_.end())
    listeners_.push_back(&listener);
}

void pg_connection::flush_deferred() {
  if (!deferred_.empty())
    pipeline(std::nullopt);
}

pg_result pg_connection::pipeline(std::optional<deferred> last) {
  auto items = std::move(deferred_);
  deferred_.clear();
  if (last)
    items.push_back(std::move(*last));
  for (auto& d : items)
    if (d.statement)
      prepare(*d.statement); // (before the pipeline: a prepare has an answer of its own)
  auto* c = conn_.get();
  auto lost = [this] { return error_of(nullptr); };
  if (PQenterPipelineMode(c) != 1)
    throw lost();
  for (auto& d : items) {
    param_arrays arrays{d.params};
    int sent = d.statement && !d.statement->plan_each_time
                   ? PQsendQueryPrepared(c, d.statement->name, int(d.params.size()),
                                         arrays.values.data(), nullptr, nullptr, 0)
                   : PQsendQueryParams(c, (d.statement ? d.statement->sql : d.sql).c_str(),
                                       int(d.params.size()), nullptr, arrays.values.data(), nullptr,
                                       nullptr, 0);
    if (sent != 1)
      throw lost(); // the connection is broken: its session replaces it
  }
  if (PQpipelineSync(c) != 1)
    throw lost();
  // One result per statement (each followed by a null), then the sync. After a failure
  // the server skips the rest (PGRES_PIPELINE_ABORTED) up to the sync.
  std::optional<pg_error> failure;
  pg_result answer{nullptr};
  for (std::size_t i = 0; i < items.size(); ++i) {
    PGresult* raw = PQgetResult(c);
    if (!raw)
      throw lost();
    auto status = PQresultStatus(raw);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      if (i + 1 == items.size())
        answer = pg_result{raw};
      else
        PQclear(raw);
    } else {
      if (status != PGRES_PIPELINE_ABORTED && !failure)
        failure = error_of(raw);
      PQclear(raw);
    }
    while (PGresult* more = PQgetResult(c)) // the null that ends this statement's results
      PQclear(more);
  }
  PGresult* sync = PQgetResult(c);
  bool synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  if (sync)
    PQclear(sync);
  if (!synced || PQexitPipelineMode(c) != 1)
    throw lost();
  if (failure)
    throw *failure;
  return answer;
}

void pg_connection::exec_script(const std::string& sql) {
  check(PQexec(conn_.get(), sql.c_str()));
}

bool pg_connection::alive() {
  if (PQstatus(conn_.get()) != CONNECTION_OK)
    return false;
  // An idle connection has nothing to read unless the server closed it (a shutdown
  // sends a FATAL message first) or sent a notification: look without blocking.
  pollfd pfd{PQsocket(conn_.get()), POLLIN, 0};
  if (poll(&pfd, 1, 0) <= 0)
    return true;
  if ((pfd.revents & (POLLHUP | POLLERR)) || PQconsumeInput(conn_.get()) == 0)
    return false;
  bool notified = false;
  while (PGnotify* n = PQnotifies(conn_.get())) {
    notified = true;
    PQfreemem(n);
  }
  return notified && PQstatus(conn_.get()) == CONNECTION_OK;
}

int pg_connection::socket() const {
  return PQsocket(conn_.get());
}

std::string pg_connection::quote_identifier(const std::string& name) {
  char* quoted = PQescapeIdentifier(conn_.get(), name.c_str(), name.size());
  if (!quoted)
    throw pg_error("invalid identifier", "42602", "", false);
  std::string result{quoted};
  PQfreemem(quoted);
  return result;
}

// -- pg_transaction ----------------------------------------------------------

pg_transaction::pg_transaction(pg_connection& conn) : conn_(conn) {
  conn_.deferred_.push_back({nullptr, "BEGIN", {}});
}

pg_transaction::~pg_transaction() {
  if (done_)
    return;
  conn_.listeners_.clear();
  if (conn_.discard_deferred())
    return; // the BEGIN never went out: nothing to roll back
  try {
    conn_.exec("ROLLBACK");
  } catch (const pg_error&) {
    // The connection is gone; the server rolled back on its own.
  }
}

void pg_transaction::commit() {
  conn_.exec("COMMIT"); // with the writes deferred until now
  done_ = true;
  auto listeners = std::move(conn_.listeners_);
  conn_.listeners_.clear();
  for (auto* listener : listeners)
    listener->committed();
}

// -- pg_session --------------------------------------------------------------

pg_connection& pg_session::connection() {
  if (conn_ && !conn_->alive())
    conn_.reset();
  if (!conn_) {
    auto fresh = std::make_unique<pg_connection>(dsn_);
    if (statement_timeout_ms_ > 0)
      fresh->exec("SELECT set_config('statement_timeout', $1, false)",
                  {std::to_string(statement_timeout_ms_)});
    for (auto& [name, value] : on_connect_)
      fresh->exec("SELECT set_config($1, $2, false)", {name, value});
    conn_ = std::move(fresh);
  }
  return *conn_;
}

namespace {

void append_element(std::string& text, const std::optional<std::string>& item) {
  if (text.size() > 1)
    text += ',';
  if (!item) {
    text += "NULL";
    return;
  }
  text += '"';
  for (char c : *item) {
    if (c == '"' || c == '\\')
      text += '\\';
    text += c;
  }
  text += '"';
}

} // namespace

std::string pg_array(const std::vector<std::string>& items) {
  std::string text = "{";
  for (auto& item : items)
    append_element(text, item);
  return text + "}";
}

std::string pg_array(const std::vector<std::optional<std::string>>& items) {
  std::string text = "{";
  for (auto& item : items)
    append_element(text, item);
  return text + "}";
}

std::string pg_array(const std::vector<int64_t>& items) {
  std::string text = "{";
  for (auto item : items)
    text += (text.size() > 1 ? "," : "") + std::to_string(item);
  return text + "}";
}

} // namespace persistence
