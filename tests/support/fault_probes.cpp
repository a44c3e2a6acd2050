// See fault_probes.hpp.
#include "fault_probes.hpp"

#include <tuple>

#include "persistence/pg.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <sstream>
#include <thread>

namespace testing_support {

namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

} // namespace

httplib::Result get_answered(httplib::Client& client, const std::string& path,
                             std::chrono::milliseconds within) {
  httplib::Result result{nullptr, httplib::Error::Unknown};
  eventually(
      within,
      [&] {
        result = client.Get(path.c_str());
        return result && result->status != 503;
      },
      std::chrono::milliseconds{100});
  return result;
}

// ---- database inspection (superuser connection, one per call: survives outages) ----

long long scalar(const std::string& dsn, const std::string& sql) {
  persistence::pg_connection db{dsn};
  return db.exec(sql).integer(0, 0);
}

// First column of every row (callers concatenate what they need into it).
std::vector<std::string> column(const std::string& dsn, const std::string& sql) {
  persistence::pg_connection db{dsn};
  auto rows = db.exec(sql);
  std::vector<std::string> out;
  for (int i = 0; i < rows.rows(); ++i)
    out.push_back(rows.string(i, 0));
  return out;
}

std::string joined(const std::vector<std::string>& items, std::size_t most) {
  std::string text;
  for (std::size_t i = 0; i < items.size() && i < most; ++i)
    text += (i ? "; " : "") + items[i];
  if (items.size() > most)
    text += "; ... (" + std::to_string(items.size()) + " in all)";
  return text;
}

std::string tail_of(const std::string& text, std::size_t lines) {
  auto start = text.size();
  for (std::size_t n = 0; n <= lines && start > 0; ++n) {
    auto newline = text.rfind('\n', start - 1);
    if (newline == std::string::npos) {
      start = 0;
      break;
    }
    start = newline;
  }
  return text.substr(start == 0 ? 0 : start + 1);
}

// The schemas that have an outbox relay (each module's own schema).
std::vector<std::string> relay_schemas(const std::string& dsn) {
  return column(dsn, "SELECT schemaname FROM pg_tables WHERE tablename = 'relay_lease' ORDER BY 1");
}

std::string open_deliveries(const std::string& dsn, const std::vector<std::string>& schemas) {
  std::string sql = "SELECT ''";
  for (auto& s : schemas)
    sql += " UNION ALL SELECT '" + s +
           " -> ' || consumer || ': ' || count(*) || ' pending, attempts ' || "
           "min(attempts) || '..' || max(attempts) || ', next attempt in ' || "
           "round(extract(epoch FROM max(next_attempt_at) - clock_timestamp())::numeric, 1) || ' "
           "s, last error ' "
           "|| coalesce(max(last_error), '-') FROM " +
           s + ".deliveries WHERE status = 'pending' GROUP BY consumer";
  try {
    return joined(column(dsn, sql), 20);
  } catch (const std::exception& e) {
    return e.what();
  }
}

backlog backlog_of(const std::string& dsn, const std::vector<std::string>& schemas) {
  backlog b;
  try {
    b.pending_orders = scalar(dsn, "SELECT count(*) FROM orders.orders WHERE status = 'PENDING'");
    std::string unpublished = "SELECT 0", open = "SELECT 0";
    for (auto& s : schemas) {
      unpublished += " + (SELECT count(*) FROM " + s + ".outbox, " + s +
                     ".relay_lease WHERE position >= published_through)";
      open += " + (SELECT count(*) FROM " + s + ".deliveries WHERE status = 'pending')";
    }
    b.unpublished = scalar(dsn, unpublished);
    b.open_deliveries = scalar(dsn, open);
    // The saga's subscriptions: publisher, its events, the consumer that handles them.
    std::string unhandled = "SELECT 0";
    for (auto [publisher, events, consumer] :
         {std::tuple{"orders", "'order.created', 'order.cancelled'", "inventory.order-events"},
          std::tuple{"orders",
                     "'order.created', 'order.confirmed', 'order.rejected', 'order.cancelled'",
                     "notifications.order-events"},
          std::tuple{"inventory", "'inventory.reserved', 'inventory.rejected'",
                     "orders.inventory-events"}}) {
      std::string consumer_schema{consumer};
      consumer_schema = consumer_schema.substr(0, consumer_schema.find('.'));
      unhandled += std::string{" + (SELECT count(*) FROM "} + publisher +
                   ".outbox o WHERE o.event_name IN (" + events +
                   ") AND NOT EXISTS (SELECT 1 FROM " + consumer_schema +
                   ".inbox i WHERE i.event_id = o.id AND i.consumer = '" + consumer + "'))";
    }
    b.unhandled = scalar(dsn, unhandled);
  } catch (const std::exception&) {
    // the database may still be coming back: not settled yet
  }
  return b;
}

// warn/error lines of a node log (its per-request lines are too many to print).
std::string problems_in(const std::string& log, std::size_t most) {
  std::istringstream in{log};
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (line.find("\"level\":\"warn\"") != std::string::npos ||
        line.find("\"level\":\"error\"") != std::string::npos || line.find('{') != 0)
      lines.push_back(line);
  std::string text;
  for (std::size_t i = lines.size() > most ? lines.size() - most : 0; i < lines.size(); ++i)
    text += "\n  " + lines[i];
  return text.empty() ? " (none)" : text;
}

// ---- catalog and load ----
// /health answers as soon as the process runs; modules may still be connecting, so wait
// for /ready before relying on them.
void require_ready(node_process& node) {
  std::string last = "no answer";
  bool ready = eventually(10s, [&] {
    auto res = node.client()->Get("/ready");
    if (res)
      last = std::to_string(res->status) + " " + res->body;
    return res && res->status == 200;
  });
  BOOST_REQUIRE_MESSAGE(
      ready, "/ready within 10 s of start: " << last << "; log:" << problems_in(node.log()));
}

catalog make_catalog(node_process& node, int customers, int products, int stock) {
  require_ready(node);
  catalog c;
  auto http = node.client();
  for (int i = 0; i < customers; ++i) {
    auto res = http->Post("/customers",
                          json{{"name", "Load " + std::to_string(i)},
                               {"email", "load" + std::to_string(i) + "@example.com"}}
                              .dump(),
                          "application/json");
    BOOST_REQUIRE_MESSAGE(res && res->status == 201,
                          "POST /customers: " << (res ? res->body : "no answer"));
    c.customers.push_back(body_of(res)["data"]["id"].get<std::string>());
  }
  for (int i = 0; i < products; ++i) {
    auto res = http->Post("/products",
                          json{{"sku", "LOAD-" + std::to_string(i)},
                               {"name", "Load product " + std::to_string(i)},
                               {"price", 2.5},
                               {"stock", stock}}
                              .dump(),
                          "application/json");
    BOOST_REQUIRE_MESSAGE(res && res->status == 201,
                          "POST /products: " << (res ? res->body : "no answer"));
    c.products.push_back(body_of(res)["data"]["id"].get<std::string>());
  }
  return c;
}

node_process& node_generations::launch() {
  nodes_.push_back(std::make_unique<node_process>(options_));
  nodes_.back()->start();
  return *nodes_.back();
}

std::string node_generations::problems() const {
  std::string text;
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    text += "\n node " + std::to_string(i) + ":" + problems_in(nodes_[i]->log());
  return text;
}

} // namespace testing_support
