// Reads and checks every app.* key (see settings_reader.hpp): each value with its key's
// entry in the settings schema, then the rules that take several keys together.
#include "config/settings_reader.hpp"

#include "config/settings_schema.hpp"

#include <caf/config_value.hpp>
#include <caf/dictionary.hpp>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

namespace config {

namespace {

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
    if (auto entries = find_section(key)) {
      auto listed = caf::get_if<caf::config_value::dictionary>(&value);
      if (!listed) {
        out.push_back(key + ": must be a section of entries");
        continue;
      }
      for (auto& [entry, v] : *listed)
        entries->type.read_entry(entry, v, known, s, out);
      continue;
    }
    if (auto fixed = find_setting(key)) {
      key_reader r{key, value, out};
      fixed->type.read(r, s);
      continue;
    }
    if (auto sub = caf::get_if<caf::config_value::dictionary>(&value)) {
      auto& schema = settings_schema();
      bool is_section = std::any_of(schema.begin(), schema.end(), [&](auto& entry) {
        return entry.key.rfind(key + ".", 0) == 0;
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
  // Without [app.nodes], the default app.node is the one node, at the schema's address.
  if (s.nodes.empty()) {
    auto& node = *find_section("app.nodes");
    node.type.read_entry(defaults().node, node.default_value(), known, s, out);
  }
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
  auto entry = find_setting(key);
  if (!entry)
    entry = find_section(key.substr(0, key.rfind('.')));
  return entry && entry->type.takes_string;
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

} // namespace config
