// Small readers of API.md's JSON shapes shared by the HTTP contract tests.
#pragma once

#include <nlohmann/json.hpp>

#include <regex>
#include <set>
#include <string>

namespace testing_support {

// Lower-case hyphenated UUIDs (API.md "Ids") and RFC 3339 UTC with milliseconds.
inline const std::regex uuid_pattern{"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"};
inline const std::regex timestamp_pattern{R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)"};

// The member names of a JSON object (empty for anything else).
inline std::set<std::string> keys_of(const nlohmann::json& object) {
  std::set<std::string> keys;
  if (object.is_object())
    for (auto& item : object.items())
      keys.insert(item.key());
  return keys;
}

// The "field" of every entry in an error envelope's details.
inline std::set<std::string> detail_fields(const nlohmann::json& body) {
  std::set<std::string> fields;
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object() ||
      !body["error"].contains("details") || !body["error"]["details"].is_array())
    return fields;
  for (auto& d : body["error"]["details"])
    if (d.is_object() && d.contains("field") && d["field"].is_string())
      fields.insert(d["field"].get<std::string>());
  return fields;
}

} // namespace testing_support
