// The customers module's public face: its typed interface and message structs. Other
// modules and the gateway see only this file and events.hpp (docs/architecture.md "Rules"). Queries
// (get_customer, get_customers) may come from other modules; commands only from the gateway.
#pragma once

#include "actors/app_error.hpp"
#include "actors/command_deadline.hpp"
#include "actors/health.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace customers {

// docs/openapi.yaml, Customer: status is "ACTIVE" or "INACTIVE"; created_at is RFC 3339 UTC.
struct customer {
  std::string id;
  std::string name;
  std::string email;
  std::string status;
  std::string created_at;
};

struct register_customer {
  std::string name;
  std::string email;
  std::string correlation_id;
  command_deadline deadline;
};

struct get_customer {
  std::string id;
};

// Several customers in one request (the orders module checks a whole group of new orders
// at once). At most max_customers_per_query ids; an id that is not a UUID, or names no
// customer, is left out of the answer.
struct get_customers {
  std::vector<std::string> ids;
};

// The customers found for a get_customers, in no particular order.
struct customers_found {
  std::vector<customer> customers;
};

constexpr std::size_t max_customers_per_query = 1000;

struct deactivate_customer {
  std::string id;
  std::string correlation_id;
  command_deadline deadline;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, customer& x) {
  return f(caf::meta::type_name("customers.customer"), x.id, x.name, x.email, x.status,
           x.created_at);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_customer& x) {
  return f(caf::meta::type_name("customers.register_customer"), x.name, x.email, x.correlation_id,
           x.deadline);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, get_customer& x) {
  return f(caf::meta::type_name("customers.get_customer"), x.id);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, get_customers& x) {
  return f(caf::meta::type_name("customers.get_customers"), x.ids);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, customers_found& x) {
  return f(caf::meta::type_name("customers.customers_found"), x.customers);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, deactivate_customer& x) {
  return f(caf::meta::type_name("customers.deactivate_customer"), x.id, x.correlation_id,
           x.deadline);
}

// Errors: VALIDATION_FAILED (400), NOT_FOUND (404), EMAIL_TAKEN (409), UNAVAILABLE (503).
using service = caf::typed_actor<caf::replies_to<register_customer>::with<customer>,
                                 caf::replies_to<get_customer>::with<customer>,
                                 caf::replies_to<get_customers>::with<customers_found>,
                                 caf::replies_to<deactivate_customer>::with<customer>,
                                 caf::replies_to<health_probe>::with<std::string>>;

// The module's rules for a registration (name 1..200 characters; email 3..254
// characters, exactly one '@' with text on both sides, no white space). The service
// enforces them; the gateway calls this too so one response names every bad field.
field_issues check(const register_customer& request);

} // namespace customers
