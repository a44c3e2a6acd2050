// HTTP by hand, for what an HTTP library would not send or would hide: exact bytes on a
// loopback socket (odd headers, chunked bodies, requests split in time, slow or hostile
// clients) and responses read back as they came. Every read and write is bounded in time.
#pragma once

#include <httplib.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace testing_support {

// A response as a raw socket or httplib gives it, with header names in lower case.
struct raw_reply {
  bool received = false;
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;

  std::string header(const std::string& name) const;
  bool has_header(const std::string& name) const { return headers.count(name) > 0; }
};

raw_reply reply_of(const httplib::Result& result);

// A connection to 127.0.0.1:port, closed with the object.
class raw_connection {
public:
  explicit raw_connection(int port);
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends what the peer takes within `timeout`; false once it refuses more (closed).
  bool send(const std::string& bytes,
            std::chrono::milliseconds timeout = std::chrono::milliseconds{5000});
  // Everything received until the peer closes or nothing more arrives for `quiet`.
  std::string read_for(std::chrono::milliseconds quiet);
  // Everything received until the peer closes, or until `timeout` in all.
  std::string read_all(std::chrono::milliseconds timeout);
  // Whether the peer closed the connection (or reset it) within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout);
  // Whether a read saw the peer close.
  bool closed() const { return closed_; }

private:
  // Reads until the peer closes, nothing arrives for `quiet`, or `until` passes.
  std::string read(std::chrono::milliseconds quiet, std::chrono::steady_clock::time_point until);

  int fd_;
  bool closed_ = false;
};

// Sends `request` (head and body, as bytes) and reads the response while still sending,
// as a careful client does, so that an early answer is seen even if the body is refused
// (15 s at most).
raw_reply raw_exchange(int port, const std::string& request);

// A request with `Connection: close`, the given header lines and, unless told otherwise,
// its Content-Length.
std::string raw_request(const std::string& method, const std::string& target,
                        const std::vector<std::string>& headers, const std::string& body,
                        bool send_length = true);
// The same request with its body in HTTP/1.1 chunked transfer coding.
std::string raw_chunked_request(const std::string& method, const std::string& target,
                                const std::vector<std::string>& headers, const std::string& body);

// The status of the response at the start of `reply` (0 when it is not one).
int status_of(const std::string& reply);
// The status lines of all responses in a byte stream.
std::vector<std::string> status_lines(const std::string& stream);

} // namespace testing_support
