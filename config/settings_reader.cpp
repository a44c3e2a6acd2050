// Reads and checks every app.* key (see settings_reader.hpp). Each key has one entry in
// the table below: its type, its allowed range, and where it goes in app_settings.
#include "config/settings_reader.hpp"

#include <caf/config_value.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/dictionary.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <regex>
#include <set>

namespace config {

namespace {

using problems = std::vector<std::string>;

std::string show(const caf::config_value& value) {
  return caf::to_string(value);
}

// One checker per value type; each reports "<key> <what is wrong>" on failure.
struct key_reader {
  const std::string& key;
  const caf::config_value& value;
  problems& out;

  bool fail(const std::string& what) {
    out.push_back(key + ": " + what + " (got " + show(value) + ")");
    return false;
  }

  bool integer(int64_t min, int64_t max, int64_t& result) {
    auto x = caf::get_if<int64_t>(&value);
    if (!x || *x < min || *x > max)
      return fail("must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    result = *x;
    return true;
  }

  bool timespan(millis min, millis max, millis& result) {
    auto x = caf::get_if<caf::timespan>(&value);
    if (!x)
      return fail("must be a timespan such as 500ms or 2s");
    auto ms = std::chrono::duration_cast<millis>(*x);
    if (ms < min || ms > max)
      return fail("must be from " + std::to_string(min.count()) + "ms to " +
                  std::to_string(max.count()) + "ms");
    result = ms;
    return true;
  }

  bool boolean(bool& result) {
    auto x = caf::get_if<bool>(&value);
    if (!x)
      return fail("must be true or false");
    result = *x;
    return true;
  }

  bool string(std::string& result) {
    auto x = caf::get_if<std::string>(&value);
    if (!x)
      return fail("must be a string in double quotes");
    result = *x;
    return true;
  }
};

struct key_spec {
  bool takes_string;
  std::function<void(key_reader&, app_settings&)> read;
};

const std::map<std::string, key_spec>& fixed_keys() {
  static const std::map<std::string, key_spec> keys = [] {
    std::map<std::string, key_spec> k;
    auto integer = [](int64_t min, int64_t max, std::function<void(app_settings&, int64_t)> set) {
      return key_spec{false, [=](key_reader& r, app_settings& s) {
                        int64_t v = 0;
                        if (r.integer(min, max, v))
                          set(s, v);
                      }};
    };
    auto timespan = [](millis min, millis max, std::function<millis&(app_settings&)> field) {
      return key_spec{false,
                      [=](key_reader& r, app_settings& s) { r.timespan(min, max, field(s)); }};
    };
    auto string = [](std::function<std::string&(app_settings&)> field) {
      return key_spec{true, [=](key_reader& r, app_settings& s) { r.string(field(s)); }};
    };
    using std::chrono::hours;
    const millis ms1{1}, day = hours{24};
    k.emplace("app.node", string([](app_settings & s) -> auto& { return s.node; }));
    k.emplace("app.http.threads",
              integer(1, 1024, [](app_settings& s, int64_t v) { s.http.threads = int(v); }));
    k.emplace("app.http.max-body-bytes", integer(1024, 1 << 30, [](app_settings& s, int64_t v) {
                s.http.max_body_bytes = std::size_t(v);
              }));
    k.emplace("app.http.request-timeout",
              timespan(
                  millis{10}, millis{600000},
                  [](app_settings & s) -> auto& { return s.http.request_timeout; }));
    k.emplace("app.http.max-queued-connections", integer(1, 100000, [](app_settings& s, int64_t v) {
                s.http.max_queued_connections = int(v);
              }));
    k.emplace("app.http.max-header-bytes", integer(1024, 1 << 20, [](app_settings& s, int64_t v) {
                s.http.max_header_bytes = std::size_t(v);
              }));
    k.emplace("app.http.header-timeout",
              timespan(
                  millis{100}, millis{600000},
                  [](app_settings & s) -> auto& { return s.http.header_timeout; }));
    k.emplace("app.http.body-timeout",
              timespan(
                  millis{100}, millis{600000},
                  [](app_settings & s) -> auto& { return s.http.body_timeout; }));
    k.emplace("app.http.keep-alive-timeout",
              timespan(
                  millis{0}, millis{600000},
                  [](app_settings & s) -> auto& { return s.http.keep_alive_timeout; }));
    k.emplace("app.edge.host", string([](app_settings & s) -> auto& { return s.edge.host; }));
    k.emplace("app.edge.port",
              integer(0, 65535, [](app_settings& s, int64_t v) { s.edge.port = int(v); }));
    k.emplace("app.edge.max-client-connections", integer(1, 100000, [](app_settings& s, int64_t v) {
                s.edge.max_client_connections = int(v);
              }));
    k.emplace("app.admin.token", string([](app_settings & s) -> auto& { return s.admin_token; }));
    k.emplace("app.database.dsn", string([](app_settings & s) -> auto& { return s.database.dsn; }));
    k.emplace("app.database.role-prefix",
              string([](app_settings & s) -> auto& { return s.database.role_prefix; }));
    k.emplace("app.database.pool-size",
              integer(1, 64, [](app_settings& s, int64_t v) { s.database.pool_size = int(v); }));
    k.emplace("app.supervisor.max-restarts", integer(0, 1000, [](app_settings& s, int64_t v) {
                s.supervisor.max_restarts = int(v);
              }));
    k.emplace("app.supervisor.restart-window",
              timespan(
                  ms1, day, [](app_settings & s) -> auto& { return s.supervisor.restart_window; }));
    k.emplace("app.relay.poll-interval", timespan(
                                             ms1, millis{600000}, [](app_settings & s) -> auto& {
                                               return s.relay.poll_interval;
                                             }));
    k.emplace("app.relay.batch-size",
              integer(1, 100000, [](app_settings& s, int64_t v) { s.relay.batch_size = int(v); }));
    k.emplace("app.relay.round-spacing",
              timespan(
                  millis{0}, millis{1000},
                  [](app_settings & s) -> auto& { return s.relay.round_spacing; }));
    k.emplace("app.relay.lease-ttl",
              timespan(
                  millis{100}, millis{600000},
                  [](app_settings & s) -> auto& { return s.relay.lease_ttl; }));
    k.emplace("app.delivery.backoff-initial",
              timespan(
                  ms1, day, [](app_settings & s) -> auto& { return s.delivery.backoff_initial; }));
    k.emplace("app.delivery.backoff-max",
              timespan(
                  ms1, day, [](app_settings & s) -> auto& { return s.delivery.backoff_max; }));
    k.emplace("app.delivery.batch-size", integer(1, 10000, [](app_settings& s, int64_t v) {
                s.delivery.batch_size = int(v);
              }));
    k.emplace("app.delivery.max-attempts", integer(1, 1000, [](app_settings& s, int64_t v) {
                s.delivery.max_attempts = int(v);
              }));
    k.emplace("app.delivery.stale-after",
              timespan(
                  ms1, day, [](app_settings & s) -> auto& { return s.delivery.stale_after; }));
    k.emplace("app.retention.interval", timespan(
                                            millis{100}, day, [](app_settings & s) -> auto& {
                                              return s.retention.interval;
                                            }));
    k.emplace("app.retention.batch-size", integer(10, 100000, [](app_settings& s, int64_t v) {
                s.retention.batch_size = int(v);
              }));
    k.emplace("app.retention.outbox",
              timespan(
                  ms1, 3650 * day, [](app_settings & s) -> auto& { return s.retention.outbox; }));
    k.emplace("app.retention.inbox",
              timespan(
                  ms1, 3650 * day, [](app_settings & s) -> auto& { return s.retention.inbox; }));
    k.emplace("app.retention.deliveries", timespan(
                                              ms1, 3650 * day, [](app_settings & s) -> auto& {
                                                return s.retention.deliveries;
                                              }));
    k.emplace("app.retention.idempotency-keys", timespan(
                                                    day, 3650 * day, [](app_settings & s) -> auto& {
                                                      return s.retention.idempotency_keys;
                                                    }));
    k.emplace("app.notifications.outbox-file",
              string([](app_settings & s) -> auto& { return s.notifications_outbox_file; }));
    k.emplace("app.bus.backend", string([](app_settings & s) -> auto& { return s.bus.backend; }));
    k.emplace("app.bus.partitions",
              integer(1, 1024, [](app_settings& s, int64_t v) { s.bus.partitions = int(v); }));
    k.emplace("app.bus.redis-host",
              string([](app_settings & s) -> auto& { return s.bus.redis_host; }));
    k.emplace("app.bus.redis-port",
              integer(1, 65535, [](app_settings& s, int64_t v) { s.bus.redis_port = int(v); }));
    k.emplace("app.bus.nats-host",
              string([](app_settings & s) -> auto& { return s.bus.nats_host; }));
    k.emplace("app.bus.nats-port",
              integer(1, 65535, [](app_settings& s, int64_t v) { s.bus.nats_port = int(v); }));
    k.emplace("app.bus.rabbitmq-host",
              string([](app_settings & s) -> auto& { return s.bus.rabbitmq_host; }));
    k.emplace("app.bus.rabbitmq-port",
              integer(1, 65535, [](app_settings& s, int64_t v) { s.bus.rabbitmq_port = int(v); }));
    k.emplace("app.bus.rabbitmq-user",
              string([](app_settings & s) -> auto& { return s.bus.rabbitmq_user; }));
    k.emplace("app.bus.rabbitmq-password",
              string([](app_settings & s) -> auto& { return s.bus.rabbitmq_password; }));
    k.emplace("app.bus.rabbitmq-vhost",
              string([](app_settings & s) -> auto& { return s.bus.rabbitmq_vhost; }));
    k.emplace("app.bus.key-prefix",
              string([](app_settings & s) -> auto& { return s.bus.key_prefix; }));
    k.emplace("app.bus.stream-maxlen",
              integer(1000, int64_t{1} << 40,
                      [](app_settings& s, int64_t v) { s.bus.stream_maxlen = v; }));
    k.emplace("app.bus.claim-idle",
              timespan(
                  millis{100}, day, [](app_settings & s) -> auto& { return s.bus.claim_idle; }));
    k.emplace("app.bus.reader-lease-ttl",
              timespan(
                  millis{300}, millis{600000},
                  [](app_settings & s) -> auto& { return s.bus.reader_lease_ttl; }));
    k.emplace("app.remote.insecure", key_spec{false, [](key_reader& r, app_settings& s) {
                                                r.boolean(s.remote_insecure);
                                              }});
    k.emplace("app.remote.request-timeout",
              timespan(
                  millis{10}, millis{600000},
                  [](app_settings & s) -> auto& { return s.remote_request_timeout; }));
    k.emplace("app.tls.certificate",
              string([](app_settings & s) -> auto& { return s.tls.certificate; }));
    k.emplace("app.tls.key", string([](app_settings & s) -> auto& { return s.tls.key; }));
    k.emplace("app.tls.cafile", string([](app_settings & s) -> auto& { return s.tls.cafile; }));
    return k;
  }();
  return keys;
}

const std::regex& name_pattern() {
  static const std::regex re{"[a-z][a-z0-9_-]{0,39}"};
  return re;
}

void read_node(const std::string& name, const caf::config_value& value, app_settings& s,
               problems& out) {
  const std::string key = "app.nodes." + name;
  auto dict = caf::get_if<caf::config_value::dictionary>(&value);
  if (!dict) {
    out.push_back(key +
                  ": must be { host = \"...\", port = N, http-host = \"...\", http-port = N }");
    return;
  }
  node_endpoint node;
  node.name = name;
  bool has_host = false, has_port = false;
  for (auto& [field, v] : *dict) {
    const std::string field_key = key + "." + field;
    key_reader r{field_key, v, out};
    int64_t port = 0;
    std::string text;
    if (field == "host") {
      has_host = r.string(node.host) && (!node.host.empty() || r.fail("must not be empty"));
    } else if (field == "port") {
      has_port = r.integer(1, 65535, port);
      node.port = uint16_t(port);
    } else if (field == "http-host") {
      if (r.string(text))
        node.http_host = text;
    } else if (field == "http-port") {
      if (r.integer(1, 65535, port))
        node.http_port = uint16_t(port);
    } else {
      out.push_back(field_key + ": unknown key (allowed: host, port, http-host, http-port)");
    }
  }
  if (!has_host && !dict->count("host"))
    out.push_back(key + ".host: missing");
  if (!has_port && !dict->count("port"))
    out.push_back(key + ".port: missing");
  if (node.http_host && !node.http_port)
    out.push_back(key + ".http-port: missing (http-host is set)");
  if (node.http_port && !node.http_host)
    node.http_host = node.host;
  if (!std::regex_match(name, name_pattern()))
    out.push_back(key + ": node names are 1..40 of [a-z0-9_-], starting with a letter");
  s.nodes.push_back(std::move(node));
}

void read_placement(const std::string& module, const caf::config_value& value,
                    const module_names& known, app_settings& s, problems& out) {
  const std::string key = "app.modules." + module;
  if (std::find(known.begin(), known.end(), module) == known.end()) {
    std::string list;
    for (auto& m : known)
      list += (list.empty() ? "" : ", ") + m;
    out.push_back(key + ": unknown module (known: " + list + ")");
    return;
  }
  std::vector<std::string> nodes;
  if (auto one = caf::get_if<std::string>(&value)) {
    nodes.push_back(*one);
  } else if (auto many = caf::get_if<caf::config_value::list>(&value)) {
    for (auto& item : *many) {
      auto name = caf::get_if<std::string>(&item);
      if (!name) {
        out.push_back(key + ": must be a node name or a list of node names");
        return;
      }
      nodes.push_back(*name);
    }
  } else {
    out.push_back(key + ": must be a node name or a list of node names (got " + show(value) + ")");
    return;
  }
  if (nodes.empty())
    out.push_back(key + ": the list of nodes must not be empty");
  s.placement[module] = std::move(nodes);
}

// Names every leaf of an unknown entry, so that a typo is reported as it was written.
void report_unknown(const std::string& key, const caf::config_value& value, problems& out) {
  if (auto dict = caf::get_if<caf::config_value::dictionary>(&value); dict && !dict->empty()) {
    for (auto& [name, sub] : *dict)
      report_unknown(key + "." + name, sub, out);
    return;
  }
  out.push_back(key + ": unknown key (see the configuration table in README.md)");
}

void read_tree(const std::string& prefix, const caf::config_value::dictionary& dict,
               const module_names& known, app_settings& s, problems& out) {
  for (auto& [name, value] : dict) {
    const std::string key = prefix + "." + name;
    if (key == "app.nodes" || key == "app.modules" || key == "app.database.module-dsn" ||
        key == "app.databases" || key == "app.module-database") {
      auto entries = caf::get_if<caf::config_value::dictionary>(&value);
      if (!entries) {
        out.push_back(key + ": must be a section of entries");
        continue;
      }
      for (auto& [entry, v] : *entries) {
        if (key == "app.nodes") {
          read_node(entry, v, s, out);
        } else if (key == "app.modules") {
          read_placement(entry, v, known, s, out);
        } else if (key == "app.databases") {
          key_reader r{key + "." + entry, v, out};
          std::string dsn;
          if (r.string(dsn))
            s.database.servers[entry] = dsn;
        } else if (key == "app.module-database") {
          key_reader r{key + "." + entry, v, out};
          std::string database;
          if (std::find(known.begin(), known.end(), entry) == known.end())
            out.push_back(key + "." + entry + ": unknown module");
          else if (r.string(database))
            s.database.module_database[entry] = database;
        } else {
          std::string dsn;
          key_reader r{key + "." + entry, v, out};
          if (std::find(known.begin(), known.end(), entry) == known.end())
            out.push_back(key + "." + entry + ": unknown module");
          else if (r.string(dsn))
            s.database.module_dsn[entry] = dsn;
        }
      }
      continue;
    }
    if (auto spec = fixed_keys().find(key); spec != fixed_keys().end()) {
      key_reader r{key, value, out};
      spec->second.read(r, s);
      continue;
    }
    if (auto sub = caf::get_if<caf::config_value::dictionary>(&value)) {
      bool is_section = std::any_of(fixed_keys().begin(), fixed_keys().end(), [&](auto& entry) {
        return entry.first.rfind(key + ".", 0) == 0;
      });
      if (is_section) {
        read_tree(key, *sub, known, s, out);
        continue;
      }
    }
    report_unknown(key, value, out);
  }
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" ||
         std::regex_match(host, std::regex{"127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}"});
}

// The edge's configuration file is generated from these values: only plain host names
// and addresses reach it.
bool is_plain_host(const std::string& host) {
  return std::regex_match(host, std::regex{"[A-Za-z0-9.-]{1,253}|\\[[0-9A-Fa-f:.]{2,45}\\]"});
}

void check_edge(const app_settings& s, std::set<std::pair<std::string, uint16_t>>& addresses,
                problems& out) {
  if (!s.edge.enabled())
    return;
  if (!is_plain_host(s.edge.host))
    out.push_back("app.edge.host: must be a host name or an IP address (IPv6 in brackets)");
  if (!addresses.emplace(s.edge.host, uint16_t(s.edge.port)).second)
    out.push_back("app.edge: address " + s.edge.host + ":" + std::to_string(s.edge.port) +
                  " is used twice");
  bool any_gateway = false;
  for (auto& n : s.nodes)
    if (n.runs_gateway()) {
      any_gateway = true;
      if (!is_plain_host(*n.http_host))
        out.push_back("app.nodes." + n.name +
                      ".http-host: must be a host name or an IP address for the edge");
    }
  if (!any_gateway)
    out.push_back("app.edge: no node runs a gateway (give one an http-port)");
  // The edge forwards to gateways on loopback, which answer /admin/* without a token.
  if (s.admin_token.empty() && !is_loopback_host(s.edge.host))
    out.push_back("app.admin.token: required when the edge listens on a non-loopback address "
                  "(app.edge.host = \"" +
                  s.edge.host + "\"): without it /admin/* would be open to the network");
}

// Any process that reaches a node port is a peer of the cluster: beyond this machine,
// only with TLS (app.tls: both ends show a certificate of the cluster's CA), or when the
// operator says so in as many words.
void check_node_links(const app_settings& s, problems& out) {
  if (s.nodes.size() < 2 || s.tls.enabled() || s.remote_insecure)
    return;
  for (auto& n : s.nodes)
    if (!is_loopback_host(n.host)) {
      out.push_back("app.tls: required when nodes link over the network (app.nodes." + n.name +
                    ".host = \"" + n.host +
                    "\"): without it any process that reaches a node port joins the "
                    "cluster (or set app.remote.insecure = true)");
      return;
    }
}

// The databases a module's data may live in: named plainly (the name shows in /ready and
// in the topology), "main" being app.database.dsn itself, and every module placed on one
// that exists.
void check_databases(const database_settings& d, problems& out) {
  static const std::regex name{"[a-z][a-z0-9_-]{0,62}"};
  for (auto& [database, dsn] : d.servers) {
    if (database == database_settings::main)
      out.push_back("app.databases.main: reserved for app.database.dsn (name the other "
                    "databases otherwise)");
    else if (!std::regex_match(database, name))
      out.push_back("app.databases." + database +
                    ": a name must be 1..63 of [a-z0-9_-], starting with a letter");
    if (dsn.empty())
      out.push_back("app.databases." + database + ": must be a bootstrap DSN");
  }
  for (auto& [module, database] : d.module_database)
    if (database != database_settings::main && !d.servers.count(database))
      out.push_back("app.module-database." + module + ": unknown database \"" + database +
                    "\" (name one of [app.databases], or main)");
}

void check_consistency(app_settings& s, const module_names& known, problems& out) {
  if (s.nodes.empty())
    s.nodes.push_back(node_endpoint{"main", "127.0.0.1", 4200, "127.0.0.1", 8080});
  if (s.placement.empty())
    for (auto& m : known)
      s.placement[m] = {s.nodes.front().name};
  std::set<std::string> node_names;
  std::set<std::pair<std::string, uint16_t>> addresses;
  for (auto& n : s.nodes) {
    node_names.insert(n.name);
    if (n.port != 0 && !addresses.emplace(n.host, n.port).second)
      out.push_back("app.nodes." + n.name + ": address " + n.host + ":" + std::to_string(n.port) +
                    " is used twice");
    if (n.http_port && !addresses.emplace(*n.http_host, *n.http_port).second)
      out.push_back("app.nodes." + n.name + ": address " + *n.http_host + ":" +
                    std::to_string(*n.http_port) + " is used twice");
  }
  if (!node_names.count(s.node))
    out.push_back("app.node: \"" + s.node + "\" is not a node listed under [app.nodes]");
  for (auto& m : known) {
    auto placed = s.placement.find(m);
    if (placed == s.placement.end()) {
      out.push_back("app.modules." + m + ": module placed nowhere (name a node from [app.nodes])");
      continue;
    }
    for (auto& n : placed->second)
      if (!node_names.count(n))
        out.push_back("app.modules." + m + ": unknown node \"" + n + "\"");
  }
  // The admin API acts on every module's events: with no token it answers only where
  // nobody but this machine can reach it.
  for (auto& n : s.nodes)
    if (n.name == s.node && n.runs_gateway() && s.admin_token.empty() &&
        !is_loopback_host(*n.http_host))
      out.push_back("app.admin.token: required when the gateway listens on a non-loopback "
                    "address (app.nodes." +
                    n.name + ".http-host = \"" + *n.http_host +
                    "\"): without it /admin/* would be open to the network");
  check_edge(s, addresses, out);
  check_node_links(s, out);
  if (s.delivery.backoff_max < s.delivery.backoff_initial)
    out.push_back("app.delivery.backoff-max: must not be less than app.delivery.backoff-initial");
  // A failed delivery is tried again for up to max-attempts x backoff-max: an inbox entry
  // pruned before its last retry could let that retry apply the event a second time.
  auto retries = s.delivery.backoff_max * s.delivery.max_attempts;
  if (s.retention.inbox < retries)
    out.push_back("app.retention.inbox: must be at least app.delivery.max-attempts x "
                  "app.delivery.backoff-max (" +
                  std::to_string(retries.count()) +
                  " ms), or a retry could find its inbox entry gone and apply the event twice");
  check_databases(s.database, out);
  if (!s.database.role_prefix.empty() &&
      !std::regex_match(s.database.role_prefix, std::regex{"[a-z_][a-z0-9_]{0,39}"}))
    out.push_back(
        "app.database.role-prefix: must be 1..40 of [a-z0-9_], not starting with a digit");
  if (s.bus.backend != "actors" && s.bus.backend != "redis" && s.bus.backend != "nats" &&
      s.bus.backend != "rabbitmq")
    out.push_back("app.bus.backend: must be \"actors\", \"redis\", \"nats\" or \"rabbitmq\"");
  // A broker refuses a batch that would take a partition past stream-maxlen; a relay batch
  // larger than the limit could then never be published, not even to an empty partition.
  if (s.bus.backend != "actors" && s.bus.stream_maxlen < s.relay.batch_size)
    out.push_back("app.bus.stream-maxlen: must be at least app.relay.batch-size (" +
                  std::to_string(s.relay.batch_size) +
                  "), or a full batch could never be published");
  if (s.bus.key_prefix.empty() || s.bus.key_prefix.find(':') != std::string::npos)
    out.push_back("app.bus.key-prefix: must be non-empty, without ':'");
  if (s.notifications_outbox_file.empty())
    out.push_back("app.notifications.outbox-file: must not be empty");
  auto& tls = s.tls;
  int set = !tls.certificate.empty() + !tls.key.empty() + !tls.cafile.empty();
  if (set != 0 && set != 3)
    out.push_back("app.tls: certificate, key and cafile must be set together (or none of them)");
  for (auto* path : {&tls.certificate, &tls.key, &tls.cafile})
    if (!path->empty() && !std::filesystem::exists(*path))
      out.push_back("app.tls: file not found: " + *path);
}

} // namespace

bool is_string_key(const std::string& key) {
  for (auto* section : {"app.database.module-dsn.", "app.databases.", "app.module-database."})
    if (key.rfind(section, 0) == 0)
      return true;
  auto spec = fixed_keys().find(key);
  return spec != fixed_keys().end() && spec->second.takes_string;
}

std::vector<std::string> read_settings(const caf::settings& content, const module_names& known,
                                       app_settings& out) {
  problems result;
  if (auto app = content.find("app"); app != content.end()) {
    if (auto dict = caf::get_if<caf::config_value::dictionary>(&app->second))
      read_tree("app", *dict, known, out, result);
    else
      result.push_back("app: must be a section");
  }
  check_consistency(out, known, result);
  return result;
}

const node_endpoint& app_settings::this_node() const {
  auto i = std::find_if(nodes.begin(), nodes.end(), [&](auto& n) { return n.name == node; });
  return *i; // read_settings guarantees the node exists
}

bool app_settings::runs_here(const std::string& module) const {
  auto placed = placement.find(module);
  return placed != placement.end() &&
         std::find(placed->second.begin(), placed->second.end(), node) != placed->second.end();
}

} // namespace config
