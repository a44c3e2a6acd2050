// See pg_listener.hpp.
#include "persistence/pg_listener.hpp"

#include "persistence/pg.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <chrono>

namespace persistence {

pg_listener::pg_listener(std::string dsn, std::string channel, std::function<void()> on_notify)
    : dsn_(std::move(dsn)), channel_(std::move(channel)), on_notify_(std::move(on_notify)),
      thread_([this] { run(); }) {}

pg_listener::~pg_listener() {
  stop_ = true;
  thread_.join();
}

void pg_listener::run() {
  // Short waits keep shutdown prompt; a lost connection is retried every half second.
  constexpr int wait_ms = 100;
  while (!stop_) {
    try {
      pg_connection db{dsn_};
      db.exec("LISTEN " + db.quote_identifier(channel_));
      on_notify_(); // anything committed while we were not listening
      while (!stop_) {
        pollfd pfd{db.socket(), POLLIN, 0};
        if (poll(&pfd, 1, wait_ms) <= 0)
          continue;
        if (PQconsumeInput(db.raw()) == 0)
          break; // connection lost: reconnect
        bool notified = false;
        while (PGnotify* n = PQnotifies(db.raw())) {
          notified = true;
          PQfreemem(n);
        }
        if (notified)
          on_notify_();
      }
    } catch (const pg_error&) {
      // The server is down; the relay's polling covers the gap.
    }
    for (int i = 0; i < 5 && !stop_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{wait_ms});
  }
}

} // namespace persistence
