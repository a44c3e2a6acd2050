// See router.hpp.
#include "http/router.hpp"

namespace http {

namespace {

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 1; // paths begin with '/'
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos)
      end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool matches(const route& r, const std::vector<std::string>& parts,
             std::vector<std::string>& params) {
  if (r.segments.size() != parts.size())
    return false;
  std::vector<std::string> found;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (r.segments[i] == "{id}") {
      if (parts[i].empty())
        return false;
      found.push_back(parts[i]);
    } else if (r.segments[i] != parts[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

} // namespace

void router::add(const std::string& method, const std::string& pattern, bool takes_json_body,
                 handler handle) {
  routes_.push_back({method, pattern, split(pattern), takes_json_body, std::move(handle)});
}

router::match router::find(const std::string& method, const std::string& path) const {
  match result;
  if (path.empty() || path[0] != '/')
    return result;
  auto parts = split(path);
  const auto& wanted = method == "HEAD" ? std::string{"GET"} : method;
  for (auto& r : routes_) {
    std::vector<std::string> params;
    if (!matches(r, parts, params))
      continue;
    if (r.method == wanted) {
      result.found = &r;
      result.params = std::move(params);
      result.allow.clear();
      return result;
    }
    if (result.allow.find(r.method) == std::string::npos)
      result.allow += (result.allow.empty() ? "" : ", ") + r.method;
  }
  return result;
}

} // namespace http
