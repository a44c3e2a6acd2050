// The routing table (http/router.cpp) with the API's patterns, on any method and path:
// never a crash, and a match's parameters are segments of the path.
#include "http/router.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const http::router routes = [] {
    http::router r;
    auto none = [](http::exchange&) {};
    for (auto [method, pattern] : {std::pair{"POST", "/customers"},
                                   {"GET", "/customers/{id}"},
                                   {"POST", "/customers/{id}/deactivate"},
                                   {"POST", "/products"},
                                   {"GET", "/products/{id}"},
                                   {"POST", "/products/{id}/restock"},
                                   {"POST", "/orders"},
                                   {"GET", "/orders"},
                                   {"GET", "/orders/{id}"},
                                   {"POST", "/orders/{id}/cancel"},
                                   {"GET", "/admin/dead-letters"},
                                   {"POST", "/admin/dead-letters/{id}/replay"}})
      r.add(method, pattern, false, none);
    return r;
  }();
  static const char* methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", ""};
  if (size == 0)
    return 0;
  std::string method = methods[data[0] % 8];
  std::string path(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto match = routes.find(method, path);
  for (auto& p : match.params)
    if (path.find(p) == std::string::npos)
      std::abort();
  return 0;
}
