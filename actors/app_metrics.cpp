// See app_metrics.hpp.
#include "actors/app_metrics.hpp"

namespace {

const std::vector<double> latency_buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5};

} // namespace

app_metrics::app_metrics(metrics::registry& reg)
    : registry(reg),
      http_requests(reg.counter("http_requests_total", "HTTP requests by route, method and status",
                                {"route", "method", "status"})),
      http_request_duration(reg.histogram("http_request_duration_seconds",
                                          "Time to answer an HTTP request", {"route"},
                                          latency_buckets)),
      orders_placed(reg.counter("orders_placed_total", "Orders created (replays not counted)")),
      events_appended(reg.counter("events_appended_total", "Events committed to a module's outbox",
                                  {"module"})),
      events_relayed(reg.counter("events_relayed_total", "Events the relay turned into deliveries",
                                 {"module"})),
      events_delivered(reg.counter("events_delivered_total",
                                   "Deliveries a consumer acknowledged after its commit",
                                   {"module", "consumer"})),
      deliveries_retried(reg.counter("deliveries_retried_total",
                                     "Failed deliveries scheduled again with backoff",
                                     {"module", "consumer"})),
      events_dead_lettered(reg.counter("events_dead_lettered_total",
                                       "Deliveries moved to the dead letters",
                                       {"module", "consumer"})),
      outbox_pending(reg.gauge("outbox_pending_events",
                               "Events not yet delivered to every consumer", {"module"})),
      outbox_oldest_pending_age(reg.gauge("outbox_oldest_pending_age_seconds",
                                          "Age of the oldest event not yet delivered", {"module"})),
      relay_batch_duration(reg.histogram("relay_batch_duration_seconds",
                                         "Time of one relay round (publish and dispatch)",
                                         {"module"}, latency_buckets)),
      broker_backlog(reg.gauge("broker_backlog_entries",
                               "Entries of a broker stream not yet handled by a consumer "
                               "(unread plus unacknowledged), reported by its reader",
                               {"stream", "consumer"})),
      supervisor_restarts(reg.counter("supervisor_restarts_total",
                                      "Children restarted by a supervisor", {"supervisor"})),
      rows_pruned(reg.counter("retention_rows_pruned_total",
                              "Rows deleted by a module's retention (app.retention.*)",
                              {"module", "table"})),
      table_size(reg.gauge("table_size_bytes",
                           "Size on disk of a table a module's retention prunes, indexes "
                           "included, as of its last pass",
                           {"module", "table"})) {}
