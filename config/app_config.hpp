// The process's actor_system_config: CAF's own settings plus our app.* settings, read
// from caf-application.conf (or --config-file=PATH) and --app.key=value overrides.
#pragma once

#include "config/app_settings.hpp"
#include "config/settings_reader.hpp"

#include <caf/actor_system_config.hpp>

#include <string>
#include <vector>

namespace config {

class app_config : public caf::actor_system_config {
public:
  static constexpr const char* default_file = "caf-application.conf";

  app_config();

  // Parses the command line and the configuration file, then checks every app.* key.
  // Returns the problems found, each naming its key; empty means settings() is valid.
  std::vector<std::string> load(int argc, char** argv, const module_names& known);

  const app_settings& settings() const { return settings_; }

  // Flags of the binary itself (not configuration): --describe-topology, --edge-config,
  // --describe-settings.
  bool describe_topology = false;
  bool print_edge_config = false;
  bool describe_settings = false;

private:
  app_settings settings_;
};

} // namespace config
