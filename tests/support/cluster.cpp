// See cluster.hpp.
#include "cluster.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

namespace testing_support {

cluster::cluster(const std::string& dsn, const std::vector<cluster_member>& members,
                 const std::map<std::string, std::string>& placement,
                 const std::vector<std::string>& extra_args) {
  std::map<std::string, int> http_ports;
  conf_ = "[app.nodes]\n";
  for (auto& m : members) {
    order_.push_back(m.name);
    conf_ += m.name + " = { host = \"127.0.0.1\", port = " + std::to_string(free_port());
    if (m.gateway) {
      http_ports[m.name] = free_port();
      conf_ += ", http-host = \"127.0.0.1\", http-port = " + std::to_string(http_ports[m.name]);
    }
    conf_ += " }\n";
  }
  conf_ += "[app.modules]\n";
  for (auto& [module, nodes] : placement)
    conf_ += module + " = " + nodes + "\n";
  conf_ += "[app.http]\nthreads = 16\n";
  for (auto& m : members) {
    node_options options{dsn, extra_args};
    options.extra_args.insert(options.extra_args.end(), m.args.begin(), m.args.end());
    options.cluster_conf = conf_;
    options.node_name = m.name;
    options.cluster_http_port = m.gateway ? http_ports[m.name] : 0;
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
    auto deadline = std::chrono::steady_clock::now() + link_within;
    for (;;) {
      auto res = node.client()->Get("/ready");
      bool linked = res && res->status == 200;
      if (linked) {
        auto checks = nlohmann::json::parse(res->body)["checks"];
        for (auto& [check, value] : checks.items())
          linked = linked && (check.rfind("peer:", 0) != 0 || value == "reachable");
      }
      if (linked)
        break;
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("node " + name + " did not reach every peer within " +
                                 std::to_string(link_within.count()) + " s: " +
                                 (res ? res->body : std::string{"no answer"}));
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
  }
}

} // namespace testing_support
