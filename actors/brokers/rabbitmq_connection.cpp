// See rabbitmq_connection.hpp.
#include "actors/brokers/rabbitmq_connection.hpp"

#include <amqp_tcp_socket.h>

#include <sys/time.h>

namespace brokers {

namespace {

timeval timeval_of(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = ms.count() / 1000;
  tv.tv_usec = (ms.count() % 1000) * 1000;
  return tv;
}

// Frames sent while waiting for confirms or RPC replies go out in one socket write per
// frame; RabbitMQ's own heartbeat keeps an idle connection known to be alive.
constexpr int heartbeat_seconds = 30;

} // namespace

amqp_bytes_t amqp_bytes_of(const std::string& s) {
  return {s.size(), const_cast<char*>(s.data())};
}

std::string string_of(amqp_bytes_t bytes) {
  return {static_cast<const char*>(bytes.bytes), bytes.len};
}

rabbitmq_connection::rabbitmq_connection(const config::bus_settings& bus,
                                         std::chrono::milliseconds timeout)
    : bus_(bus), timeout_(timeout) {}

rabbitmq_connection::~rabbitmq_connection() {
  if (!state_)
    return;
  // A clean goodbye lets the broker hand our unacknowledged messages on at once.
  amqp_channel_close(state_, channel, AMQP_REPLY_SUCCESS);
  amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(state_);
}

void rabbitmq_connection::disconnect() {
  if (state_)
    amqp_destroy_connection(state_); // closes the socket; the broker requeues what we held
  state_ = nullptr;
}

amqp_connection_state_t rabbitmq_connection::state() {
  if (state_)
    return state_;
  auto where = bus_.rabbitmq_host + ":" + std::to_string(bus_.rabbitmq_port);
  state_ = amqp_new_connection();
  auto* socket = amqp_tcp_socket_new(state_);
  if (!socket) {
    disconnect();
    throw broker_unavailable("RabbitMQ: cannot make a socket");
  }
  auto tv = timeval_of(timeout_);
  int opened =
      amqp_socket_open_noblock(socket, bus_.rabbitmq_host.c_str(), bus_.rabbitmq_port, &tv);
  if (opened != AMQP_STATUS_OK) {
    disconnect();
    throw broker_unavailable("cannot connect to RabbitMQ at " + where + ": " +
                             amqp_error_string2(opened));
  }
  amqp_set_rpc_timeout(state_, &tv);
  check(amqp_login(state_, bus_.rabbitmq_vhost.c_str(), 0, 131072, heartbeat_seconds,
                   AMQP_SASL_METHOD_PLAIN, bus_.rabbitmq_user.c_str(),
                   bus_.rabbitmq_password.c_str()),
        "RabbitMQ login at " + where);
  amqp_channel_open(state_, channel);
  check_last_rpc("RabbitMQ channel");
  ++generation_;
  return state_;
}

void rabbitmq_connection::check_last_rpc(const std::string& what) {
  if (!state_)
    throw broker_unavailable(what + ": not connected");
  check(amqp_get_rpc_reply(state_), what);
}

void rabbitmq_connection::check(amqp_rpc_reply_t reply, const std::string& what) {
  switch (reply.reply_type) {
  case AMQP_RESPONSE_NORMAL:
    return;
  case AMQP_RESPONSE_SERVER_EXCEPTION:
    fail_closed(reply.reply.id, reply.reply.decoded, what);
  case AMQP_RESPONSE_LIBRARY_EXCEPTION:
    disconnect();
    throw broker_unavailable(what + ": " + amqp_error_string2(reply.library_error));
  default:
    disconnect();
    throw broker_unavailable(what + ": no reply");
  }
}

void rabbitmq_connection::check_status(int status, const std::string& what) {
  if (status == AMQP_STATUS_OK)
    return;
  disconnect();
  throw broker_unavailable(what + ": " + amqp_error_string2(status));
}

void rabbitmq_connection::throw_if_closing(const amqp_frame_t& frame) {
  if (frame.frame_type != AMQP_FRAME_METHOD)
    return;
  auto id = frame.payload.method.id;
  if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD)
    fail_closed(id, frame.payload.method.decoded, "RabbitMQ");
}

void rabbitmq_connection::fail_closed(amqp_method_number_t method, const void* decoded,
                                      const std::string& what) {
  int code = 0;
  std::string text;
  if (method == AMQP_CONNECTION_CLOSE_METHOD && decoded) {
    auto* m = static_cast<const amqp_connection_close_t*>(decoded);
    code = m->reply_code;
    text = string_of(m->reply_text);
  } else if (method == AMQP_CHANNEL_CLOSE_METHOD && decoded) {
    auto* m = static_cast<const amqp_channel_close_t*>(decoded);
    code = m->reply_code;
    text = string_of(m->reply_text);
  }
  disconnect();
  auto message = what + ": " + std::to_string(code) + " " + text;
  // 320 CONNECTION_FORCED: the broker is shutting down (or an operator closed us).
  if (code == AMQP_CONNECTION_FORCED || code == 0)
    throw broker_unavailable(message);
  throw broker_refused(message);
}

std::pair<std::uint32_t, std::uint32_t>
rabbitmq_connection::queue_counts(const std::string& queue) {
  auto* ok =
      amqp_queue_declare(state(), channel, amqp_bytes_of(queue), 1, 0, 0, 0, amqp_empty_table);
  check_last_rpc("RabbitMQ queue " + queue);
  return {ok->message_count, ok->consumer_count};
}

} // namespace brokers
