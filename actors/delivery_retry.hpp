// What happens to a delivery that failed, one policy for every bus: it is tried again after
// app.delivery.backoff-initial, doubled per failure up to backoff-max, until
// app.delivery.max-attempts have failed; then it is a dead letter. The relay keeps the
// count in its delivery rows (relay_store's SQL schedules the next attempt with the same
// settings, store_policy()), the broker readers in memory; each failure is counted in the
// metrics as a retry or a dead letter.
#pragma once

#include "actors/app_metrics.hpp"
#include "config/app_settings.hpp"
#include "persistence/relay_store.hpp"

#include <chrono>
#include <string>

class delivery_retry {
public:
  // `metrics` may be null (nothing counted); it outlives this.
  delivery_retry(const config::delivery_settings& settings, app_metrics* metrics)
      : settings_(settings), metrics_(metrics) {}

  struct verdict {
    int attempts;                   // failed attempts so far, this one included
    bool dead;                      // none left: a dead letter now
    std::chrono::milliseconds wait; // until the next attempt, should there be one
  };

  // One more failure of a delivery of `module`'s event to `consumer`, which had failed
  // `failed_before` times.
  verdict failed(int failed_before, const std::string& module, const std::string& consumer) const;

  // The wait after `failures` failures.
  std::chrono::milliseconds backoff(int failures) const;

  // The same policy as the relay's SQL takes it.
  persistence::retry_policy store_policy() const {
    return {settings_.backoff_initial, settings_.backoff_max, settings_.max_attempts};
  }

private:
  config::delivery_settings settings_;
  app_metrics* metrics_;
};
