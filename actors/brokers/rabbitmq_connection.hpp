// One AMQP 0-9-1 connection to RabbitMQ with one channel, over rabbitmq-c (blocking, with
// no reconnect of its own): connects lazily, and again after any failure, since a
// channel the server closed cannot be used again. Every call throws broker_unavailable
// (no answer, socket gone, the server shutting down) or broker_refused (the server said
// no: a missing queue, a declaration that differs, bad credentials); either way the
// connection is dropped and the next call opens a new one. Not thread-safe: one owner.
#pragma once

#include "actors/brokers/broker.hpp"
#include "config/app_settings.hpp"

#include <amqp.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace brokers {

class rabbitmq_connection {
public:
  rabbitmq_connection(const config::bus_settings& bus, std::chrono::milliseconds timeout);
  ~rabbitmq_connection();
  rabbitmq_connection(const rabbitmq_connection&) = delete;
  rabbitmq_connection& operator=(const rabbitmq_connection&) = delete;

  // The open connection (opened now if needed). What lives on a connection (consumers,
  // confirm mode, delivery tags) is void once `generation()` moved on.
  amqp_connection_state_t state();
  std::uint64_t generation() const { return generation_; }
  void disconnect();
  bool connected() const { return state_ != nullptr; }
  static constexpr amqp_channel_t channel = 1;

  // Throws (and disconnects) unless the last RPC (or `reply`) succeeded.
  void check(amqp_rpc_reply_t reply, const std::string& what);
  void check_last_rpc(const std::string& what);
  // Throws (and disconnects) for a library status other than AMQP_STATUS_OK.
  void check_status(int status, const std::string& what);
  // For a method frame that closes the channel or the connection (server side): throws.
  void throw_if_closing(const amqp_frame_t& frame);
  // Messages and consumer count of a queue (a passive declare: refused if it is missing).
  std::pair<std::uint32_t, std::uint32_t> queue_counts(const std::string& queue);

private:
  [[noreturn]] void fail_closed(amqp_method_number_t method, const void* decoded,
                                const std::string& what);

  config::bus_settings bus_;
  std::chrono::milliseconds timeout_;
  amqp_connection_state_t state_ = nullptr;
  std::uint64_t generation_ = 0;
};

// amqp_bytes_t over a std::string's bytes (no copy: valid while the string lives).
amqp_bytes_t amqp_bytes_of(const std::string& s);
std::string string_of(amqp_bytes_t bytes);

} // namespace brokers
