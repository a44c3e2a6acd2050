// See bounded_server.hpp.
#include "http/bounded_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace http {

namespace {

using clock = std::chrono::steady_clock;

// Set while the pool runs a connection on the accepting thread to turn it away.
thread_local bool turning_away = false;
// When the connection a pool thread serves was accepted: its first request's headers
// are due within the header timeout from then, however long it queued.
thread_local clock::time_point accepted_at;
// Set by a handler (close_after_reply): this connection ends with the reply.
thread_local bool closing = false;

// cpp-httplib's thread pool, with a bound on the connections waiting for a thread: one
// more is turned away at once (on the accepting thread: a short write and a close).
class bounded_pool : public httplib::TaskQueue {
public:
  bounded_pool(std::size_t threads, std::size_t max_queued, std::atomic<std::size_t>& queued)
      : max_queued_(max_queued), queued_(queued) {
    for (std::size_t i = 0; i < threads; ++i)
      threads_.emplace_back([this] { work(); });
  }

  void enqueue(std::function<void()> job) override {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      if (!stopping_ && jobs_.size() < max_queued_) {
        jobs_.push_back([job = std::move(job), accepted = clock::now()] {
          accepted_at = accepted;
          job();
        });
        queued_ = jobs_.size();
        ready_.notify_one();
        return;
      }
    }
    turning_away = true;
    job();
    turning_away = false;
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_)
      t.join();
  }

private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock{mutex_};
        ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty())
          return; // stopping, and every accepted connection was served
        job = std::move(jobs_.front());
        jobs_.pop_front();
        queued_ = jobs_.size();
      }
      job();
    }
  }

  std::size_t max_queued_;
  std::atomic<std::size_t>& queued_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

// Waits until `sock` is ready for `events`, at most `timeout`; false on timeout or error.
bool wait_for(int sock, short events, std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0)
    return false;
  pollfd p{sock, events, 0};
  int n;
  do
    n = ::poll(&p, 1, int(timeout.count()));
  while (n < 0 && errno == EINTR);
  return n > 0 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
}

std::chrono::milliseconds until(clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
}

void address_of(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if ((peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len)
            : ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len)) != 0)
    return;
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    port = ntohs(v4->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    port = ntohs(v6->sin6_port);
  }
  ip = text;
}

// One connection's socket, as cpp-httplib reads and writes it, buffered (its line reader
// asks for one byte at a time). While a request's line and headers are read, reads stop
// at the byte budget or the deadline: cpp-httplib then answers 400 or gives up. Once the
// server stops (its listening socket closed), a request still arriving is cut off.
class guarded_stream : public httplib::Stream {
public:
  guarded_stream(int sock, const server_limits& limits, const std::atomic<std::size_t>& queued,
                 const std::atomic<socket_t>& listener)
      : sock_(sock), limits_(limits), queued_(queued), listener_(listener) {}

  // A new request begins (its first bytes could come from `since`): its line and
  // headers get the whole budget.
  void start_request(clock::time_point since) {
    in_headers_ = true;
    header_bytes_ = 0;
    started_ = since;
    deadline_ = since + limits_.header_timeout;
  }
  // cpp-httplib has read the headers: the body comes next, within its own deadline.
  void headers_read() {
    in_headers_ = false;
    deadline_ = clock::now() + limits_.body_timeout;
  }
  bool has_buffered() const { return begin_ < end_; }
  // A read failed (limit, deadline, error, end of stream): whatever cpp-httplib answered,
  // the connection cannot go on, as the rest of the request is unknown.
  bool is_broken() const { return broken_; }

  bool is_readable() const override { return has_buffered() || readable(); }
  bool is_writable() const override { return wait_for(sock_, POLLOUT, limits_.io_timeout); }

  ssize_t read(char* ptr, size_t size) override {
    if (in_headers_) {
      if (header_bytes_ >= limits_.max_header_bytes)
        return broken();
      size = std::min(size, limits_.max_header_bytes - header_bytes_);
    }
    if (!has_buffered()) {
      if (!readable())
        return broken();
      auto n = ::recv(sock_, buffer_, sizeof buffer_, 0);
      if (n <= 0) {
        broken();
        return n < 0 ? -1 : 0;
      }
      begin_ = 0;
      end_ = std::size_t(n);
    }
    auto n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_ + begin_, n);
    begin_ += n;
    if (in_headers_)
      header_bytes_ += n;
    return ssize_t(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable())
      return -1;
    return ::send(sock_, ptr, size, MSG_NOSIGNAL);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(sock_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(sock_, false, ip, port);
  }
  socket_t socket() const override { return sock_; }

  // While other connections wait for a thread, a request's line and headers must come
  // within this much of its start, however long the header timeout.
  static constexpr std::chrono::milliseconds busy_header_timeout{500};

private:
  // Waits for bytes: at most the I/O timeout, within the phase's deadline, in short
  // steps, so that a connection that sends headers slowly while others wait, or anything
  // while the server stops, is cut off soon.
  bool readable() const {
    auto io_deadline = clock::now() + limits_.io_timeout;
    for (;;) {
      if (listener_ == INVALID_SOCKET)
        return false;
      auto deadline = std::min(deadline_, io_deadline);
      if (in_headers_ && queued_ > 0)
        deadline = std::min(deadline, started_ + busy_header_timeout);
      auto left = until(deadline);
      if (left.count() <= 0)
        return false;
      if (wait_for(sock_, POLLIN, std::min(left, std::chrono::milliseconds{50})))
        return true;
    }
  }

  ssize_t broken() {
    broken_ = true;
    return -1;
  }

  int sock_;
  bool broken_ = false;
  const server_limits& limits_;
  const std::atomic<std::size_t>& queued_;
  const std::atomic<socket_t>& listener_;
  clock::time_point started_ = clock::now();
  char buffer_[4096];
  std::size_t begin_ = 0, end_ = 0;
  bool in_headers_ = true;
  std::size_t header_bytes_ = 0;
  clock::time_point deadline_ = clock::now();
};

// The whole answer to a connection turned away, written before its request (if any)
// has been read: a fresh connection's send buffer takes it whole, so the accepting thread
// never waits for a slow reader.
void turn_away(int sock, int retry_after_seconds) {
  static const std::string body =
      R"({"success":false,"error":{"code":"UNAVAILABLE","message":"the server is busy, retry later","details":[]}})";
  auto reply = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
               "Retry-After: " +
               std::to_string(retry_after_seconds) +
               "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body;
  (void)::send(sock, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(sock, SHUT_WR);
}

} // namespace

// Connections turned away stay open a little, their incoming bytes read and dropped:
// closing a socket with unread bytes resets it, and a reset can destroy the 503 in the
// client's buffer before the client reads it.
class bounded_server::lingering_closer {
public:
  lingering_closer() : thread_([this] { run(); }) {}
  ~lingering_closer() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    for (auto& s : incoming_)
      ::close(s.fd);
  }

  void add(int sock) {
    std::lock_guard<std::mutex> guard{mutex_};
    if (incoming_.size() >= max_lingering) {
      ::close(sock);
      return;
    }
    incoming_.push_back({sock, clock::now() + linger});
    wake_.notify_one();
  }

private:
  struct lingering {
    int fd;
    clock::time_point until;
  };
  static constexpr std::size_t max_lingering = 1024;
  static constexpr std::chrono::milliseconds linger{1000};

  void run() {
    std::vector<lingering> open;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock{mutex_};
        wake_.wait(lock, [&] { return stopping_ || !incoming_.empty() || !open.empty(); });
        if (stopping_) {
          for (auto& s : open)
            ::close(s.fd);
          return;
        }
        for (auto& s : incoming_)
          open.push_back(s);
        incoming_.clear();
      }
      std::vector<pollfd> polled;
      for (auto& s : open)
        polled.push_back({s.fd, POLLIN, 0});
      ::poll(polled.data(), polled.size(), 20);
      auto now = clock::now();
      std::vector<lingering> still;
      char sink[4096];
      for (std::size_t i = 0; i < open.size(); ++i) {
        bool done = now >= open[i].until;
        if (!done && polled[i].revents != 0) {
          auto n = ::recv(open[i].fd, sink, sizeof sink, MSG_DONTWAIT);
          done = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        }
        if (done)
          ::close(open[i].fd);
        else
          still.push_back(open[i]);
      }
      open.swap(still);
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<lingering> incoming_;
  bool stopping_ = false;
  std::thread thread_;
};

void close_after_reply() {
  closing = true;
}

bounded_server::bounded_server(server_limits limits)
    : limits_(limits), closer_(std::make_unique<lingering_closer>()) {
  auto threads = limits_.threads;
  auto max_queued = limits_.max_queued;
  // cpp-httplib owns the queue it is handed, for as long as it listens.
  new_task_queue = [this, threads, max_queued] {
    return new bounded_pool(threads, max_queued, queued_);
  };
  set_read_timeout(std::chrono::duration_cast<std::chrono::seconds>(limits_.io_timeout).count());
  set_write_timeout(std::chrono::duration_cast<std::chrono::seconds>(limits_.io_timeout).count());
}

bool bounded_server::bind(const std::string& host, int port) {
  if (!bind_to_port(host, port))
    return false;
  return ::listen(svr_sock_, SOMAXCONN) == 0;
}

// Waits for a request's first bytes: at most `patience`, and only `grace` once another
// connection waits for a thread (a client that sends nothing then gives its thread up).
bool bounded_server::await_request(int sock, bool buffered, std::chrono::milliseconds patience,
                                   std::chrono::milliseconds grace) {
  if (buffered)
    return true;
  auto started = clock::now();
  for (;;) {
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
    bool others_wait = queued_ > 0;
    if (waited >= patience || (others_wait && waited >= grace) || stopping())
      return false;
    auto step = std::min({std::chrono::milliseconds{50}, patience - waited,
                          others_wait ? grace - waited : patience});
    if (wait_for(sock, POLLIN, std::max(step, std::chrono::milliseconds{1})))
      return true;
  }
}

bool bounded_server::process_and_close_socket(socket_t sock) {
  bool served = false;
  if (turning_away) {
    turn_away(sock, limits_.retry_after_seconds);
    closer_->add(sock);
    return false;
  } else {
    guarded_stream stream{sock, limits_, queued_, svr_sock_};
    // A new connection's request comes within the header timeout, a kept-alive one's next
    // within the idle timeout, unless other connections wait for the thread.
    auto queued_for =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - accepted_at);
    bool ready =
        await_request(sock, false, limits_.header_timeout - queued_for, first_request_grace);
    for (auto left = keep_alive_max_count_; ready && left > 0 && !stopping(); --left) {
      stream.start_request(left == keep_alive_max_count_ ? accepted_at : clock::now());
      closing = false;
      bool closed = false;
      served = process_request(stream, left == 1, closed, [&stream](httplib::Request& req) {
        req.ranges.clear(); // a reply is sent whole, never as (overlapping) ranges
        stream.headers_read();
      });
      if (!served || closed || closing || stream.is_broken())
        break;
      ready = await_request(sock, stream.has_buffered(), limits_.idle_timeout, next_request_grace);
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return served;
}

} // namespace http

namespace http {
bounded_server::~bounded_server() = default;
} // namespace http
