// The operators' endpoints (docs/openapi.yaml, tag admin): outbox state and dead letters of every
// module on this node, asked of each module's outbox relay. When app.admin.token is set,
// each needs "Authorization: Bearer <token>".
#include "http/replies.hpp"
#include "http/routes.hpp"

#include "actors/outbox_relay.hpp"
#include "actors/validation.hpp"

namespace http {

namespace {

// Compares in time that depends on the lengths only, never on where the first
// difference is: a client cannot find the token byte by byte by timing replies.
bool same_secret(const std::string& given, const std::string& expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i)
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
  return difference == 0;
}

// False (after answering 401) when a token is configured and the request lacks it.
// (Without one, the node only starts with its gateway on a loopback address.)
bool authorised(exchange& ex, const std::string& token) {
  if (token.empty() || same_secret(ex.request.get_header_value("Authorization"), "Bearer " + token))
    return true;
  ex.response.set_header("WWW-Authenticate", "Bearer");
  ex.fail(401, "UNAUTHORIZED", "a valid bearer token is required");
  return false;
}

nlohmann::json to_json(const dead_letter& d) {
  return {{"id", d.id},
          {"eventId", d.event_id},
          {"eventName", d.event_name},
          {"consumer", d.consumer},
          {"attempts", d.attempts},
          {"lastError", d.last_error},
          {"failedAt", d.failed_at}};
}

// Asks every module's relay, wherever it runs, to act on dead letter `id`; 404 when none
// knows it.
void act_on_dead_letter(exchange& ex, module_caller& modules, const std::vector<std::string>& local,
                        bool replay, int status, const char* state) {
  const auto& id = ex.params[0];
  if (!is_uuid(id))
    return ex.fail(not_found_error("dead letter"));
  for (auto& module : local) {
    auto done = replay ? modules.call<relay_api, bool>("relay:" + module, replay_atom::value, id)
                       : modules.call<relay_api, bool>("relay:" + module, discard_atom::value, id);
    if (!done)
      return ex.fail(done.error());
    if (*done)
      return ex.ok(status, {{"id", lower_case(id)}, {"status", state}});
  }
  ex.fail(not_found_error("dead letter"));
}

} // namespace

void add_admin_routes(router& routes, module_caller& modules, std::vector<std::string> local,
                      std::string token) {
  routes.add("GET", "/admin/outbox", false, [&modules, local, token](exchange& ex) {
    if (!authorised(ex, token))
      return;
    auto list = nlohmann::json::array();
    for (auto& module : local) {
      auto status =
          modules.call<relay_api, outbox_status>("relay:" + module, outbox_status_atom::value);
      if (!status)
        return ex.fail(status.error());
      list.push_back({{"module", status->module},
                      {"pending", status->pending},
                      {"oldestPendingAgeMs", status->oldest_pending_age_ms},
                      {"published", status->published},
                      {"deadLettered", status->dead_lettered}});
    }
    ex.ok(200, {{"modules", list}});
  });
  routes.add("GET", "/admin/dead-letters", false, [&modules, local, token](exchange& ex) {
    if (!authorised(ex, token))
      return;
    auto list = nlohmann::json::array();
    for (auto& module : local) {
      auto letters = modules.call<relay_api, std::vector<dead_letter>>("relay:" + module,
                                                                       dead_letters_atom::value);
      if (!letters)
        return ex.fail(letters.error());
      for (auto& d : *letters)
        list.push_back(to_json(d));
    }
    ex.ok(200, list);
  });
  routes.add("POST", "/admin/dead-letters/{id}/replay", false,
             [&modules, local, token](exchange& ex) {
               if (authorised(ex, token))
                 act_on_dead_letter(ex, modules, local, true, 202, "REPLAYING");
             });
  routes.add("POST", "/admin/dead-letters/{id}/discard", false,
             [&modules, local, token](exchange& ex) {
               if (authorised(ex, token))
                 act_on_dead_letter(ex, modules, local, false, 200, "DISCARDED");
             });
}

} // namespace http
