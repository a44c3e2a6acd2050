// Strict request bodies: application/json only, valid UTF-8 JSON, at most 64 levels
// deep, an object at the top. Anything else is refused before a module sees it.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace http {

// Whether a Content-Type header names JSON ("application/json", any parameters).
bool is_json_media_type(const std::string& content_type);

// The body as a JSON object, or nullopt when it is not valid JSON, not an object, or
// nested deeper than `max_depth`.
std::optional<nlohmann::json> parse_json_object(const std::string& body, int max_depth = 64);

// The document in one canonical text: keys sorted, no white space, and numbers by value
// (10, 10.0 and 1e1 all read 10), so that two bodies that mean the same compare equal.
std::string canonical_json(const nlohmann::json& document);

// Whether the body is any valid JSON document within `max_depth` (for routes that take
// no body but were sent one).
bool is_json_document(const std::string& body, int max_depth = 64);

} // namespace http
