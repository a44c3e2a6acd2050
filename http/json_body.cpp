// See json_body.hpp.
#include "http/json_body.hpp"

#include <cctype>
#include <cmath>
#include <cstdint>

namespace http {

namespace {

// Depth is checked before parsing so that a deeply nested body costs a linear scan,
// not a recursive parse.
bool within_depth(const std::string& text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth)
        return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

} // namespace

bool is_json_media_type(const std::string& content_type) {
  auto end = content_type.find(';');
  auto type = content_type.substr(0, end);
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back())))
    type.pop_back();
  std::string lower;
  for (unsigned char c : type)
    lower += char(std::tolower(c));
  return lower == "application/json";
}

std::optional<nlohmann::json> parse_json_object(const std::string& body, int max_depth) {
  if (!within_depth(body, max_depth))
    return std::nullopt;
  // nlohmann's parser rejects invalid UTF-8 inside strings and trailing garbage.
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return std::nullopt;
  return parsed;
}

namespace {

nlohmann::json canonical(const nlohmann::json& value) {
  if (value.is_object()) {
    auto result = nlohmann::json::object();
    for (auto& [key, item] : value.items())
      result[key] = canonical(item);
    return result;
  }
  if (value.is_array()) {
    auto result = nlohmann::json::array();
    for (auto& item : value)
      result.push_back(canonical(item));
    return result;
  }
  if (value.is_number_float()) {
    double x = value.get<double>();
    if (std::isfinite(x) && std::trunc(x) == x && std::abs(x) < 9007199254740992.0)
      return static_cast<int64_t>(x);
  }
  if (value.is_number_unsigned() && value.get<uint64_t>() <= uint64_t(INT64_MAX))
    return value.get<int64_t>();
  return value;
}

} // namespace

std::string canonical_json(const nlohmann::json& document) {
  return canonical(document).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool is_json_document(const std::string& body, int max_depth) {
  return within_depth(body, max_depth) && nlohmann::json::accept(body);
}

} // namespace http
