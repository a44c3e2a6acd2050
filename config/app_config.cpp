// Loads configuration in three layers: built-in defaults, the file, then --app.* flags.
// CAF 0.17 rejects undeclared command-line keys and drops ill-typed file values, so the
// app.* keys are taken off the command line here and checked by settings_reader.
#include "config/app_config.hpp"

#include <caf/config_value.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/settings.hpp>

#include <filesystem>
#include <sstream>

namespace config {

app_config::app_config() {
  // The work-stealing scheduler's idle polling adds ~100us to every request/reply that
  // wakes a thread; the file may still override this.
  set("work-stealing.moderate-poll-attempts", 0);
  // Nodes talk over BASP. CAF notices a hung peer only through heartbeats: with these a
  // frozen node is declared unreachable within about a second.
  actor_system_config::load<caf::io::middleman>();
  set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds{250}});
  set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds{1000}});
  set("logger.verbosity", caf::atom("quiet"));
}

std::vector<std::string> app_config::load(int argc, char** argv, const module_names& known) {
  std::vector<std::string> problems;
  caf::actor_system_config::string_list caf_args;
  std::vector<std::pair<std::string, std::string>> overrides;
  bool explicit_file = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--describe-topology") {
      describe_topology = true;
    } else if (arg == "--edge-config") {
      print_edge_config = true;
    } else if (arg == "--describe-settings") {
      describe_settings = true;
    } else if (arg.rfind("--app.", 0) == 0) {
      auto eq = arg.find('=');
      if (eq == std::string::npos)
        problems.push_back(arg.substr(2) + ": give a value as --" + arg.substr(2) + "=VALUE");
      else
        overrides.emplace_back(arg.substr(2, eq - 2), arg.substr(eq + 1));
    } else {
      explicit_file = explicit_file || arg.rfind("--config-file=", 0) == 0;
      caf_args.push_back(std::move(arg));
    }
  }
  caf::error err;
  if (explicit_file || std::filesystem::exists(default_file)) {
    err = parse(std::move(caf_args), default_file);
  } else {
    std::istringstream no_file;
    err = parse(std::move(caf_args), no_file);
  }
  if (err) {
    problems.push_back("configuration: " + render(err));
    return problems;
  }
  for (auto& [key, text] : overrides) {
    caf::config_value value{text};
    if (!is_string_key(key))
      if (auto parsed = caf::config_value::parse(text))
        value = std::move(*parsed);
    caf::put(content, key, std::move(value));
  }
  auto found = read_settings(content, known, settings_);
  problems.insert(problems.end(), found.begin(), found.end());
  // A node without peers has nobody to watch. Its BASP broker's heartbeat would only
  // cost wake-ups, and CAF 0.17 leaks the broker when a tick is in its mailbox at exit
  // (the tick names the broker as its sender: a cycle nothing breaks).
  if (problems.empty() && settings_.nodes.size() < 2)
    set("middleman.heartbeat-interval", caf::timespan{0});
  if (problems.empty() && settings_.tls.enabled()) {
    // Links between nodes use CAF's OpenSSL module: mutual TLS, every peer's chain checked
    // against cafile (settings_reader has checked that the three files exist).
    actor_system_config::load<caf::openssl::manager>();
    openssl_certificate = settings_.tls.certificate;
    openssl_key = settings_.tls.key;
    openssl_cafile = settings_.tls.cafile;
  }
  return problems;
}

} // namespace config
