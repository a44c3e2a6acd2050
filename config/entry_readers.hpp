// The readers of the keys with a variable part (app.nodes.NAME, app.modules.MODULE, ...):
// each reads one entry of its section, named by the part that varies.
#pragma once

#include "config/app_settings.hpp"
#include "config/key_reader.hpp"

#include <caf/config_value.hpp>

#include <string>
#include <vector>

namespace config {

// The modules the binary knows (from modules/modules.cpp), for checking module names.
using module_names = std::vector<std::string>;

using entry_reader = void (*)(const std::string& name, const caf::config_value& value,
                              const module_names& known, app_settings& s, problems& out);

void read_node(const std::string& name, const caf::config_value& value, const module_names& known,
               app_settings& s, problems& out);
void read_placement(const std::string& module, const caf::config_value& value,
                    const module_names& known, app_settings& s, problems& out);
void read_module_dsn(const std::string& module, const caf::config_value& value,
                     const module_names& known, app_settings& s, problems& out);
void read_database(const std::string& name, const caf::config_value& value,
                   const module_names& known, app_settings& s, problems& out);
void read_module_database(const std::string& module, const caf::config_value& value,
                          const module_names& known, app_settings& s, problems& out);

} // namespace config
