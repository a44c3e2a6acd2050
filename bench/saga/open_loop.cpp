// Open-loop HTTP load at a fixed arrival rate (bench/saga): request i is due at
// start + i / rate and is sent then, whatever earlier requests are doing, over a pool of
// keep-alive HTTP/1.1 connections. A request that finds no free connection waits for one,
// and its latency still counts from when it was due: queueing shows up as latency instead
// of lowering the offered rate (no coordinated omission, unlike a closed loop such as wrk).
//
//   open_loop HOST PORT RATE SECONDS CONNECTIONS BODIES_FILE
//
// Sends POST /orders with the bodies of BODIES_FILE (one JSON body per line, in turn) and
// prints one line of key=value figures. Plain POSIX sockets and epoll: nothing to install.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct connection {
  int fd = -1;
  bool busy = false; // a request is out on it
  bool connecting = false;
  std::string out;            // bytes still to write
  std::string in;             // bytes read of the current response
  clock_type::time_point due; // of the request out on it
};

struct figures {
  std::uint64_t sent = 0, ok = 0, rejected = 0, failed = 0;
  std::vector<std::uint32_t> latency_us; // of every answered request
};

void open_connection(connection& c, int epoll_fd, const sockaddr_in& addr) {
  c = connection{};
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS) {
    ::close(c.fd);
    c.fd = -1;
    return;
  }
  c.connecting = true;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.ptr = &c;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c.fd, &ev);
}

void close_connection(connection& c) {
  if (c.fd >= 0)
    ::close(c.fd);
  c.fd = -1;
  c.busy = false;
}

// Writes what it can; false when the connection broke.
bool flush(connection& c) {
  while (!c.out.empty()) {
    auto n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK;
    c.out.erase(0, std::size_t(n));
  }
  return true;
}

// The value of header `name` (lower case) in `head`, matched without regard to case.
bool header_value(const std::string& head, const char* name, std::string* value) {
  auto length = std::strlen(name);
  for (auto at = head.find("\r\n"); at != std::string::npos; at = head.find("\r\n", at + 2)) {
    if (head.size() < at + 2 + length + 1 || head[at + 2 + length] != ':')
      continue;
    if (::strncasecmp(head.c_str() + at + 2, name, length) != 0)
      continue;
    auto start = at + 3 + length;
    auto end = head.find("\r\n", start);
    *value = head.substr(start, end == std::string::npos ? std::string::npos : end - start);
    return true;
  }
  return false;
}

// A whole response in c.in: its status and whether the server keeps the connection; 0
// while incomplete.
int complete_response(connection& c, bool* keep_alive) {
  auto head_end = c.in.find("\r\n\r\n");
  if (head_end == std::string::npos)
    return 0;
  auto head = c.in.substr(0, head_end);
  std::string length_text, connection_text;
  std::size_t length = 0;
  if (header_value(head, "content-length", &length_text))
    length = std::strtoull(length_text.c_str(), nullptr, 10);
  if (c.in.size() < head_end + 4 + length)
    return 0;
  *keep_alive = !(header_value(head, "connection", &connection_text) &&
                  ::strcasestr(connection_text.c_str(), "close") != nullptr);
  int status = std::atoi(c.in.c_str() + 9); // "HTTP/1.1 201"
  c.in.erase(0, head_end + 4 + length);
  return status > 0 ? status : 599;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: open_loop HOST PORT RATE SECONDS CONNECTIONS BODIES_FILE\n");
    return 2;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(std::uint16_t(std::atoi(argv[2])));
  ::inet_pton(AF_INET, argv[1], &addr.sin_addr);
  double rate = std::atof(argv[3]);
  double seconds = std::atof(argv[4]);
  int max_connections = std::atoi(argv[5]);
  std::vector<std::string> requests;
  {
    std::ifstream bodies(argv[6]);
    for (std::string body; std::getline(bodies, body);)
      if (!body.empty())
        requests.push_back("POST /orders HTTP/1.1\r\nHost: " + std::string(argv[1]) +
                           "\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  if (rate <= 0 || seconds <= 0 || max_connections <= 0 || requests.empty()) {
    std::fprintf(stderr, "open_loop: bad arguments or no bodies\n");
    return 2;
  }

  int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<connection> pool(static_cast<std::size_t>(max_connections)); // never reallocated
  for (auto& c : pool)
    open_connection(c, epoll_fd, addr);
  figures f;
  f.latency_us.reserve(std::size_t(rate * seconds) + 16);
  std::deque<clock_type::time_point> waiting; // due, no connection free yet
  auto total = std::uint64_t(rate * seconds);
  std::uint64_t next = 0;
  auto start = clock_type::now() + std::chrono::milliseconds(50);
  auto due_of = [&](std::uint64_t i) {
    return start + std::chrono::nanoseconds(std::int64_t(double(i) * 1e9 / rate));
  };
  // After the last request is due, answers are awaited this long at most.
  auto deadline = due_of(total) + std::chrono::seconds(30);
  std::uint64_t in_flight = 0;
  std::vector<epoll_event> events(static_cast<std::size_t>(max_connections));

  auto finish = [&](connection& c, int status) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - c.due);
    f.latency_us.push_back(std::uint32_t(std::min<std::int64_t>(us.count(), UINT32_MAX)));
    if (status >= 200 && status < 300)
      ++f.ok;
    else if (status < 500)
      ++f.rejected;
    else
      ++f.failed;
    c.busy = false;
    --in_flight;
  };
  auto lose = [&](connection& c) { // the connection broke: its request failed
    if (c.busy) {
      ++f.failed;
      --in_flight;
    }
    close_connection(c);
    open_connection(c, epoll_fd, addr);
  };

  for (;;) {
    auto now = clock_type::now();
    while (next < total && due_of(next) <= now)
      waiting.push_back(due_of(next++));
    for (auto& c : pool) {
      if (waiting.empty())
        break;
      if (c.fd < 0)
        open_connection(c, epoll_fd, addr);
      if (c.fd < 0 || c.busy || c.connecting)
        continue;
      c.busy = true;
      c.due = waiting.front();
      waiting.pop_front();
      c.out = requests[f.sent++ % requests.size()];
      ++in_flight;
      if (!flush(c))
        lose(c);
    }
    if (next >= total && waiting.empty() && in_flight == 0)
      break;
    if (now > deadline)
      break;
    // Sleep until the next request is due (to the microsecond: a coarser timer would send
    // late, and a zero one would spin and take the CPU from the system under test).
    auto wake = now + std::chrono::milliseconds(100);
    if (next < total)
      wake = std::min(wake, due_of(next));
    // (Requests waiting for a connection go out when an answer frees one: an event.)
    auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(wake - now);
    timespec timeout{0, 0};
    if (wait.count() > 0)
      timeout = timespec{time_t(wait.count() / 1000000000), long(wait.count() % 1000000000)};
    int n = ::epoll_pwait2(epoll_fd, events.data(), int(events.size()), &timeout, nullptr);
    for (int i = 0; i < n; ++i) {
      auto& c = *static_cast<connection*>(events[std::size_t(i)].data.ptr);
      if (c.fd < 0)
        continue;
      if (events[std::size_t(i)].events & (EPOLLERR | EPOLLHUP)) {
        lose(c);
        continue;
      }
      if (c.connecting && (events[std::size_t(i)].events & EPOLLOUT)) {
        c.connecting = false;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = &c;
        ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
      }
      if (!c.out.empty() && !flush(c)) {
        lose(c);
        continue;
      }
      if (events[std::size_t(i)].events & EPOLLIN) {
        char buffer[16384];
        bool broken = false;
        for (;;) {
          auto got = ::recv(c.fd, buffer, sizeof buffer, 0);
          if (got > 0) {
            c.in.append(buffer, std::size_t(got));
            continue;
          }
          broken = got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
          break;
        }
        bool keep_alive = true;
        if (c.busy)
          if (int status = complete_response(c, &keep_alive))
            finish(c, status);
        if (broken || !keep_alive)
          lose(c);
      }
    }
  }
  std::uint64_t unanswered = in_flight + waiting.size() + (total - next);
  auto& l = f.latency_us;
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) {
    if (l.empty())
      return 0.0;
    auto i = std::min(l.size() - 1, std::size_t(p * double(l.size())));
    return double(l[i]) / 1000.0;
  };
  std::printf("offered=%.0f sent=%llu ok=%llu rejected=%llu failed=%llu unanswered=%llu "
              "accepted_per_s=%.0f p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f\n",
              rate, (unsigned long long)f.sent, (unsigned long long)f.ok,
              (unsigned long long)f.rejected, (unsigned long long)f.failed,
              (unsigned long long)unanswered, double(f.ok) / seconds, pct(0.5), pct(0.99),
              pct(0.999), l.empty() ? 0.0 : double(l.back()) / 1000.0);
  for (auto& c : pool)
    close_connection(c);
  ::close(epoll_fd);
  return 0;
}
