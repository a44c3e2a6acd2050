// See cluster.hpp.
#include "cluster.hpp"

#include "fault_probes.hpp"

#include <stdexcept>

namespace testing_support {

cluster::cluster(const std::string& dsn, const std::vector<cluster_member>& members,
                 const std::map<std::string, std::string>& placement,
                 const std::vector<std::string>& extra_args) {
  std::map<std::string, int> http_ports, node_ports;
  std::string conf;
  conf += "[app.nodes]\n";
  for (auto& m : members) {
    order_.push_back(m.name);
    node_ports[m.name] = free_port();
    conf += m.name + " = { host = \"127.0.0.1\", port = " + std::to_string(node_ports[m.name]);
    if (m.gateway) {
      http_ports[m.name] = free_port();
      conf += ", http-host = \"127.0.0.1\", http-port = " + std::to_string(http_ports[m.name]);
    }
    conf += " }\n";
  }
  conf += "[app.modules]\n";
  for (auto& [module, nodes] : placement)
    conf += module + " = " + nodes + "\n";
  conf += "[app.http]\nthreads = 16\n";
  for (auto& m : members) {
    node_options options{dsn, extra_args};
    options.extra_args.insert(options.extra_args.end(), m.args.begin(), m.args.end());
    options.cluster_conf = conf;
    options.node_name = m.name;
    options.cluster_http_port = m.gateway ? http_ports[m.name] : 0;
    options.cluster_node_port = node_ports[m.name];
    nodes_[m.name] = std::make_unique<node_process>(std::move(options));
  }
}

void cluster::start(std::chrono::seconds link_within) {
  for (auto& name : order_)
    nodes_.at(name)->start();
  // Nodes link up in the background (with backoff): wait until each gateway reaches all.
  for (auto& name : order_) {
    auto& node = *nodes_.at(name);
    if (node.http_port() == 0)
      continue;
    std::string last = "no answer";
    auto linked = [&] {
      auto res = node.client()->Get("/ready");
      if (!res)
        return false;
      last = res->body;
      if (res->status != 200)
        return false;
      auto checks = nlohmann::json::parse(res->body)["checks"];
      for (auto& [check, value] : checks.items())
        if (check.rfind("peer:", 0) == 0 && value != "reachable")
          return false;
      return true;
    };
    if (!eventually(link_within, linked))
      throw std::runtime_error("node " + name + " did not reach every peer within " +
                               std::to_string(link_within.count()) + " s: " + last);
  }
}

} // namespace testing_support
