// Renders the settings schema as the README's markdown table (see settings_markdown.hpp).
#include "config/settings_markdown.hpp"

#include "config/settings_schema.hpp"

namespace config {

namespace {

// Strings and sections in code spans, as a reader would write them in the file; numbers,
// timespans and booleans plain.
std::string shown_default(const key_default& fallback) {
  if (!fallback.value)
    return fallback.note.empty() ? "none" : fallback.note;
  auto& text = *fallback.value;
  bool code = !text.empty() && (text.front() == '"' || text.front() == '{');
  auto value = code ? "`" + text + "`" : text;
  return fallback.note.empty() ? value : value + " " + fallback.note;
}

} // namespace

std::string describe_settings() {
  std::string table = "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (auto& entry : settings_schema())
    table += "| `" + entry.key + "` | " + entry.type.shown + " | " + shown_default(entry.fallback) +
             " | " + entry.meaning + " |\n";
  return table;
}

} // namespace config
