// The validated settings of one process: what caf-application.conf and the command line
// say, after every key has been checked (see settings_reader.cpp). Plain data; no CAF.
// The defaults are not written here: every key's default is in the settings schema
// (settings_schema.cpp), and a default-constructed app_settings, or any of its sections,
// holds them (defaults()).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace config {

using millis = std::chrono::milliseconds;

// Builds a section with every field empty or zero: only defaults() does, to fill one from
// the schema; everything else takes the defaults.
struct no_defaults_t {};
inline constexpr no_defaults_t no_defaults{};

// One process of the cluster: its BASP endpoint, and an HTTP endpoint if it runs the
// gateway.
struct node_endpoint {
  std::string name;
  std::string host;
  uint16_t port = 0;
  std::optional<std::string> http_host;
  std::optional<uint16_t> http_port;

  bool runs_gateway() const { return http_port.has_value(); }
};

struct http_settings {
  http_settings(); // the defaults
  explicit http_settings(no_defaults_t) {}

  int threads{};
  std::size_t max_body_bytes{};
  millis request_timeout{};
  int max_queued_connections{}; // beyond, a connection gets 503 with Retry-After
  std::size_t max_header_bytes{};
  millis header_timeout{};
  millis body_timeout{};
  millis keep_alive_timeout{};
};

// The reverse proxy (nginx) that scripts/run puts in front of every gateway of the
// topology, on the public address (http/edge_config.hpp); port 0: none.
struct edge_settings {
  edge_settings(); // the defaults
  explicit edge_settings(no_defaults_t) {}

  std::string host;
  int port{};
  int max_client_connections{}; // open connections per client address
  bool enabled() const { return port != 0; }
};

// Where the modules' data lives. Every module's schema, role, outbox, inbox and lease live
// in one database: the main one (`dsn`) unless app.module-database names another of
// app.databases, each given by its own bootstrap DSN (on the same server or another).
struct database_settings {
  database_settings(); // the defaults
  explicit database_settings(no_defaults_t) {}

  std::string dsn;                               // bootstrap DSN: migrations and role creation only
  std::string role_prefix;                       // module roles are <role_prefix><module>
  std::map<std::string, std::string> module_dsn; // explicit per-module DSNs
  int pool_size{};                               // connections per module
  std::map<std::string, std::string> servers;    // app.databases: name -> bootstrap DSN
  std::map<std::string, std::string> module_database; // app.module-database: module -> name

  static inline const std::string main = "main"; // the name of `dsn` among the databases

  // The database `module`'s data lives in: its app.module-database entry, else main.
  const std::string& database_of(const std::string& module) const {
    auto placed = module_database.find(module);
    return placed == module_database.end() ? main : placed->second;
  }
  // The bootstrap DSN of a database by name (checked by read_settings: every name used
  // is main or one of `servers`).
  const std::string& bootstrap_dsn(const std::string& database) const {
    auto server = servers.find(database);
    return server == servers.end() ? dsn : server->second;
  }
};

struct supervisor_settings {
  supervisor_settings(); // the defaults
  explicit supervisor_settings(no_defaults_t) {}

  int max_restarts{};
  millis restart_window{};
};

struct relay_settings {
  relay_settings(); // the defaults
  explicit relay_settings(no_defaults_t) {}

  millis poll_interval{};
  int batch_size{};
  millis lease_ttl{};
  // A writer's wake-up starts a round no sooner than this after the last one: the commits
  // of that time share one round (its bookkeeping statements), at that much latency.
  millis round_spacing{};
};

struct delivery_settings {
  delivery_settings(); // the defaults
  explicit delivery_settings(no_defaults_t) {}

  int batch_size{}; // events per delivery message to one consumer
  millis backoff_initial{};
  millis backoff_max{};
  int max_attempts{};
  millis stale_after{};
};

// What each module deletes, and when (actors/retention.hpp): rows older than these ages
// that nothing pending needs any more. A consumer's inbox entry must outlive every
// redelivery of its event that can still come (the retry schedule; a dead letter
// replayed by an operator): see the README, "Retention".
struct retention_settings {
  retention_settings(); // the defaults
  explicit retention_settings(no_defaults_t) {}

  millis interval{};         // between two pruning passes of a module
  int batch_size{};          // rows per DELETE: short locks, short transactions
  millis outbox{};           // published events
  millis inbox{};            // consumers' records of handled events
  millis deliveries{};       // finished delivery rows and discarded dead letters
  millis idempotency_keys{}; // the HTTP contract keeps them at least 24 h
};

// The event bus: `actors` (the default: CAF messages, the outbox as the only store) or a
// broker. On a broker, events are spread by aggregate id over `partitions` streams per
// publishing module, and each partition is read by one active reader per consumer.
struct bus_settings {
  bus_settings(); // the defaults
  explicit bus_settings(no_defaults_t) {}

  std::string backend; // actors | redis | nats | rabbitmq
  int partitions{};
  std::string redis_host;
  int redis_port{};
  std::string nats_host;
  int nats_port{};
  std::string rabbitmq_host;
  int rabbitmq_port{};
  std::string rabbitmq_user;
  std::string rabbitmq_password;
  std::string rabbitmq_vhost;
  std::string key_prefix;    // stream and lease keys start with it
  int64_t stream_maxlen{};   // XADD MAXLEN ~: entries kept per stream
  millis claim_idle{};       // pending entries of a dead reader idle this long are claimed
  millis reader_lease_ttl{}; // one active reader per (consumer, partition)
  bool on_broker() const { return backend != "actors"; }
};

struct tls_settings {
  tls_settings(); // the defaults
  explicit tls_settings(no_defaults_t) {}

  std::string certificate;
  std::string key;
  std::string cafile;
  bool enabled() const { return !certificate.empty(); }
};

struct app_settings {
  app_settings(); // the defaults
  explicit app_settings(no_defaults_t) {}

  std::string node;
  std::vector<node_endpoint> nodes;
  std::map<std::string, std::vector<std::string>> placement; // module -> nodes
  http_settings http{no_defaults};
  edge_settings edge{no_defaults};
  std::string admin_token;
  database_settings database{no_defaults};
  supervisor_settings supervisor{no_defaults};
  relay_settings relay{no_defaults};
  delivery_settings delivery{no_defaults};
  retention_settings retention{no_defaults};
  std::string notifications_outbox_file;
  bus_settings bus{no_defaults};
  millis remote_request_timeout{};
  bool remote_insecure{}; // nodes may link over the network without TLS
  tls_settings tls{no_defaults};

  const node_endpoint& this_node() const;
  // Whether `module` is placed on this process's node.
  bool runs_here(const std::string& module) const;
};

// Every key's default, from the settings schema, read once by the keys' own readers.
const app_settings& defaults();

} // namespace config
