// Errors to HTTP, in one place: a module's error kind picks the status, its code and
// message (written for clients) fill the envelope. Errors that are not the module's
// own (a dead actor, a timeout) read as 503 UNAVAILABLE; internal ones as a bare 500.
#include "http/exchange.hpp"

namespace http {

namespace {

// Text that came from the request (a path) may hold invalid UTF-8: replace, never throw.
std::string dump(const nlohmann::json& document) {
  return document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

int status_for(app_error kind) {
  switch (kind) {
  case app_error::not_found:
    return 404;
  case app_error::validation_failed:
    return 400;
  case app_error::conflict:
    return 409;
  case app_error::unprocessable:
    return 422;
  case app_error::unavailable:
    return 503;
  case app_error::none:
  case app_error::internal:
    break;
  }
  return 500;
}

void exchange::ok(int status, nlohmann::json data) {
  response.status = status;
  nlohmann::json envelope = {{"success", true}, {"data", std::move(data)}};
  response.set_content(dump(envelope), "application/json");
}

void exchange::fail(const caf::error& err) {
  auto view = describe(err);
  fail(status_for(view.kind), view.code, view.message, view.details);
}

void exchange::fail(int status, const std::string& code, const std::string& message,
                    const field_issues& details) {
  auto list = nlohmann::json::array();
  for (auto& d : details)
    list.push_back({{"field", d.field}, {"issue", d.issue}});
  nlohmann::json envelope = {{"success", false},
                             {"error", {{"code", code}, {"message", message}, {"details", list}}}};
  response.status = status;
  response.set_content(dump(envelope), "application/json");
}

void exchange::raw(int status, const nlohmann::json& document) {
  response.status = status;
  response.set_content(dump(document), "application/json");
}

} // namespace http
