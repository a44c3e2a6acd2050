// See customer_store.hpp.
#include "customer_store.hpp"

#include "modules/customers/events.hpp"

#include "actors/app_error.hpp"
#include "actors/lookup_batch.hpp"

namespace customers {

namespace {

using persistence::pg_statement;

#define CUSTOMER_COLUMNS                                                                           \
  "id, name, email, status, "                                                                      \
  "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

const pg_statement insert_customer{
    "customers_insert", "INSERT INTO customers.customers (id, name, email, status) "
                        "VALUES (gen_random_uuid(), $1, $2, 'ACTIVE') "
                        "ON CONFLICT (lower(email)) DO NOTHING RETURNING " CUSTOMER_COLUMNS};

const pg_statement select_customer{
    "customers_select", "SELECT " CUSTOMER_COLUMNS " FROM customers.customers WHERE id = $1::uuid"};

// Prepared, unlike the lookups of tables that grow by the second (pg_statement): every
// order asks for its customer, and customers are few and grow slowly, so the plan made
// after the table's last analysis stays right.
const pg_statement select_customers{"customers_select_many",
                                    "SELECT " CUSTOMER_COLUMNS
                                    " FROM customers.customers WHERE id = ANY($1::uuid[])"};

const pg_statement deactivate_customer_row{
    "customers_deactivate",
    "UPDATE customers.customers SET status = 'INACTIVE', updated_at = now() "
    "WHERE id = $1::uuid AND status = 'ACTIVE' RETURNING " CUSTOMER_COLUMNS};

customer read_customer(const persistence::pg_result& r, int row = 0) {
  return {r.string(row, 0), r.string(row, 1), r.string(row, 2), r.string(row, 3), r.string(row, 4)};
}

} // namespace

customer_store::customer_store(persistence::outbox_hooks outbox_hooks)
    : outbox_("customers", std::move(outbox_hooks)) {}

caf::expected<customer>
customer_store::register_customer(persistence::pg_connection& db,
                                  const customers::register_customer& request) {
  auto rows = db.exec(insert_customer, {request.name, request.email});
  if (rows.empty()) // a concurrent writer's row is waited for, then conflicts
    return make_app_error(app_error::conflict, "EMAIL_TAKEN",
                          "a customer with this e-mail address already exists",
                          {{"email", "is already registered"}});
  auto created = read_customer(rows);
  nlohmann::json payload =
      events::customer_registered_payload{created.id, created.name, created.email};
  outbox_.append(db, {{events::customer_registered, created.id, request.correlation_id,
                       std::nullopt, payload.dump()}});
  return created;
}

caf::expected<customer> customer_store::find(persistence::pg_connection& db,
                                             const std::string& id) {
  auto rows = db.exec(select_customer, {id});
  if (rows.empty())
    return not_found_error("customer");
  return read_customer(rows);
}

std::map<std::string, customer> customer_store::find_many(persistence::pg_connection& db,
                                                          const std::vector<std::string>& ids) {
  auto rows = db.exec(select_customers, {uuid_array(ids)});
  std::map<std::string, customer> found;
  for (int i = 0; i < rows.rows(); ++i)
    found.emplace(rows.string(i, 0), read_customer(rows, i));
  return found;
}

caf::expected<customer> customer_store::deactivate(persistence::pg_connection& db,
                                                   const deactivate_customer& request) {
  auto rows = db.exec(deactivate_customer_row, {request.id});
  if (rows.empty()) // already INACTIVE (unchanged, no second event) or unknown
    return find(db, request.id);
  auto changed = read_customer(rows);
  nlohmann::json payload = events::customer_deactivated_payload{changed.id};
  outbox_.append(db, {{events::customer_deactivated, changed.id, request.correlation_id,
                       std::nullopt, payload.dump()}});
  return changed;
}

} // namespace customers
