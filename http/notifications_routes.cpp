// GET /notifications?orderId= | ?customerId= (docs/openapi.yaml).
#include "http/replies.hpp"
#include "http/routes.hpp"

#include "modules/notifications/api.hpp"

namespace http {

namespace {

nlohmann::json to_json_list(const std::vector<notifications::notification>& list) {
  auto result = nlohmann::json::array();
  for (auto& n : list)
    result.push_back({{"id", n.id},
                      {"eventId", n.event_id},
                      {"eventName", n.event_name},
                      {"orderId", n.order_id},
                      {"customerId", n.customer_id},
                      {"channel", n.channel},
                      {"template", n.template_name},
                      {"createdAt", n.created_at}});
  return result;
}

} // namespace

void add_notifications_routes(router& routes, module_caller& modules) {
  routes.add("GET", "/notifications", false, [&modules](exchange& ex) {
    notifications::list_notifications request{ex.request.get_param_value("orderId"),
                                              ex.request.get_param_value("customerId")};
    bool given_order = ex.request.has_param("orderId"),
         given_customer = ex.request.has_param("customerId");
    if (given_order == given_customer)
      return ex.fail(validation_error({{"orderId", "give exactly one of orderId and customerId"}}));
    if (auto issues = notifications::check(request); !issues.empty())
      return ex.fail(validation_error(issues));
    reply(ex, 200,
          modules.call<notifications::service, std::vector<notifications::notification>>(
              "notifications", std::move(request)),
          to_json_list);
  });
}

} // namespace http
