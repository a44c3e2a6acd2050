// LISTEN on one channel from a thread of its own, calling back on each notification.
// NOTIFY is a hint (not durable, folded per transaction), so the callback only wakes the
// relay, which also polls. Reconnects by itself; stops and joins on destruction.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace persistence {

class pg_listener {
public:
  pg_listener(std::string dsn, std::string channel, std::function<void()> on_notify);
  ~pg_listener();
  pg_listener(const pg_listener&) = delete;
  pg_listener& operator=(const pg_listener&) = delete;

private:
  void run();

  std::string dsn_;
  std::string channel_;
  std::function<void()> on_notify_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace persistence
