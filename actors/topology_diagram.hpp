// `monolith --describe-topology`: the module graph (which events flow from which module to
// which consumer), the placement of each module on the nodes and the database each module's
// data lives in, as a mermaid flowchart drawn from the module registry and the
// configuration, never written by hand.
#pragma once

#include "actors/module_definition.hpp"
#include "config/app_settings.hpp"

#include <string>
#include <vector>

std::string describe_topology(const std::vector<module_definition>& modules,
                              const config::app_settings& settings);
