// The one table of app.* keys: for each key its type and allowed range, its default and
// its meaning. The reader checks values with it, defaults() takes the defaults from it,
// and the README's configuration table is printed from it (monolith --describe-settings).
#pragma once

#include "config/app_settings.hpp"
#include "config/entry_readers.hpp"
#include "config/key_reader.hpp"

#include <caf/config_value.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace config {

// What a key takes: its type as the README shows it, and the reader that checks a value
// and stores it. A key with a variable part (app.nodes.NAME) has a reader of one entry
// of its section instead.
struct key_type {
  std::string shown;         // "int 1..1024", "timespan 10ms..10min", "string"
  bool takes_string = false; // command-line values are taken verbatim, not parsed
  std::function<void(key_reader&, app_settings&)> read;
  entry_reader read_entry = nullptr;
};

// A default as written in the configuration file, read by the key's own reader (so it
// obeys the key's range), or none. `note` follows it in the README, or stands for it when
// the default is a rule rather than a value.
struct key_default {
  std::optional<std::string> value;
  std::string note;
};

struct setting {
  std::string key; // NAME or MODULE stands for the part that varies
  key_type type;
  key_default fallback;
  std::string meaning; // one line, as the README shows it

  bool has_variable_part() const { return type.read_entry != nullptr; }
  // Where the entries of a key with a variable part are: app.nodes for app.nodes.NAME.
  std::string section() const { return key.substr(0, key.rfind('.')); }
  // The default as a configuration value (only when fallback.value is set).
  caf::config_value default_value() const;
};

// Every key, in the README's order.
const std::vector<setting>& settings_schema();

// The entry of a fixed key, or null.
const setting* find_setting(const std::string& key);

// The entry of the keys with a variable part whose entries are in `section`, or null.
const setting* find_section(const std::string& section);

} // namespace config
