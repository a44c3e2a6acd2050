// POST /orders, GET /orders/{id}, GET /orders?customerId=&limit=, POST /orders/{id}/cancel.
#include "http/json_body.hpp"
#include "http/json_fields.hpp"
#include "http/replies.hpp"
#include "http/routes.hpp"

#include "modules/orders/api.hpp"

namespace http {

namespace {

nlohmann::json to_json(const orders::order& o) {
  auto items = nlohmann::json::array();
  for (auto& l : o.items)
    items.push_back({{"productId", l.product_id},
                     {"quantity", l.quantity},
                     {"price", money_json(l.price_cents)}});
  nlohmann::json j = {{"id", o.id},
                      {"customerId", o.customer_id},
                      {"items", items},
                      {"totalAmount", money_json(o.total_cents)},
                      {"status", o.status},
                      {"createdAt", o.created_at},
                      {"updatedAt", o.updated_at}};
  if (o.status == "REJECTED")
    j["rejectionReason"] = o.rejection_reason;
  return j;
}

nlohmann::json to_json_list(const std::vector<orders::order>& list) {
  auto result = nlohmann::json::array();
  for (auto& o : list)
    result.push_back(to_json(o));
  return result;
}

// Reads the order lines; each element must be an object with the three fields.
std::vector<orders::order_line> read_items(json_fields& fields) {
  std::vector<orders::order_line> items;
  auto list = fields.array("items", "an array of 1 to 100 items");
  if (!list)
    return items;
  // Too many lines is one issue, found before any element is read: a body of 100,000
  // empty elements costs no more than one of 101.
  if (list->size() > orders::max_order_lines) {
    fields.add_issue({"items", "must hold 1 to 100 items"});
    return items;
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto at = "items[" + std::to_string(i) + "]";
    auto& element = (*list)[i];
    if (!element.is_object()) {
      fields.add_issue({at, "must be an object with productId, quantity and price"});
      items.push_back({});
      continue;
    }
    json_fields line{element, at + "."};
    items.push_back(
        {line.string("productId"), line.integer("quantity"), line.money_cents("price")});
    for (auto& issue : line.issues())
      fields.add_issue(issue);
  }
  return items;
}

// limit: digits only, so "5.0", "abc" and "" are refused like JSON's non-integers.
int64_t read_limit(const httplib::Request& req, field_issues& issues) {
  if (!req.has_param("limit"))
    return 20;
  auto text = req.get_param_value("limit");
  if (text.empty() || text.size() > 6 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    issues.push_back({"limit", "must be an integer from 1 to 100"});
    return 20;
  }
  return std::stoll(text);
}

} // namespace

void add_orders_routes(router& routes, module_caller& modules, app_metrics& metrics) {
  using orders::order;
  using orders::service;
  auto& placed_counter = metrics.orders_placed.labels();
  routes.add("POST", "/orders", true, [&modules, &placed_counter](exchange& ex) {
    json_fields fields{ex.body};
    orders::place_order request;
    request.customer_id = fields.string("customerId");
    request.items = read_items(fields);
    request.request_body = canonical_json(ex.body); // compared when the key is used again
    request.correlation_id = ex.correlation_id;
    field_issues header_issues;
    if (ex.request.has_header("Idempotency-Key")) {
      request.idempotency_key = ex.request.get_header_value("Idempotency-Key");
      if (request.idempotency_key.empty())
        header_issues.push_back(
            {"Idempotency-Key", "must be 1 to 128 characters of [A-Za-z0-9._:-]"});
    }
    auto issues = fields.merge(orders::check(request));
    issues.insert(issues.end(), header_issues.begin(), header_issues.end());
    if (!issues.empty())
      return ex.fail(validation_error(issues));
    auto placed = modules.call<service, orders::placed_order>("orders", std::move(request));
    if (placed && placed->replayed)
      ex.response.set_header("Idempotent-Replayed", "true");
    else if (placed)
      placed_counter.inc();
    auto order_of = [](const orders::placed_order& p) { return to_json(p.placed); };
    reply(ex, 201, placed, order_of, "/orders");
  });
  routes.add("GET", "/orders", false, [&modules](exchange& ex) {
    field_issues issues;
    orders::list_orders request;
    request.customer_id = ex.request.get_param_value("customerId");
    request.limit = read_limit(ex.request, issues);
    for (auto& issue : orders::check(request))
      if (std::none_of(issues.begin(), issues.end(),
                       [&](auto& i) { return i.field == issue.field; }))
        issues.push_back(issue);
    if (!issues.empty())
      return ex.fail(validation_error(issues));
    reply(ex, 200, modules.call<service, std::vector<order>>("orders", std::move(request)),
          to_json_list);
  });
  routes.add("GET", "/orders/{id}", false, [&modules](exchange& ex) {
    reply(ex, 200, modules.call<service, order>("orders", orders::get_order{ex.params[0]}),
          to_json);
  });
  routes.add("POST", "/orders/{id}/cancel", false, [&modules](exchange& ex) {
    reply(ex, 200,
          modules.call<service, order>("orders",
                                       orders::cancel_order{ex.params[0], ex.correlation_id, {}}),
          to_json);
  });
}

} // namespace http
