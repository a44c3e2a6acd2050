// The README's configuration table, printed from the settings schema
// (monolith --describe-settings; config_test checks that README.md holds it).
#pragma once

#include <string>

namespace config {

// The markdown table: a header and one row per key, each line ending in a newline.
std::string describe_settings();

} // namespace config
