// See delivery_retry.hpp.
#include "actors/delivery_retry.hpp"

#include <algorithm>
#include <cstdint>

delivery_retry::verdict delivery_retry::failed(int failed_before, const std::string& module,
                                               const std::string& consumer) const {
  verdict v{failed_before + 1, false, {}};
  v.dead = v.attempts >= settings_.max_attempts;
  v.wait = backoff(v.attempts);
  if (metrics_)
    (v.dead ? metrics_->events_dead_lettered : metrics_->deliveries_retried)
        .labels({module, consumer})
        .inc();
  return v;
}

std::chrono::milliseconds delivery_retry::backoff(int failures) const {
  auto wait = settings_.backoff_initial * (int64_t{1} << std::clamp(failures - 1, 0, 30));
  return std::min<std::chrono::milliseconds>(wait, settings_.backoff_max);
}
