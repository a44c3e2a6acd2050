// SIGINT and SIGTERM, taken synchronously. They are blocked from the first line of main,
// before any thread exists (every thread inherits the mask), so that a signal that comes
// during start-up is kept until the node looks for it instead of being lost or killing
// it half-started. After the first, another one ends the process at once.
#pragma once

#include "actors/log.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>

class stop_signals {
public:
  stop_signals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;

  ~stop_signals() {
    if (forcer_.joinable())
      forcer_.detach(); // it only ever ends the process
  }

  // The first signal that came within `timeout` (0: only one already pending), or 0; once
  // one came, it is returned from then on without waiting.
  int wait(std::chrono::milliseconds timeout) {
    if (taken_ != 0)
      return taken_;
    timespec span{time_t(timeout.count() / 1000), long(timeout.count() % 1000) * 1000000};
    siginfo_t info;
    int signal = sigtimedwait(&set_, &info, &span);
    if (signal > 0)
      taken_ = signal;
    return taken_;
  }

  int taken() const { return taken_; }

  // From now on, another SIGINT or SIGTERM ends the process at once with `exit_code`.
  void force_exit_on_next(int exit_code) {
    forcer_ = std::thread{[set = set_, exit_code] {
      int signal = 0;
      while (sigwait(&set, &signal) != 0 || (signal != SIGINT && signal != SIGTERM)) {
      }
      logging::warn("second stop signal: exiting now", {{"exitCode", exit_code}});
      std::fflush(nullptr);
      std::_Exit(exit_code);
    }};
  }

private:
  sigset_t set_;
  int taken_ = 0;
  std::thread forcer_;
};
