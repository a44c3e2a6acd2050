// See app_error.hpp.
#include "actors/app_error.hpp"

#include <caf/actor_system.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

std::string to_string(app_error x) {
  switch (x) {
  case app_error::none:
    return "none";
  case app_error::not_found:
    return "not_found";
  case app_error::validation_failed:
    return "validation_failed";
  case app_error::conflict:
    return "conflict";
  case app_error::unprocessable:
    return "unprocessable";
  case app_error::unavailable:
    return "unavailable";
  case app_error::internal:
    return "internal";
  }
  return "unknown";
}

caf::error make_app_error(app_error kind, std::string code, std::string message,
                          field_issues details) {
  return caf::make_error(kind, std::move(code), std::move(message), std::move(details));
}

error_view describe(const caf::error& err) {
  if (err.category() == caf::atom("app")) {
    error_view view;
    view.kind = static_cast<app_error>(err.code());
    auto& ctx = err.context();
    if (ctx.match_elements<std::string, std::string, field_issues>()) {
      view.code = ctx.get_as<std::string>(0);
      view.message = ctx.get_as<std::string>(1);
      view.details = ctx.get_as<field_issues>(2);
    }
    if (view.code.empty() || view.kind == app_error::internal)
      view = {app_error::internal, "INTERNAL", "internal error", {}};
    return view;
  }
  // Errors of CAF itself: the receiver is gone, restarting, unreachable or too slow.
  return {app_error::unavailable, "UNAVAILABLE", "service temporarily unavailable", {}};
}

caf::error not_found_error(const std::string& what) {
  return make_app_error(app_error::not_found, "NOT_FOUND", what + " not found");
}

caf::error unavailable_error() {
  return make_app_error(app_error::unavailable, "UNAVAILABLE", "service temporarily unavailable");
}

caf::error validation_error(field_issues details) {
  return make_app_error(app_error::validation_failed, "VALIDATION_FAILED",
                        "request validation failed", std::move(details));
}

std::string operator_text(const caf::error& err, caf::actor_system& sys) {
  if (err.category() == caf::atom("app")) {
    auto& ctx = err.context();
    if (ctx.match_elements<std::string, std::string, field_issues>())
      return ctx.get_as<std::string>(1);
  }
  return sys.render(err);
}
