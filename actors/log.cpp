// See log.hpp.
#include "actors/log.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>

namespace logging {

std::string rfc3339_now() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", int(ms));
  return buf;
}

void write(level lvl, const std::string& msg, nlohmann::json fields) {
  static constexpr const char* names[] = {"debug", "info", "warn", "error"};
  nlohmann::json line = {{"time", rfc3339_now()}, {"level", names[int(lvl)]}, {"msg", msg}};
  if (fields.is_object())
    line.update(fields);
  auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  // A short write to stderr only happens when it is gone; nothing useful to do then.
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, text.data(), text.size());
}

} // namespace logging
