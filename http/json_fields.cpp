// See json_fields.hpp.
#include "http/json_fields.hpp"

#include <algorithm>
#include <cmath>

namespace http {

const nlohmann::json* json_fields::field(const char* name, const char* expected) {
  auto i = object_.find(name);
  if (i == object_.end() || i->is_null()) {
    issues_.push_back({prefix_ + name, std::string{"is required ("} + expected + ")"});
    return nullptr;
  }
  return &*i;
}

std::string json_fields::string(const char* name) {
  auto value = field(name, "a string");
  if (!value)
    return {};
  if (!value->is_string()) {
    issues_.push_back({prefix_ + name, "must be a string"});
    return {};
  }
  auto text = value->get<std::string>();
  // PostgreSQL text cannot hold NUL; refuse it rather than cut the value short.
  if (text.find('\0') != std::string::npos) {
    issues_.push_back({prefix_ + name, "must not contain NUL characters"});
    return {};
  }
  return text;
}

const nlohmann::json* json_fields::array(const char* name, const char* expected) {
  auto value = field(name, expected);
  if (value && !value->is_array()) {
    issues_.push_back({prefix_ + name, std::string{"must be "} + expected});
    return nullptr;
  }
  return value;
}

int64_t json_fields::integer(const char* name) {
  auto value = field(name, "an integer");
  if (!value)
    return 0;
  if (value->is_number_integer() && !value->is_number_unsigned())
    return value->get<int64_t>();
  if (value->is_number_unsigned()) {
    auto u = value->get<uint64_t>();
    return u > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(u);
  }
  issues_.push_back({prefix_ + name, "must be an integer"});
  return 0;
}

int64_t json_fields::money_cents(const char* name) {
  auto value = field(name, "a number");
  if (!value)
    return 0;
  if (value->is_number_integer()) {
    auto units = value->is_number_unsigned() ? double(value->get<uint64_t>())
                                             : double(value->get<int64_t>());
    return std::abs(units) > 1e15 ? INT64_MAX / 2 : int64_t(units) * 100;
  }
  if (!value->is_number_float()) {
    issues_.push_back({prefix_ + name, "must be a number"});
    return 0;
  }
  double amount = value->get<double>();
  if (!std::isfinite(amount) || std::abs(amount) > 1e13)
    return INT64_MAX / 2;
  // Both the JSON parser and this division round correctly, so the value had at most
  // two decimal places exactly when it equals its cents divided by 100.
  auto cents = std::llround(amount * 100);
  if (double(cents) / 100.0 != amount) {
    issues_.push_back({prefix_ + name, "must have at most 2 decimal places"});
    return 0;
  }
  return cents;
}

field_issues json_fields::merge(const field_issues& module_issues) const {
  field_issues all = issues_;
  // A field already reported (or an element reported as a whole, "items[0]") hides what
  // the module says about it or anything under it.
  auto covered = [&](const std::string& field) {
    return std::any_of(issues_.begin(), issues_.end(), [&](auto& known) {
      return field == known.field || field.rfind(known.field + ".", 0) == 0 ||
             field.rfind(known.field + "[", 0) == 0;
    });
  };
  for (auto& issue : module_issues)
    if (!covered(issue.field))
      all.push_back(issue);
  return all;
}

nlohmann::json money_json(int64_t cents) {
  if (cents % 100 == 0)
    return cents / 100;
  return double(cents) / 100.0;
}

} // namespace http
