// See raw_http.hpp.
#include "raw_http.hpp"

#include "node_process.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace testing_support {

namespace {

using steady = std::chrono::steady_clock;

std::string lower_case(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}

// Whether `in` holds a whole response (head and Content-Length bytes of body); fills `out`.
bool parse_response(const std::string& in, raw_reply& out) {
  auto end = in.find("\r\n\r\n");
  if (end == std::string::npos)
    return false;
  std::stringstream head{in.substr(0, end)};
  std::string line, version;
  std::getline(head, line);
  std::stringstream{line} >> version >> out.status;
  out.headers.clear();
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    out.headers[lower_case(line.substr(0, colon))] = value;
  }
  std::size_t length =
      out.has_header("content-length") ? std::stoul(out.header("content-length")) : 0;
  if (in.size() < end + 4 + length)
    return false;
  out.body = in.substr(end + 4, length);
  out.received = true;
  return true;
}

} // namespace

std::string raw_reply::header(const std::string& name) const {
  auto i = headers.find(name);
  return i == headers.end() ? std::string{} : i->second;
}

raw_reply reply_of(const httplib::Result& result) {
  raw_reply out;
  if (!result)
    return out;
  out.received = true;
  out.status = result->status;
  out.body = result->body;
  for (auto& h : result->headers)
    out.headers[lower_case(h.first)] = h.second;
  return out;
}

raw_connection::raw_connection(int port) : fd_(connect_loopback(port)) {}

raw_connection::~raw_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool raw_connection::send(const std::string& bytes, std::chrono::milliseconds timeout) {
  std::size_t sent = 0;
  auto until = steady::now() + timeout;
  while (fd_ >= 0 && sent < bytes.size() && steady::now() < until) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    sent += std::size_t(n);
  }
  return sent == bytes.size();
}

std::string raw_connection::read_for(std::chrono::milliseconds quiet) {
  return read(quiet, steady::time_point::max());
}

std::string raw_connection::read_all(std::chrono::milliseconds timeout) {
  return read(timeout, steady::now() + timeout);
}

std::string raw_connection::read(std::chrono::milliseconds quiet, steady::time_point until) {
  std::string in;
  while (fd_ >= 0) {
    auto wait = quiet;
    if (until != steady::time_point::max())
      wait = std::min(wait,
                      std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now()));
    if (wait.count() <= 0)
      break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, int(wait.count())) <= 0)
      break;
    char buffer[65536];
    auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed_ = true;
      break;
    }
    in.append(buffer, std::size_t(n));
  }
  return in;
}

bool raw_connection::closed_within(std::chrono::milliseconds timeout) {
  auto until = steady::now() + timeout;
  char buffer[4096];
  while (fd_ >= 0 && steady::now() < until) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0)
      continue;
    if (::recv(fd_, buffer, sizeof buffer, 0) <= 0)
      return closed_ = true;
  }
  return false;
}

raw_reply raw_exchange(int port, const std::string& request) {
  raw_reply out;
  int fd = connect_loopback(port);
  if (fd < 0)
    return out;
  std::string in;
  std::size_t sent = 0;
  auto deadline = steady::now() + std::chrono::seconds{15};
  bool open = true;
  while (open && steady::now() < deadline && !parse_response(in, out)) {
    pollfd p{fd, short(POLLIN | (sent < request.size() ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 200) < 0)
      break;
    if (p.revents & POLLIN) {
      char buffer[65536];
      auto n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0)
        open = false;
      else
        in.append(buffer, std::size_t(n));
    }
    if (open && (p.revents & POLLOUT) && sent < request.size()) {
      auto n = ::send(fd, request.data() + sent,
                      std::min<std::size_t>(request.size() - sent, 65536), MSG_NOSIGNAL);
      if (n <= 0)
        sent = request.size(); // the server stopped reading; keep listening for its answer
      else
        sent += std::size_t(n);
    }
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
      open = (p.revents & POLLIN) != 0;
  }
  parse_response(in, out);
  ::close(fd);
  return out;
}

std::string raw_request(const std::string& method, const std::string& target,
                        const std::vector<std::string>& headers, const std::string& body,
                        bool send_length) {
  std::string text =
      method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (auto& h : headers)
    text += h + "\r\n";
  if (send_length)
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return text + "\r\n" + body;
}

std::string raw_chunked_request(const std::string& method, const std::string& target,
                                const std::vector<std::string>& headers, const std::string& body) {
  std::string text =
      method + " " + target +
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n";
  for (auto& h : headers)
    text += h + "\r\n";
  text += "\r\n";
  for (std::size_t at = 0; at < body.size(); at += 65536) {
    auto n = std::min<std::size_t>(65536, body.size() - at);
    std::stringstream size;
    size << std::hex << n;
    text += size.str() + "\r\n" + body.substr(at, n) + "\r\n";
  }
  return text + "0\r\n\r\n";
}

int status_of(const std::string& reply) {
  if (reply.rfind("HTTP/1.1 ", 0) != 0 || reply.size() < 12)
    return 0;
  return std::stoi(reply.substr(9, 3));
}

std::vector<std::string> status_lines(const std::string& stream) {
  std::vector<std::string> lines;
  std::size_t at = 0;
  while ((at = stream.find("HTTP/1.1 ", at)) != std::string::npos) {
    if (at == 0 || stream.compare(at - 2, 2, "\r\n") == 0 || stream[at - 1] == '}')
      lines.push_back(stream.substr(at, stream.find("\r\n", at) - at));
    at += 9;
  }
  return lines;
}

} // namespace testing_support
