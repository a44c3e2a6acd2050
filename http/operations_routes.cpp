// GET /health (the process runs) and GET /ready (the database answers every local
// module as its own role, and every local module's supervisor answers).
#include "http/routes.hpp"

#include "actors/health.hpp"

namespace http {

namespace {

constexpr std::chrono::milliseconds probe_timeout{1000};

} // namespace

void add_operations_routes(router& routes, module_caller& modules,
                           std::vector<std::string> local_modules,
                           std::function<bool()> accepting) {
  routes.add("GET", "/health", false,
             [](exchange& ex) { ex.raw(200, {{"status", "ok"}}); });
  routes.add("GET", "/ready", false, [&modules, local_modules, accepting](exchange& ex) {
    nlohmann::json checks = nlohmann::json::object();
    bool ready = accepting();
    std::string database = "up";
    if (!ready)
      checks["gateway"] = "down: shutting down";
    for (auto& module : local_modules) {
      auto answer = modules.call_within<health_api, std::string>(module, probe_timeout, health_probe{});
      if (answer) {
        checks[module] = "up";
        continue;
      }
      ready = false;
      auto view = describe(answer.error());
      if (answer.error().category() == caf::atom("app") && view.kind == app_error::unavailable) {
        checks[module] = "up";
        database = "down: unreachable";
      } else {
        checks[module] = "down: not responding";
      }
    }
    checks["database"] = database;
    ex.raw(ready ? 200 : 503, {{"status", ready ? "ready" : "not-ready"}, {"checks", checks}});
  });
}

} // namespace http
