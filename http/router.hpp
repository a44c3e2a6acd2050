// The routing table: method + path pattern ("/customers/{id}") -> handler. Tells an
// unknown path (404) from a known path with another method (405 + Allow).
#pragma once

#include "http/exchange.hpp"

#include <functional>
#include <string>
#include <vector>

namespace http {

using handler = std::function<void(exchange&)>;

struct route {
  std::string method;
  std::string pattern;               // as registered: the route label of metrics and logs
  std::vector<std::string> segments; // "{id}" matches any one segment
  bool takes_json_body;
  handler handle;
};

class router {
public:
  void add(const std::string& method, const std::string& pattern, bool takes_json_body,
           handler handle);

  struct match {
    const route* found = nullptr; // null: see allow
    std::vector<std::string> params;
    std::string allow; // non-empty: path known, method not (405)
  };

  // HEAD is served by GET routes.
  match find(const std::string& method, const std::string& path) const;

private:
  std::vector<route> routes_;
};

} // namespace http
