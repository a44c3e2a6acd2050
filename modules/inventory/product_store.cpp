// See product_store.hpp.
#include "product_store.hpp"

#include "actors/app_error.hpp"
#include "actors/lookup_batch.hpp"

namespace inventory {

namespace {

using persistence::pg_statement;

#define PRODUCT_COLUMNS "id, sku, name, price_cents, stock, reserved"

const pg_statement insert_product{
    "products_insert", "INSERT INTO inventory.products (id, sku, name, price_cents, stock) "
                       "VALUES (gen_random_uuid(), $1, $2, $3, $4) RETURNING " PRODUCT_COLUMNS};

const pg_statement select_product{
    "products_select", "SELECT " PRODUCT_COLUMNS " FROM inventory.products WHERE id = $1::uuid"};

const pg_statement select_products{
    "products_select_many",
    "SELECT " PRODUCT_COLUMNS " FROM inventory.products WHERE id = ANY($1::uuid[])", true};

const pg_statement add_stock{"products_restock",
                             "UPDATE inventory.products SET stock = stock + $2, updated_at = now() "
                             "WHERE id = $1::uuid AND stock + $2 <= $3 RETURNING " PRODUCT_COLUMNS};

product read_product(const persistence::pg_result& r, int row = 0) {
  return {r.string(row, 0),  r.string(row, 1),  r.string(row, 2),
          r.integer(row, 3), r.integer(row, 4), r.integer(row, 5)};
}

} // namespace

caf::expected<product> product_store::create(persistence::pg_connection& db,
                                             const create_product& request) {
  try {
    return read_product(
        db.exec(insert_product, {request.sku, request.name, request.price_cents, request.stock}));
  } catch (const persistence::pg_error& e) {
    if (!e.is_unique_violation())
      throw;
    return make_app_error(app_error::conflict, "SKU_TAKEN",
                          "a product with this SKU already exists", {{"sku", "is already taken"}});
  }
}

caf::expected<product> product_store::find(persistence::pg_connection& db, const std::string& id) {
  auto rows = db.exec(select_product, {id});
  if (rows.empty())
    return not_found_error("product");
  return read_product(rows);
}

std::map<std::string, product> product_store::find_many(persistence::pg_connection& db,
                                                        const std::vector<std::string>& ids) {
  auto rows = db.exec(select_products, {uuid_array(ids)});
  std::map<std::string, product> found;
  for (int i = 0; i < rows.rows(); ++i)
    found.emplace(rows.string(i, 0), read_product(rows, i));
  return found;
}

caf::expected<product> product_store::restock(persistence::pg_connection& db,
                                              const restock_product& request) {
  auto rows = db.exec(add_stock, {request.id, request.quantity, max_stock});
  if (!rows.empty())
    return read_product(rows);
  auto existing = find(db, request.id);
  if (!existing)
    return existing;
  return validation_error({{"quantity", "would raise stock past 9007199254740991 (2^53 - 1)"}});
}

} // namespace inventory
