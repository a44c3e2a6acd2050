// GET /health (the process runs) and GET /ready (every local module answers, and its
// database answers it as its own role with its schema in place; other nodes are listed as
// reachable or unreachable).
#include "http/routes.hpp"

#include "actors/health.hpp"
#include "actors/outbox_relay.hpp"

namespace http {

namespace {

constexpr std::chrono::milliseconds probe_timeout{1000};

} // namespace

void add_operations_routes(router& routes, module_caller& modules,
                           std::map<std::string, std::string> local_modules,
                           std::function<bool()> accepting, metrics::registry& metrics,
                           std::chrono::milliseconds stale_after) {
  routes.add("GET", "/metrics", false, [&metrics](exchange& ex) {
    ex.response.status = 200;
    ex.response.set_content(metrics.render(), "text/plain; version=0.0.4");
  });
  routes.add("GET", "/health", false, [](exchange& ex) { ex.raw(200, {{"status", "ok"}}); });
  routes.add(
      "GET", "/ready", false, [&modules, local_modules, accepting, stale_after](exchange& ex) {
        nlohmann::json checks = nlohmann::json::object();
        bool ready = accepting();
        if (!ready)
          checks["gateway"] = "down: shutting down";
        // Each module answers through its own database; "database" sums up every database
        // this node's modules use, and with more than one, each has its own key.
        std::map<std::string, std::string> databases;
        for (auto& [module, database] : local_modules) {
          auto& state = databases.emplace(database, "up").first->second;
          auto answer =
              modules.call_local<health_api, std::string>(module, probe_timeout, health_probe{});
          if (answer) {
            checks[module] = "up";
            continue;
          }
          ready = false;
          auto view = describe(answer.error());
          if (answer.error().category() != caf::atom("app") ||
              view.kind != app_error::unavailable) {
            checks[module] = "down: not responding";
          } else if (view.code == "SCHEMA_MISSING") {
            checks[module] = "down: schema missing";
          } else {
            checks[module] = "down: database unreachable";
            state = "down: unreachable";
          }
        }
        std::string database = "up";
        for (auto& [name, state] : databases)
          if (state != "up")
            database = state;
        checks["database"] = database;
        if (databases.size() > 1 || (databases.size() == 1 && databases.begin()->first != "main"))
          for (auto& [name, state] : databases)
            checks["database:" + name] = state;
        // The bus: the node's event bus actor answers; outboxes: events waiting too long are
        // reported (they do not make the node unready: it still accepts work).
        bool bus_up = static_cast<bool>(modules.locate("@bus", probe_timeout));
        checks["bus"] = bus_up ? "up" : "down: not running";
        ready = ready && bus_up;
        // Other nodes: listed, reachable or not; an unreachable peer does not make this node
        // unready (it still serves its own modules, and calls to the peer's answer 503).
        for (auto& [node, reachable] : modules.peers(probe_timeout))
          checks["peer:" + node] = reachable ? "reachable" : "unreachable";
        for (auto& [module, database] : local_modules) {
          auto status = modules.call_within<relay_api, outbox_status>(
              "relay:" + module, probe_timeout, outbox_status_atom::value);
          // On a broker backend the broker is the bus: its relays tell whether it answers
          // and takes their events ("down: broker unreachable", "down: stream ... is full").
          if (status && !status->broker.empty() && checks["bus"] == "up") {
            checks["bus"] = status->broker;
            ready = ready && status->broker == "up";
          }
          if (status && status->oldest_pending_age_ms > stale_after.count())
            checks["outbox:" + module] =
                "stale: " + std::to_string(status->pending) + " events pending, oldest " +
                std::to_string(status->oldest_pending_age_ms / 1000) + " s";
        }
        ex.raw(ready ? 200 : 503, {{"status", ready ? "ready" : "not-ready"}, {"checks", checks}});
      });
}

} // namespace http
