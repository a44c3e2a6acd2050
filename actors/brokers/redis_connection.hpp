// One blocking connection to Redis (hiredis), owned by one detached actor: commands as
// argument vectors (binary-safe, nothing interpolated), pipelines, and replies freed by
// RAII. hiredis 0.14 never reconnects by itself; this class connects lazily and drops a
// broken connection, so the next command connects again.
#pragma once

#include "actors/brokers/broker.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct redisContext;
struct redisReply;

namespace brokers {

// The server is unreachable or the connection broke; the command may or may not have run.
class redis_unavailable : public broker_unavailable {
public:
  using broker_unavailable::broker_unavailable;
};

// The server answered with an error reply (e.g. NOGROUP, BUSYGROUP).
class redis_error : public broker_refused {
public:
  using broker_refused::broker_refused;
};

// A reply tree, read-only. Arrays nest; nil is its own kind.
class redis_value {
public:
  enum class kind { nil, string, integer, array, status };

  kind type() const { return kind_; }
  bool is_nil() const { return kind_ == kind::nil; }
  const std::string& str() const { return text_; }
  long long integer() const { return integer_; }
  const std::vector<redis_value>& elements() const { return elements_; }
  std::size_t size() const { return elements_.size(); }
  const redis_value& operator[](std::size_t i) const { return elements_.at(i); }

  static redis_value from(const redisReply& reply); // throws redis_error on an error reply

private:
  kind kind_ = kind::nil;
  std::string text_;
  long long integer_ = 0;
  std::vector<redis_value> elements_;
};

struct redis_endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
};

class redis_connection {
public:
  // `io_timeout` bounds every read and write; a BLOCK time must stay below it.
  redis_connection(redis_endpoint endpoint, std::chrono::milliseconds io_timeout);
  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  redis_value command(const std::vector<std::string>& args);
  // Sends every command before reading any reply: one round trip for the lot. Error
  // replies come back as values of their own (see is_error) rather than throwing, so
  // that one refused command does not hide the others' outcomes.
  struct outcome {
    redis_value value;
    std::string error; // non-empty: the server refused this command
  };
  std::vector<outcome> pipeline(const std::vector<std::vector<std::string>>& commands);

  void disconnect();

private:
  redisContext& context();
  void append(const std::vector<std::string>& args);
  std::unique_ptr<redisReply, void (*)(void*)> read_reply();

  redis_endpoint endpoint_;
  std::chrono::milliseconds io_timeout_;
  redisContext* context_ = nullptr;
};

} // namespace brokers
