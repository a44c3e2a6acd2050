// Reads one entry of a section whose keys have a variable part (see entry_readers.hpp).
#include "config/entry_readers.hpp"

#include <algorithm>
#include <regex>

namespace config {

namespace {

const std::regex& node_name_pattern() {
  static const std::regex re{"[a-z][a-z0-9_-]{0,39}"};
  return re;
}

bool is_known(const module_names& known, const std::string& module) {
  return std::find(known.begin(), known.end(), module) != known.end();
}

} // namespace

void read_node(const std::string& name, const caf::config_value& value, const module_names&,
               app_settings& s, problems& out) {
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
  if (!std::regex_match(name, node_name_pattern()))
    out.push_back(key + ": node names are 1..40 of [a-z0-9_-], starting with a letter");
  s.nodes.push_back(std::move(node));
}

void read_placement(const std::string& module, const caf::config_value& value,
                    const module_names& known, app_settings& s, problems& out) {
  const std::string key = "app.modules." + module;
  if (!is_known(known, module)) {
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

void read_module_dsn(const std::string& module, const caf::config_value& value,
                     const module_names& known, app_settings& s, problems& out) {
  const std::string key = "app.database.module-dsn." + module;
  key_reader r{key, value, out};
  std::string dsn;
  if (!is_known(known, module))
    out.push_back(key + ": unknown module");
  else if (r.string(dsn))
    s.database.module_dsn[module] = dsn;
}

void read_database(const std::string& name, const caf::config_value& value, const module_names&,
                   app_settings& s, problems& out) {
  const std::string key = "app.databases." + name;
  key_reader r{key, value, out};
  std::string dsn;
  if (r.string(dsn))
    s.database.servers[name] = dsn;
}

void read_module_database(const std::string& module, const caf::config_value& value,
                          const module_names& known, app_settings& s, problems& out) {
  const std::string key = "app.module-database." + module;
  key_reader r{key, value, out};
  std::string database;
  if (!is_known(known, module))
    out.push_back(key + ": unknown module");
  else if (r.string(database))
    s.database.module_database[module] = database;
}

} // namespace config
