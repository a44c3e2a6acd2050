// The customers module's SQL: every statement that touches the customers schema. Runs on
// a detached worker's connection (customer_worker.cpp), never on the scheduler. Commands
// run inside the worker's transaction (write_batch): a state change and its event rows
// commit together or not at all.
#pragma once

#include "modules/customers/api.hpp"

#include "persistence/outbox.hpp"
#include "persistence/pg.hpp"

#include <caf/expected.hpp>

#include <map>
#include <vector>

namespace customers {

class customer_store {
public:
  explicit customer_store(persistence::outbox_hooks outbox_hooks = {});

  // Inserts the customer and its customer.registered event.
  caf::expected<customer> register_customer(persistence::pg_connection& db,
                                            const customers::register_customer& request);
  caf::expected<customer> find(persistence::pg_connection& db, const std::string& id);
  // Customers by id (lower case) for a batch of lookups; absent ids are absent.
  std::map<std::string, customer> find_many(persistence::pg_connection& db,
                                            const std::vector<std::string>& ids);
  // ACTIVE -> INACTIVE with a customer.deactivated event; INACTIVE stays as it is.
  caf::expected<customer> deactivate(persistence::pg_connection& db,
                                     const deactivate_customer& request);

private:
  persistence::outbox_writer outbox_;
};

} // namespace customers
