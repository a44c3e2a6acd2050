// See redis_connection.hpp.
#include "actors/brokers/redis_connection.hpp"

#include <hiredis/hiredis.h>

namespace brokers {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

} // namespace

redis_value redis_value::from(const redisReply& reply) {
  redis_value v;
  switch (reply.type) {
  case REDIS_REPLY_ERROR:
    throw redis_error(std::string{reply.str, reply.len});
  case REDIS_REPLY_STRING:
    v.kind_ = kind::string;
    v.text_.assign(reply.str, reply.len);
    break;
  case REDIS_REPLY_STATUS:
    v.kind_ = kind::status;
    v.text_.assign(reply.str, reply.len);
    break;
  case REDIS_REPLY_INTEGER:
    v.kind_ = kind::integer;
    v.integer_ = reply.integer;
    break;
  case REDIS_REPLY_ARRAY:
    v.kind_ = kind::array;
    for (size_t i = 0; i < reply.elements; ++i)
      v.elements_.push_back(from(*reply.element[i]));
    break;
  default: // REDIS_REPLY_NIL
    break;
  }
  return v;
}

redis_connection::redis_connection(redis_endpoint endpoint, std::chrono::milliseconds io_timeout)
    : endpoint_(std::move(endpoint)), io_timeout_(io_timeout) {}

redis_connection::~redis_connection() {
  disconnect();
}

void redis_connection::disconnect() {
  if (context_)
    redisFree(context_);
  context_ = nullptr;
}

redisContext& redis_connection::context() {
  if (context_)
    return *context_;
  auto* c =
      redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, to_timeval(io_timeout_));
  if (!c || c->err) {
    std::string why = c ? c->errstr : "out of memory";
    if (c)
      redisFree(c);
    throw redis_unavailable("cannot connect to Redis at " + endpoint_.host + ":" +
                            std::to_string(endpoint_.port) + ": " + why);
  }
  redisSetTimeout(c, to_timeval(io_timeout_));
  redisEnableKeepAlive(c);
  context_ = c;
  return *context_;
}

void redis_connection::append(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  if (redisAppendCommandArgv(&context(), int(args.size()), argv.data(), lengths.data()) !=
      REDIS_OK) {
    std::string why = context_->errstr;
    disconnect();
    throw redis_unavailable("Redis: " + why);
  }
}

std::unique_ptr<redisReply, void (*)(void*)> redis_connection::read_reply() {
  void* reply = nullptr;
  if (redisGetReply(&context(), &reply) != REDIS_OK || !reply) {
    std::string why = context_->errstr;
    disconnect(); // the stream is out of step now: never reuse it
    throw redis_unavailable("Redis: " + why);
  }
  return {static_cast<redisReply*>(reply), freeReplyObject};
}

redis_value redis_connection::command(const std::vector<std::string>& args) {
  append(args);
  auto reply = read_reply();
  return redis_value::from(*reply);
}

std::vector<redis_connection::outcome>
redis_connection::pipeline(const std::vector<std::vector<std::string>>& commands) {
  for (auto& args : commands)
    append(args);
  std::vector<outcome> result;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto reply = read_reply();
    try {
      result.push_back({redis_value::from(*reply), {}});
    } catch (const redis_error& e) {
      result.push_back({{}, e.what()});
    }
  }
  return result;
}

} // namespace brokers
