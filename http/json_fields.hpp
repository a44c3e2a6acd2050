// Reads typed fields out of a JSON request object and records what is wrong with each
// (docs/openapi.yaml: integers must be JSON integers, money has at most 2 decimal places). Range
// and length rules belong to the modules (their check() functions); merge() keeps one
// issue per field, the type issue first.
#pragma once

#include "actors/app_error.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace http {

class json_fields {
public:
  explicit json_fields(const nlohmann::json& object, std::string prefix = "")
      : object_(object), prefix_(std::move(prefix)) {}

  std::string string(const char* name);
  int64_t integer(const char* name);
  // A price as integer cents; out-of-range values come back out of range, for the
  // module's check to report.
  int64_t money_cents(const char* name);

  // The array under `name`, or null (with an issue) when it is missing or not an array.
  const nlohmann::json* array(const char* name, const char* expected);
  // Records an issue found by the caller (e.g. in a nested element).
  void add_issue(field_issue issue) { issues_.push_back(std::move(issue)); }

  const field_issues& issues() const { return issues_; }
  // Adds the module's issues for fields that have no type issue yet.
  field_issues merge(const field_issues& module_issues) const;

private:
  const nlohmann::json* field(const char* name, const char* expected);

  const nlohmann::json& object_;
  std::string prefix_;
  field_issues issues_;
};

// Money for responses: whole amounts as JSON integers, others with their cents.
nlohmann::json money_json(int64_t cents);

} // namespace http
