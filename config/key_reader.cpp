// The typed checks of one app.* value (see key_reader.hpp).
#include "config/key_reader.hpp"

#include <caf/deep_to_string.hpp>

namespace config {

std::string show(const caf::config_value& value) {
  return caf::to_string(value);
}

bool key_reader::fail(const std::string& what) {
  out.push_back(key + ": " + what + " (got " + show(value) + ")");
  return false;
}

bool key_reader::integer(int64_t min, int64_t max, int64_t& result) {
  auto x = caf::get_if<int64_t>(&value);
  if (!x || *x < min || *x > max)
    return fail("must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  result = *x;
  return true;
}

bool key_reader::timespan(millis min, millis max, millis& result) {
  auto x = caf::get_if<caf::timespan>(&value);
  if (!x)
    return fail("must be a timespan such as 500ms or 2s");
  auto ms = std::chrono::duration_cast<millis>(*x);
  if (ms < min || ms > max)
    return fail("must be from " + std::to_string(min.count()) + "ms to " +
                std::to_string(max.count()) + "ms");
  result = ms;
  return true;
}

bool key_reader::boolean(bool& result) {
  auto x = caf::get_if<bool>(&value);
  if (!x)
    return fail("must be true or false");
  result = *x;
  return true;
}

bool key_reader::string(std::string& result) {
  auto x = caf::get_if<std::string>(&value);
  if (!x)
    return fail("must be a string in double quotes");
  result = *x;
  return true;
}

} // namespace config
