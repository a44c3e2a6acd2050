// The route groups of the gateway, one per module plus operations. Each turns HTTP into
// one typed message to its module and the reply back into the contract's JSON (docs/openapi.yaml).
#pragma once

#include "actors/app_metrics.hpp"
#include "http/module_caller.hpp"
#include "http/router.hpp"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace http {

void add_customers_routes(router& routes, module_caller& modules);
void add_inventory_routes(router& routes, module_caller& modules);
void add_orders_routes(router& routes, module_caller& modules, app_metrics& metrics);
void add_notifications_routes(router& routes, module_caller& modules);

// /admin/*: the outboxes of `local_modules`; `token` empty means open.
void add_admin_routes(router& routes, module_caller& modules,
                      std::vector<std::string> local_modules, std::string token);

// /health, /ready and /metrics. `local_modules` are those /ready probes, each with the
// name of the database its data lives in (app.module-database).
void add_operations_routes(router& routes, module_caller& modules,
                           std::map<std::string, std::string> local_modules,
                           std::function<bool()> accepting, metrics::registry& metrics,
                           std::chrono::milliseconds stale_after);

} // namespace http
