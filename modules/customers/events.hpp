// Events the customers module publishes (docs/openapi.yaml, EventEnvelope): names and payloads.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace customers::events {

inline constexpr const char* customer_registered = "customer.registered";
inline constexpr const char* customer_deactivated = "customer.deactivated";

struct customer_registered_payload {
  std::string customer_id;
  std::string name;
  std::string email;
};

struct customer_deactivated_payload {
  std::string customer_id;
};

inline void to_json(nlohmann::json& j, const customer_registered_payload& p) {
  j = {{"customerId", p.customer_id}, {"name", p.name}, {"email", p.email}};
}

inline void to_json(nlohmann::json& j, const customer_deactivated_payload& p) {
  j = {{"customerId", p.customer_id}};
}

} // namespace customers::events
