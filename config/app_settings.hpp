// The validated settings of one process: what caf-application.conf and the command line
// say, after every key has been checked (see settings_reader.cpp). Plain data; no CAF.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace config {

using millis = std::chrono::milliseconds;

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
  int threads = 32;
  std::size_t max_body_bytes = 1048576;
  millis request_timeout{5000};
  int max_queued_connections = 64; // beyond, a connection gets 503 with Retry-After
  std::size_t max_header_bytes = 32768;
  millis header_timeout{10000};
  millis body_timeout{30000};
  millis keep_alive_timeout{2000};
};

// The reverse proxy (nginx) that scripts/run puts in front of every gateway of the
// topology, on the public address (http/edge_config.hpp); port 0: none.
struct edge_settings {
  std::string host = "127.0.0.1";
  int port = 0;
  int max_client_connections = 256; // open connections per client address
  bool enabled() const { return port != 0; }
};

// Where the modules' data lives. Every module's schema, role, outbox, inbox and lease live
// in one database: the main one (`dsn`) unless app.module-database names another of
// app.databases, each given by its own bootstrap DSN (on the same server or another).
struct database_settings {
  std::string dsn;                               // bootstrap DSN: migrations and role creation only
  std::string role_prefix;                       // module roles are <role_prefix><module>
  std::map<std::string, std::string> module_dsn; // explicit per-module DSNs
  int pool_size = 4;                             // connections per module
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
  int max_restarts = 5;
  millis restart_window{10000};
};

struct relay_settings {
  millis poll_interval{1000};
  int batch_size = 500;
  millis lease_ttl{2000};
  // A writer's wake-up starts a round no sooner than this after the last one: the commits
  // of that time share one round (its bookkeeping statements), at that much latency.
  millis round_spacing{3};
};

struct delivery_settings {
  int batch_size = 256; // events per delivery message to one consumer
  millis backoff_initial{100};
  millis backoff_max{30000};
  int max_attempts = 10;
  millis stale_after{60000};
};

// What each module deletes, and when (actors/retention.hpp): rows older than these ages
// that nothing pending needs any more. A consumer's inbox entry must outlive every
// redelivery of its event that can still come (the retry schedule; a dead letter
// replayed by an operator): see the README, "Retention".
struct retention_settings {
  millis interval{60000};                  // between two pruning passes of a module
  int batch_size = 1000;                   // rows per DELETE: short locks, short transactions
  millis outbox{7LL * 86400000};           // published events
  millis inbox{7LL * 86400000};            // consumers' records of handled events
  millis deliveries{7LL * 86400000};       // finished delivery rows and discarded dead letters
  millis idempotency_keys{2LL * 86400000}; // the HTTP contract keeps them at least 24 h
};

// The event bus: `actors` (the default: CAF messages, the outbox as the only store) or a
// broker. On a broker, events are spread by aggregate id over `partitions` streams per
// publishing module, and each partition is read by one active reader per consumer.
struct bus_settings {
  std::string backend = "actors"; // actors | redis | nats | rabbitmq
  int partitions = 8;
  std::string redis_host = "127.0.0.1";
  int redis_port = 6379;
  std::string nats_host = "127.0.0.1";
  int nats_port = 4222;
  std::string rabbitmq_host = "127.0.0.1";
  int rabbitmq_port = 5672;
  std::string rabbitmq_user = "guest";
  std::string rabbitmq_password = "guest";
  std::string rabbitmq_vhost = "/";
  std::string key_prefix = "monolith"; // stream and lease keys start with it
  int64_t stream_maxlen = 1000000;     // XADD MAXLEN ~: entries kept per stream
  millis claim_idle{5000};       // pending entries of a dead reader idle this long are claimed
  millis reader_lease_ttl{2000}; // one active reader per (consumer, partition)
  bool on_broker() const { return backend != "actors"; }
};

struct tls_settings {
  std::string certificate;
  std::string key;
  std::string cafile;
  bool enabled() const { return !certificate.empty(); }
};

struct app_settings {
  std::string node = "main";
  std::vector<node_endpoint> nodes;
  std::map<std::string, std::vector<std::string>> placement; // module -> nodes
  http_settings http;
  edge_settings edge;
  std::string admin_token;
  database_settings database;
  supervisor_settings supervisor;
  relay_settings relay;
  delivery_settings delivery;
  retention_settings retention;
  std::string notifications_outbox_file = "var/notifications.jsonl";
  bus_settings bus;
  millis remote_request_timeout{800};
  bool remote_insecure = false; // nodes may link over the network without TLS
  tls_settings tls;

  const node_endpoint& this_node() const;
  // Whether `module` is placed on this process's node.
  bool runs_here(const std::string& module) const;
};

} // namespace config
