// Probes shared by the fault tests (tests/fault/): looks into the
// database through a fresh superuser connection per call (so they survive outages), the
// node's readiness and log, and a catalogue of customers and products to order from.
#pragma once

#include "eventually.hpp"
#include "node_process.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace testing_support {

// GET that asks again while the node answers 503 (a dependency busy or starting: the
// contract's "try again") or not at all, for up to `within`; returns the last result.
// For checks of what a node holds after a fault, on a machine that may be loaded.
httplib::Result get_answered(httplib::Client& client, const std::string& path,
                             std::chrono::milliseconds within = std::chrono::seconds{10});

long long scalar(const std::string& dsn, const std::string& sql);
// First column of every row.
std::vector<std::string> column(const std::string& dsn, const std::string& sql);
std::string joined(const std::vector<std::string>& items, std::size_t most = 10);
// The last `lines` lines of a text (a node's log, for a failure message).
std::string tail_of(const std::string& text, std::size_t lines);
// The schemas that have an outbox relay (each module's own schema).
std::vector<std::string> relay_schemas(const std::string& dsn);

struct backlog {
  // unhandled: events published but not yet in the inbox of every consumer of theirs (on a
  // broker, published means handed to the broker, not delivered).
  long long pending_orders = -1, unpublished = -1, open_deliveries = -1, unhandled = -1;
  bool settled() const {
    return pending_orders == 0 && unpublished == 0 && open_deliveries == 0 && unhandled == 0;
  }
  std::string text() const {
    return "PENDING orders " + std::to_string(pending_orders) + ", unpublished outbox rows " +
           std::to_string(unpublished) + ", pending deliveries " + std::to_string(open_deliveries) +
           ", events not yet handled by all their consumers " + std::to_string(unhandled);
  }
};

backlog backlog_of(const std::string& dsn, const std::vector<std::string>& schemas);
// What the deliveries still open look like, per publisher and consumer (for failure
// messages; the error's text when the query fails).
std::string open_deliveries(const std::string& dsn, const std::vector<std::string>& schemas);
// Warnings and errors in a node's log, for failure messages.
std::string problems_in(const std::string& log, std::size_t most = 15);
void require_ready(node_process& node);

struct catalog {
  std::vector<std::string> customers;
  std::vector<std::string> products;
};

catalog make_catalog(node_process& node, int customers, int products, int stock);

// The nodes a fault test starts one after the other on the same options (after a kill -9,
// say), each kept for its log.
class node_generations {
public:
  explicit node_generations(node_options options) : options_(std::move(options)) {}
  // Starts the next one and waits until it serves.
  node_process& launch();
  // Warnings and errors in every generation's log, for failure messages.
  std::string problems() const;

private:
  node_options options_;
  std::vector<std::unique_ptr<node_process>> nodes_;
};

} // namespace testing_support
