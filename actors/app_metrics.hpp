// Every metric the service exposes on GET /metrics, declared in one place (name, help,
// labels) over the process's registry. Created once in main and handed to whoever
// records; see docs/operations.md, "Metrics".
#pragma once

#include "actors/metrics.hpp"

struct app_metrics {
  explicit app_metrics(metrics::registry& reg);

  metrics::registry& registry;
  metrics::counter_family& http_requests;           // route, method, status
  metrics::histogram_family& http_request_duration; // route
  metrics::counter_family& orders_placed;           //
  metrics::counter_family& events_appended;         // module
  metrics::counter_family& events_relayed;          // module
  metrics::counter_family& events_delivered;        // module, consumer
  metrics::counter_family& deliveries_retried;      // module, consumer
  metrics::counter_family& events_dead_lettered;    // module, consumer
  metrics::gauge_family& outbox_pending;            // module
  metrics::gauge_family& outbox_oldest_pending_age; // module, seconds
  metrics::histogram_family& relay_batch_duration;  // module, seconds
  metrics::gauge_family& broker_backlog;            // stream, consumer (broker backends)
  metrics::counter_family& supervisor_restarts;     // supervisor
  metrics::counter_family& rows_pruned;             // module, table
  metrics::gauge_family& table_size;                // module, table; bytes
};
