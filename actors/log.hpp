// One JSON object per line on stderr: {"time","level","msg",...fields}. Lines are written
// with a single write(2) so that concurrent writers never interleave within a line.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace logging {

enum class level { debug, info, warn, error };

void write(level lvl, const std::string& msg, nlohmann::json fields = nlohmann::json::object());

inline void info(const std::string& msg, nlohmann::json fields = nlohmann::json::object()) {
  write(level::info, msg, std::move(fields));
}
inline void warn(const std::string& msg, nlohmann::json fields = nlohmann::json::object()) {
  write(level::warn, msg, std::move(fields));
}
inline void error(const std::string& msg, nlohmann::json fields = nlohmann::json::object()) {
  write(level::error, msg, std::move(fields));
}

// Now as RFC 3339 UTC with milliseconds, e.g. 2026-11-26T13:41:07.123Z.
std::string rfc3339_now();

} // namespace logging
