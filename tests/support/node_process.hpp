// The real binary as a child process: writes a configuration file with free ports,
// starts `monolith` with it, waits until /health answers, and stops it by PID when the
// test ends. Output goes to a log file the test can read on failure.
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace testing_support {

// A TCP port nobody listens on right now (bound once by the kernel's choice, then freed).
int free_port();

// A TCP connection to 127.0.0.1:port (a socket the caller closes), or -1.
int connect_loopback(int port);

// The environment variable with the port of the broker server scripts/test started for a
// backend (MONOLITH_TEST_REDIS_PORT, ..._NATS_PORT, ..._RABBITMQ_PORT); "" for others.
std::string broker_port_variable(const std::string& backend);

// The bus the tests run on: MONOLITH_TEST_BUS (unset or "actors": the default; "redis",
// "nats" or "rabbitmq": the server scripts/test started), as command-line flags.
std::vector<std::string> bus_args(const std::string& database_dsn);

// Whether the tests reach the node through the edge (MONOLITH_TEST_EDGE=1): nginx, with
// the configuration `monolith --edge-config` generates, in front of the gateway, as
// scripts/run runs it. Set by the edge variants of the HTTP suites (tests/CMakeLists.txt).
bool through_edge();

struct node_options {
  node_options(std::string dsn, std::vector<std::string> args = {}, std::string conf = {})
      : database_dsn(std::move(dsn)), extra_args(std::move(args)), extra_conf(std::move(conf)) {}

  std::string database_dsn;
  std::vector<std::string> extra_args; // e.g. "--app.http.request-timeout=1s"
  std::string extra_conf;              // appended to the generated file
  // A member of a cluster (cluster.hpp): the whole conf file is given, the process runs
  // node `node_name`, listens for HTTP on `http_port` (0: no gateway on this node).
  std::string cluster_conf;
  std::string node_name;
  int cluster_http_port = 0;
  int cluster_node_port = 0;
};

class node_process {
public:
  explicit node_process(node_options options);
  ~node_process();
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  // Starts the binary and waits for /health, or for "node started" in the log on a node
  // without a gateway (throws after 20 s).
  void start();
  // Starts the binary without waiting for anything.
  void launch();
  void signal(int sig);
  // Waits for the process to exit; returns its exit status (128 + signal when killed),
  // or -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout);
  bool running();

  // Where clients connect: the edge when through_edge(), else the gateway.
  int http_port() const { return edge_port_ != 0 ? edge_port_ : http_port_; }
  // The gateway itself, behind the edge or not.
  int gateway_port() const { return http_port_; }
  // The BASP port its configuration names (opened only when it has peers).
  int node_port() const { return node_port_; }
  std::string log() const;
  // The file the node's notification sender appends to.
  std::string notifications_file() const;
  std::unique_ptr<httplib::Client> client() const;

private:
  std::vector<std::string> arguments() const;
  void start_edge();
  void stop_edge();

  node_options options_;
  std::string dir_;
  int http_port_;
  int node_port_;
  int pid_ = -1;
  int exit_status_ = -1; // once reaped
  int edge_port_ = 0;    // 0: no edge
  int edge_pid_ = -1;
};

// Response helpers for readable assertions.
nlohmann::json body_of(const httplib::Result& result);

} // namespace testing_support
