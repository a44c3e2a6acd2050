// Several real processes on 127.0.0.1 sharing one topology (one conf file, free ports),
// each started with --app.node=NAME: the same binary, placed by configuration only.
#pragma once

#include "node_process.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace testing_support {

struct cluster_member {
  cluster_member(std::string node, bool has_gateway, std::vector<std::string> flags = {})
      : name(std::move(node)), gateway(has_gateway), args(std::move(flags)) {}

  std::string name;
  bool gateway = false;          // has an HTTP endpoint
  std::vector<std::string> args; // this node's own flags (e.g. its TLS certificate)
};

class cluster {
public:
  // `placement`: module -> conf value, e.g. "\"b\"" or "[\"a\", \"b\"]".
  cluster(const std::string& dsn, const std::vector<cluster_member>& members,
          const std::map<std::string, std::string>& placement,
          const std::vector<std::string>& extra_args = {});

  node_process& operator[](const std::string& name) { return *nodes_.at(name); }
  // Starts every member, in the order given, and waits until each gateway node's /ready
  // is 200 with every peer reachable (throws after `link_within`).
  void start(std::chrono::seconds link_within = std::chrono::seconds{20});

private:
  std::vector<std::string> order_;
  std::map<std::string, std::unique_ptr<node_process>> nodes_;
};

} // namespace testing_support
