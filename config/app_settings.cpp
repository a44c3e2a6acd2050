// The defaults of app_settings and of each of its sections, taken from the settings schema;
// and the lookups app_settings answers.
#include "config/app_settings.hpp"

#include "config/settings_schema.hpp"

#include <algorithm>
#include <stdexcept>

namespace config {

namespace {

// Each default is read by its key's own reader, as if the file said it: a default outside
// its key's range is a bug, which the first start (and config_test) reports.
app_settings read_defaults() {
  app_settings s{no_defaults};
  problems found;
  for (auto& entry : settings_schema()) {
    if (entry.has_variable_part() || !entry.fallback.value)
      continue;
    auto value = entry.default_value();
    key_reader r{entry.key, value, found};
    entry.type.read(r, s);
  }
  if (!found.empty())
    throw std::logic_error("the settings schema's default of " + found.front());
  return s;
}

} // namespace

const app_settings& defaults() {
  static const app_settings values = read_defaults();
  return values;
}

app_settings::app_settings() : app_settings(defaults()) {}
http_settings::http_settings() : http_settings(defaults().http) {}
edge_settings::edge_settings() : edge_settings(defaults().edge) {}
database_settings::database_settings() : database_settings(defaults().database) {}
supervisor_settings::supervisor_settings() : supervisor_settings(defaults().supervisor) {}
relay_settings::relay_settings() : relay_settings(defaults().relay) {}
delivery_settings::delivery_settings() : delivery_settings(defaults().delivery) {}
retention_settings::retention_settings() : retention_settings(defaults().retention) {}
bus_settings::bus_settings() : bus_settings(defaults().bus) {}
tls_settings::tls_settings() : tls_settings(defaults().tls) {}

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
