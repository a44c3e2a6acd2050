// The inventory module's SQL for products. Runs on a detached worker's connection
// (product_worker.cpp), never on the scheduler.
#pragma once

#include "modules/inventory/api.hpp"

#include "persistence/pg.hpp"

#include <caf/expected.hpp>

#include <map>
#include <vector>

namespace inventory {

class product_store {
public:
  caf::expected<product> create(persistence::pg_connection& db, const create_product& request);
  caf::expected<product> find(persistence::pg_connection& db, const std::string& id);
  // Products by id (lower case) for a batch of lookups; absent ids are absent.
  std::map<std::string, product> find_many(persistence::pg_connection& db,
                                           const std::vector<std::string>& ids);
  // Adds stock unless that would pass max_stock (then VALIDATION_FAILED on quantity).
  caf::expected<product> restock(persistence::pg_connection& db, const restock_product& request);
};

} // namespace inventory
