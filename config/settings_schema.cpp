// The table of app.* keys (see settings_schema.hpp). A row per key, in the README's order;
// the helpers below make a key's type from its range and the field it is stored in.
#include "config/settings_schema.hpp"

#include <caf/expected.hpp>

#include <stdexcept>

namespace config {

namespace {

template <class T> using field = std::function<T&(app_settings&)>;

template <class T> field<T> at(T app_settings::*member) {
  return [member](app_settings& s) -> T& { return s.*member; };
}

template <class Section, class T> field<T> at(Section app_settings::*section, T Section::*member) {
  return [section, member](app_settings& s) -> T& { return s.*section.*member; };
}

// A timespan as the configuration file writes it, in its largest exact unit.
std::string span(millis ms) {
  if (ms.count() == 0)
    return "0";
  static const std::pair<int64_t, const char*> units[] = {
      {3600000, "h"}, {60000, "min"}, {1000, "s"}};
  for (auto [unit, name] : units)
    if (ms.count() % unit == 0)
      return std::to_string(ms.count() / unit) + name;
  return std::to_string(ms.count()) + "ms";
}

template <class T> key_type integer(int64_t min, int64_t max, field<T> target) {
  return {"int " + std::to_string(min) + ".." + std::to_string(max), false,
          [=](key_reader& r, app_settings& s) {
            int64_t v = 0;
            if (r.integer(min, max, v))
              target(s) = T(v);
          },
          nullptr};
}

key_type timespan(millis min, millis max, field<millis> target) {
  return {"timespan " + span(min) + ".." + span(max), false,
          [=](key_reader& r, app_settings& s) { r.timespan(min, max, target(s)); }, nullptr};
}

key_type boolean(field<bool> target) {
  return {"bool", false, [=](key_reader& r, app_settings& s) { r.boolean(target(s)); }, nullptr};
}

// `shown` may say more than "string"; what it says beyond the type is checked in
// settings_reader.cpp, with the other keys it depends on.
key_type string(field<std::string> target, std::string shown = "string") {
  return {std::move(shown), true, [=](key_reader& r, app_settings& s) { r.string(target(s)); },
          nullptr};
}

key_type entries(std::string shown, bool takes_string, entry_reader read) {
  return {std::move(shown), takes_string, nullptr, read};
}

key_default value(std::string text, std::string note = "") {
  return {std::move(text), std::move(note)};
}

key_default rule(std::string note) {
  return {std::nullopt, std::move(note)};
}

key_default none() {
  return {std::nullopt, ""};
}

const millis ms1{1}, s1{1000}, min10{600000}, day{86400000};

std::vector<setting> make_schema() {
  using a = app_settings;
  const auto week = value("168h", "(7 days)");
  return {
      {"app.node", string(at(&a::node)), value("\"main\""),
       "which entry of `app.nodes` this process is"},
      {"app.nodes.NAME", entries("`{host, port, http-host?, http-port?}`", false, read_node),
       value("{ host = \"127.0.0.1\", port = 4200, http-host = \"127.0.0.1\", http-port = 8080 }",
             "as `main`, when there is no `[app.nodes]` (the shipped file: `http-port = 8081`, "
             "behind the edge)"),
       "the nodes; those with `http-port` run the gateway"},
      {"app.modules.MODULE", entries("node name or list", false, read_placement),
       rule("every module on the first node"), "placement of each module"},
      {"app.http.threads", integer(1, 1024, at(&a::http, &http_settings::threads)), value("32"),
       "HTTP pool size (a keep-alive connection holds a thread)"},
      {"app.http.max-body-bytes",
       integer(1024, 1 << 30, at(&a::http, &http_settings::max_body_bytes)), value("1048576"),
       "larger bodies get `413`"},
      {"app.http.request-timeout",
       timespan(millis{10}, min10, at(&a::http, &http_settings::request_timeout)), value("5s"),
       "a module that does not answer in time gives `503`"},
      {"app.http.max-queued-connections",
       integer(1, 100000, at(&a::http, &http_settings::max_queued_connections)), value("64"),
       "accepted connections waiting for a thread; the next gets `503` + `Retry-After`"},
      {"app.http.max-header-bytes",
       integer(1024, 1 << 20, at(&a::http, &http_settings::max_header_bytes)), value("32768"),
       "request line and headers; beyond, `400` or the connection closed"},
      {"app.http.header-timeout",
       timespan(millis{100}, min10, at(&a::http, &http_settings::header_timeout)), value("10s"),
       "to receive a request's line and headers (0.5 s while others wait for a thread)"},
      {"app.http.body-timeout",
       timespan(millis{100}, min10, at(&a::http, &http_settings::body_timeout)), value("30s"),
       "to receive a body once the headers came"},
      {"app.http.keep-alive-timeout",
       timespan(millis{0}, min10, at(&a::http, &http_settings::keep_alive_timeout)), value("2s"),
       "an idle kept-alive connection's wait for its next request (none while others wait)"},
      {"app.edge.host", string(at(&a::edge, &edge_settings::host)), value("\"127.0.0.1\""),
       "the edge's listen address (a host name or IP; IPv6 in brackets)"},
      {"app.edge.port", integer(0, 65535, at(&a::edge, &edge_settings::port)),
       value("0", "(the shipped file: 8080)"),
       "the edge's port; 0: no edge, clients reach the gateways"},
      {"app.edge.max-client-connections",
       integer(1, 100000, at(&a::edge, &edge_settings::max_client_connections)), value("256"),
       "open connections to the edge per client address; beyond, `503`"},
      {"app.admin.token", string(at(&a::admin_token)), value("\"\"", "(open on loopback only)"),
       "bearer token for `/admin/*`; required when the gateway or the edge listens on a "
       "non-loopback address"},
      {"app.database.dsn", string(at(&a::database, &database_settings::dsn)), value("\"\""),
       "bootstrap DSN (migrations, roles); `scripts/run` passes its cluster's"},
      {"app.database.role-prefix",
       string(at(&a::database, &database_settings::role_prefix), "string `[a-z0-9_]`"),
       value("\"\"", "(then `<database>_`)"),
       "module roles are `<prefix><module>` (`<database>`: the one the module's data lives in)"},
      {"app.database.module-dsn.MODULE", entries("string", true, read_module_dsn),
       rule("derived from its database's bootstrap DSN"),
       "a module's own DSN, for servers without trust auth"},
      {"app.databases.NAME", entries("string", true, read_database), none(),
       "the bootstrap DSN of another database (`NAME`: `[a-z][a-z0-9_-]`, not `main`), on this "
       "server or another"},
      {"app.module-database.MODULE", entries("string", true, read_module_database),
       value("\"" + database_settings::main + "\""),
       "the database the module's data lives in: `main` (`app.database.dsn`) or a name from "
       "`app.databases`; the node migrates and uses its schema, role, outbox, inbox and lease "
       "there (`examples/topology/separate-databases.conf`)"},
      {"app.database.pool-size", integer(1, 64, at(&a::database, &database_settings::pool_size)),
       value("4"), "database workers (connections) per module"},
      {"app.supervisor.max-restarts",
       integer(0, 1000, at(&a::supervisor, &supervisor_settings::max_restarts)), value("5"),
       "restarts of a module group allowed within `app.supervisor.restart-window`; one more "
       "and the node supervisor restarts the whole group"},
      {"app.supervisor.restart-window",
       timespan(ms1, day, at(&a::supervisor, &supervisor_settings::restart_window)), value("10s"),
       "the window in which `app.supervisor.max-restarts` are counted"},
      {"app.relay.poll-interval",
       timespan(ms1, min10, at(&a::relay, &relay_settings::poll_interval)), value("1s"),
       "outbox relay fallback poll (its writers wake it sooner)"},
      {"app.relay.batch-size", integer(1, 100000, at(&a::relay, &relay_settings::batch_size)),
       value("500"), "most events a relay round takes from the outbox"},
      {"app.relay.lease-ttl",
       timespan(millis{100}, min10, at(&a::relay, &relay_settings::lease_ttl)), value("2s"),
       "the relay lease (one relay per module sends its events): a standby takes over within "
       "it when its holder is gone"},
      {"app.relay.round-spacing",
       timespan(millis{0}, s1, at(&a::relay, &relay_settings::round_spacing)), value("3ms"),
       "a writer's wake-up starts a relay round no sooner than this after the last one, so that "
       "the commits of that time share one round's bookkeeping (bigger batches, that much more "
       "latency per hop)"},
      {"app.delivery.batch-size",
       integer(1, 10000, at(&a::delivery, &delivery_settings::batch_size)), value("256"),
       "events per delivery message to one consumer (a consumer applies all that queued up in "
       "one transaction)"},
      {"app.delivery.backoff-initial",
       timespan(ms1, day, at(&a::delivery, &delivery_settings::backoff_initial)), value("100ms"),
       "the first wait before an event delivery is retried (then doubled each time)"},
      {"app.delivery.backoff-max",
       timespan(ms1, day, at(&a::delivery, &delivery_settings::backoff_max)), value("30s"),
       "the longest wait between retries of an event delivery; at least "
       "`app.delivery.backoff-initial`"},
      {"app.delivery.max-attempts",
       integer(1, 1000, at(&a::delivery, &delivery_settings::max_attempts)), value("10"),
       "attempts to deliver an event to a consumer; after that many failures it is dead-lettered"},
      {"app.delivery.stale-after",
       timespan(ms1, day, at(&a::delivery, &delivery_settings::stale_after)), value("60s"),
       "older pending events are reported by `/ready`"},
      {"app.notifications.outbox-file", string(at(&a::notifications_outbox_file), "path"),
       value("\"var/notifications.jsonl\""),
       "where the file sender appends one JSON line per notification"},
      {"app.bus.backend",
       string(at(&a::bus, &bus_settings::backend), "`actors`, `redis`, `nats` or `rabbitmq`"),
       value("\"actors\""), "the event bus (`docs/architecture.md`, \"Bus backends\")"},
      {"app.bus.partitions", integer(1, 1024, at(&a::bus, &bus_settings::partitions)), value("8"),
       "streams per publishing module on a broker"},
      {"app.bus.redis-host", string(at(&a::bus, &bus_settings::redis_host)), value("\"127.0.0.1\""),
       "the Redis server's host"},
      {"app.bus.redis-port", integer(1, 65535, at(&a::bus, &bus_settings::redis_port)),
       value("6379"), "the Redis server's port"},
      {"app.bus.nats-host", string(at(&a::bus, &bus_settings::nats_host)), value("\"127.0.0.1\""),
       "the NATS server's host (JetStream on)"},
      {"app.bus.nats-port", integer(1, 65535, at(&a::bus, &bus_settings::nats_port)), value("4222"),
       "the NATS server's port"},
      {"app.bus.rabbitmq-host", string(at(&a::bus, &bus_settings::rabbitmq_host)),
       value("\"127.0.0.1\""), "the RabbitMQ server's host"},
      {"app.bus.rabbitmq-port", integer(1, 65535, at(&a::bus, &bus_settings::rabbitmq_port)),
       value("5672"), "the RabbitMQ server's port"},
      {"app.bus.rabbitmq-user", string(at(&a::bus, &bus_settings::rabbitmq_user)),
       value("\"guest\""), "the RabbitMQ user (RabbitMQ lets `guest` in from localhost only)"},
      {"app.bus.rabbitmq-password", string(at(&a::bus, &bus_settings::rabbitmq_password)),
       value("\"guest\""), "the RabbitMQ user's password"},
      {"app.bus.rabbitmq-vhost", string(at(&a::bus, &bus_settings::rabbitmq_vhost)), value("\"/\""),
       "the RabbitMQ virtual host"},
      {"app.bus.key-prefix", string(at(&a::bus, &bus_settings::key_prefix), "string without `:`"),
       value("\"monolith\""),
       "stream, subject, exchange, queue and lease names start with it (one broker can serve "
       "several systems)"},
      {"app.bus.stream-maxlen",
       integer(1000, int64_t{1} << 40, at(&a::bus, &bus_settings::stream_maxlen)), value("1000000"),
       "most entries a Redis stream, NATS subject or RabbitMQ partition queue holds; a full one "
       "refuses events (they wait in the outbox), it never drops any; at least "
       "`app.relay.batch-size`"},
      {"app.bus.reader-lease-ttl",
       timespan(millis{300}, min10, at(&a::bus, &bus_settings::reader_lease_ttl)), value("2s"),
       "one active reader per (consumer, stream); on NATS also the `AckWait`; on RabbitMQ (no "
       "leases) twice the period at which readers report their backlog and rebalance"},
      {"app.bus.claim-idle", timespan(millis{100}, day, at(&a::bus, &bus_settings::claim_idle)),
       value("5s"), "Redis: the sweep that claims entries left pending by a reader that went away"},
      {"app.retention.interval",
       timespan(millis{100}, day, at(&a::retention, &retention_settings::interval)), value("60s"),
       "between two pruning passes of a module (see \"Retention\")"},
      {"app.retention.batch-size",
       integer(10, 100000, at(&a::retention, &retention_settings::batch_size)), value("1000"),
       "rows per `DELETE` (one short transaction each)"},
      {"app.retention.outbox",
       timespan(ms1, 3650 * day, at(&a::retention, &retention_settings::outbox)), week,
       "published events with no delivery row left"},
      {"app.retention.inbox",
       timespan(ms1, 3650 * day, at(&a::retention, &retention_settings::inbox)), week,
       "consumers' records of handled events; at least `max-attempts` x `backoff-max`"},
      {"app.retention.deliveries",
       timespan(ms1, 3650 * day, at(&a::retention, &retention_settings::deliveries)), week,
       "delivered delivery rows and discarded dead letters, since their last change"},
      {"app.retention.idempotency-keys",
       timespan(day, 3650 * day, at(&a::retention, &retention_settings::idempotency_keys)),
       value("48h"), "`Idempotency-Key`s of `POST /orders`"},
      {"app.remote.request-timeout", timespan(millis{10}, min10, at(&a::remote_request_timeout)),
       value("800ms"), "cross-node requests"},
      {"app.remote.insecure", boolean(at(&a::remote_insecure)), value("false"),
       "let nodes link over non-loopback addresses without TLS"},
      {"app.tls.certificate", string(at(&a::tls, &tls_settings::certificate), "path"),
       value("\"\""),
       "this node's certificate for the links between nodes (mutual TLS); `certificate`, "
       "`key` and `cafile` all three or none"},
      {"app.tls.key", string(at(&a::tls, &tls_settings::key), "path"), value("\"\""),
       "the private key of `app.tls.certificate`"},
      {"app.tls.cafile", string(at(&a::tls, &tls_settings::cafile), "path"), value("\"\""),
       "the cluster's CA: every peer's certificate chain is checked against it"},
  };
}

} // namespace

caf::config_value setting::default_value() const {
  auto parsed = caf::config_value::parse(fallback.value.value_or(""));
  if (!parsed)
    throw std::logic_error(key + ": the default " + fallback.value.value_or("(none)") +
                           " is not a configuration value");
  return std::move(*parsed);
}

const std::vector<setting>& settings_schema() {
  static const std::vector<setting> schema = make_schema();
  return schema;
}

const setting* find_setting(const std::string& key) {
  for (auto& entry : settings_schema())
    if (!entry.has_variable_part() && entry.key == key)
      return &entry;
  return nullptr;
}

const setting* find_section(const std::string& section) {
  for (auto& entry : settings_schema())
    if (entry.has_variable_part() && entry.section() == section)
      return &entry;
  return nullptr;
}

} // namespace config
