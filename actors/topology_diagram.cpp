// See topology_diagram.hpp.
#include "actors/topology_diagram.hpp"

#include "persistence/dsn.hpp"
#include "persistence/pg.hpp"

#include <map>
#include <set>
#include <sstream>

namespace {

std::string id(const std::string& node, const std::string& module) {
  auto text = node + "_" + module;
  for (auto& c : text)
    if (c == '-')
      c = '_';
  return text;
}

std::string joined(const std::set<std::string>& items) {
  std::string text;
  for (auto& item : items)
    text += (text.empty() ? "" : ", ") + item;
  return text;
}

} // namespace

std::string describe_topology(const std::vector<module_definition>& modules,
                              const config::app_settings& settings) {
  std::ostringstream out;
  out << "flowchart LR\n";
  for (auto& node : settings.nodes) {
    out << "  subgraph " << id("node", node.name) << "[\"node " << node.name << " (BASP "
        << node.host << ":" << node.port;
    if (node.runs_gateway())
      out << ", HTTP " << *node.http_host << ":" << *node.http_port;
    out << ")\"]\n";
    if (node.runs_gateway())
      out << "    " << id(node.name, "gateway") << "([gateway])\n";
    for (auto& m : modules)
      for (auto& placed : settings.placement.at(m.name))
        if (placed == node.name)
          out << "    " << id(node.name, m.name) << "[" << m.name << "]\n";
    out << "  end\n";
  }
  // Who publishes each event, then one edge per (publisher instance, consumer instance)
  // labelled with the events it carries and the link they travel on.
  std::map<std::string, std::string> publisher;
  for (auto& m : modules)
    for (auto& event : m.publishes)
      publisher[event] = m.name;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> flows;
  for (auto& m : modules)
    for (auto& consumer : m.consumers)
      for (auto& event : consumer.events)
        if (auto p = publisher.find(event); p != publisher.end())
          flows[{p->second, m.name}].insert(event);
  for (auto& [route, events] : flows) {
    auto& [from, to] = route;
    for (auto& from_node : settings.placement.at(from))
      for (auto& to_node : settings.placement.at(to)) {
        auto link = from_node == to_node ? "local" : from_node + " -> " + to_node;
        out << "  " << id(from_node, from) << " -- \"" << joined(events) << " (" << link
            << ")\" --> " << id(to_node, to) << "\n";
      }
  }
  // Where each module's data lives: one cylinder per database in use, linked to every
  // instance of the modules it holds.
  auto& databases = settings.database;
  std::set<std::string> used;
  for (auto& m : modules)
    used.insert(databases.database_of(m.name));
  for (auto& database : used) {
    std::string server;
    try {
      server = persistence::describe_server(databases.bootstrap_dsn(database));
    } catch (const persistence::pg_error&) {
      server = "not a valid DSN";
    }
    out << "  " << id("database", database) << "[(\"database " << database << " (" << server
        << ")\")]\n";
  }
  for (auto& m : modules)
    for (auto& node : settings.placement.at(m.name))
      out << "  " << id(node, m.name) << " -.- " << id("database", databases.database_of(m.name))
          << "\n";
  return out.str();
}
