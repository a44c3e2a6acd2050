// Reads app.* from CAF's parsed settings into app_settings, checking every key: CAF drops
// type errors in the file silently, so this is where a bad value stops the start.
#pragma once

#include "config/app_settings.hpp"
#include "config/entry_readers.hpp"

#include <caf/settings.hpp>

#include <string>
#include <vector>

namespace config {

// Fills `out` from `content`; returns one message per problem, each naming the key and
// what is allowed. An empty result means `out` is complete and valid.
std::vector<std::string> read_settings(const caf::settings& content, const module_names& known,
                                       app_settings& out);

// Whether a key under app.* takes a string (command-line values for these are taken
// verbatim instead of being parsed as config values).
bool is_string_key(const std::string& key);

} // namespace config
