// The wait before retrying a delivery after `attempts` failures: app.delivery.backoff-initial
// doubled per attempt, up to backoff-max. The relay's SQL (relay_store.cpp) computes the
// same for the rows it schedules; the broker readers use it for their in-memory retries.
#pragma once

#include "config/app_settings.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>

inline std::chrono::milliseconds delivery_backoff(const config::delivery_settings& policy,
                                                  int attempts) {
  auto wait = policy.backoff_initial * (int64_t{1} << std::min(attempts, 30));
  return std::min<std::chrono::milliseconds>(wait, policy.backoff_max);
}
