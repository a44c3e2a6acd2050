// The HTTP gateway (cpp-httplib): parses and checks requests, turns each into one typed
// message to the owning module (routes.hpp), and maps replies and errors to the contract's
// JSON. No business rule lives here. One JSON log line per request.
//
// Config (README "Configuration"): app.http.* (pool, limits, timeouts), and the node's
// http-host / http-port.
#pragma once

#include "actors/app_metrics.hpp"
#include "config/app_settings.hpp"
#include "http/bounded_server.hpp"
#include "http/module_caller.hpp"
#include "http/router.hpp"

#include <httplib.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace http {

class gateway {
public:
  gateway(caf::actor_system& sys, const config::app_settings& settings, caf::actor directory,
          std::vector<std::string> local_modules, app_metrics& metrics);
  ~gateway();

  // Binds the node's HTTP endpoint and serves from a thread pool; false if the address
  // cannot be bound.
  bool start();
  // Stops accepting, lets requests in flight finish, joins the pool.
  void stop();

  int port() const { return port_; }

private:
  void serve(const httplib::Request& req, httplib::Response& res,
             const httplib::ContentReader* body_reader);

  const config::app_settings& settings_;
  app_metrics& metrics_;
  module_caller modules_;
  router routes_;
  bounded_server server_;
  std::thread listener_;
  std::atomic<bool> accepting_{false};
  int port_ = 0;
};

} // namespace http
