// Bounds a shutdown. It is armed when the stop begins, so that nothing (a gateway waiting
// for slow clients, an actor that does not quit) can hold the process past the bound,
// and armed again with a short grace once every actor has finished: CAF 0.17's
// actor_system destructor waits until the object of every detached actor is gone, not
// only until it finished, and an actor whose last reference outlives it (seen rarely,
// under load, on a node linked to others) would hold the process forever. When the time
// is up the process ends anyway, with the exit code it meant to return.
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

  // From now on, the process ends after `grace` (or sooner, if armed sooner before)
  // unless disarmed (destroyed) first.
  void arm(std::chrono::milliseconds grace, int exit_code) {
    std::lock_guard<std::mutex> lock{mutex_};
    auto deadline = std::chrono::steady_clock::now() + grace;
    exit_code_ = exit_code;
    if (thread_.joinable() && deadline >= deadline_)
      return;
    deadline_ = deadline;
    if (thread_.joinable()) {
      cv_.notify_all();
      return;
    }
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock{mutex_};
      while (!done_ && std::chrono::steady_clock::now() < deadline_)
        cv_.wait_until(lock, deadline_);
      if (done_)
        return;
      logging::warn("shutdown did not finish in time; exiting without it");
      logging::info("stopped");
      std::fflush(nullptr);
      std::_Exit(exit_code_);
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
  std::chrono::steady_clock::time_point deadline_;
  int exit_code_ = 0;
  std::thread thread_;
};
