// The typed checks of one app.* value: each stores the value if it has the right type and
// range, else reports "<key>: <what is allowed> (got <value>)".
#pragma once

#include "config/app_settings.hpp"

#include <caf/config_value.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace config {

using problems = std::vector<std::string>;

struct key_reader {
  const std::string& key;
  const caf::config_value& value;
  problems& out;

  bool fail(const std::string& what);
  bool integer(int64_t min, int64_t max, int64_t& result);
  bool timespan(millis min, millis max, millis& result);
  bool boolean(bool& result);
  bool string(std::string& result);
};

// A value as the problems show it.
std::string show(const caf::config_value& value);

} // namespace config
