// cpp-httplib's server with the limits a socket on a hostile network needs, which
// cpp-httplib 0.11 lacks: the request line and headers are bounded in bytes and in time,
// a request's body in time, connections waiting for a thread in number (beyond it, a
// canned 503 with Retry-After and the connection closed), an idle keep-alive connection
// gives its thread up as soon as another connection waits for one, the listen backlog is
// the system's, and `Range` is ignored (a reply is never copied once per range).
// Everything else (parsing, routing, writing) stays cpp-httplib's.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace http {

// The first six come from app.http (gateway.cpp, limits_of), whose defaults are in the
// settings schema (config/settings_schema.cpp); they are not restated here.
struct server_limits {
  std::size_t threads{};
  std::size_t max_queued{};                   // accepted connections waiting for a thread
  std::size_t max_header_bytes{};             // request line and headers of one request
  std::chrono::milliseconds header_timeout{}; // to receive them, from the first byte
  std::chrono::milliseconds body_timeout{};   // to receive the body after them
  std::chrono::milliseconds idle_timeout{};   // keep-alive, while nobody waits
  std::chrono::milliseconds io_timeout{5000}; // one read or write that makes no progress
  int retry_after_seconds = 1;
};

// Called by a handler: the connection closes once this reply is written (its request's
// body was left unread, so what follows cannot be told from a next request).
void close_after_reply();

class bounded_server : public httplib::Server {
public:
  explicit bounded_server(server_limits limits);
  ~bounded_server() override;

  // Binds and listens with the system's backlog (cpp-httplib's own is 5).
  bool bind(const std::string& host, int port);

private:
  bool process_and_close_socket(socket_t sock) override;
  // stop() was called: cpp-httplib closes the listening socket at once, but reports
  // is_running() until every connection has ended.
  bool stopping() const { return svr_sock_ == INVALID_SOCKET; }
  bool await_request(int sock, bool buffered, std::chrono::milliseconds patience,
                     std::chrono::milliseconds grace);

  // How long a connection keeps its thread without sending, while others wait for one:
  // a new one gets time for its request to arrive after the handshake, a kept-alive one
  // for its client to send the next request right after reading a reply.
  static constexpr std::chrono::milliseconds first_request_grace{100};
  static constexpr std::chrono::milliseconds next_request_grace{20};

  class lingering_closer;

  server_limits limits_;
  std::atomic<std::size_t> queued_{0}; // connections waiting for a pool thread now
  std::unique_ptr<lingering_closer> closer_;
};

} // namespace http
