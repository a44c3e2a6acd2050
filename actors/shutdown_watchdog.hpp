// Bounds the last step of a shutdown. CAF 0.17's actor_system destructor waits until the
// object of every detached actor is gone, not only until it finished; an actor whose
// last reference outlives it (seen rarely, under load, on a node linked to others: the
// actor had finished, its thread waited for its destruction) would hold the process
// forever. Once every actor has finished, nothing is left to lose: after a grace period
// the process ends anyway, with the exit code it meant to return.
#pragma once

#include "actors/log.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

class shutdown_watchdog {
public:
  shutdown_watchdog() = default;
  shutdown_watchdog(const shutdown_watchdog&) = delete;
  shutdown_watchdog& operator=(const shutdown_watchdog&) = delete;

  // From now on, the process ends after `grace` unless disarmed (destroyed) first.
  void arm(std::chrono::milliseconds grace, int exit_code) {
    thread_ = std::thread([this, grace, exit_code] {
      std::unique_lock<std::mutex> lock{mutex_};
      if (cv_.wait_for(lock, grace, [this] { return done_; }))
        return;
      logging::warn("actor system cleanup did not finish; exiting without it",
                    {{"graceMs", grace.count()}});
      logging::info("stopped");
      std::fflush(nullptr);
      std::_Exit(exit_code);
    });
  }

  ~shutdown_watchdog() {
    {
      std::lock_guard<std::mutex> lock{mutex_};
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};
