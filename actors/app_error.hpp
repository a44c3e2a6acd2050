// The error vocabulary of every typed interface. A module answers a request with one of
// these kinds plus the code and text written for the client (docs/openapi.yaml, ErrorEnvelope);
// the gateway maps kinds to HTTP statuses in one table (http/error_mapping.cpp).
#pragma once

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

enum class app_error : uint8_t {
  none = 0,
  not_found,         // 404
  validation_failed, // 400
  conflict,          // 409
  unprocessable,     // 422
  unavailable,       // 503: a dependency (database, peer) cannot be reached
  internal,          // 500: a bug; details go to the log only
};

CAF_ERROR_CODE_ENUM(app_error, "app")

std::string to_string(app_error x);

// One offending field of a request, named as in docs/openapi.yaml ("items[0].quantity").
struct field_issue {
  std::string field;
  std::string issue;
  friend bool operator==(const field_issue& a, const field_issue& b) {
    return a.field == b.field && a.issue == b.issue;
  }
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, field_issue& x) {
  return f(caf::meta::type_name("field_issue"), x.field, x.issue);
}

using field_issues = std::vector<field_issue>;

// Builds an error whose context carries the client-facing code, message and details.
caf::error make_app_error(app_error kind, std::string code, std::string message,
                          field_issues details = {});

// The client-facing view of any error: app errors as written by the module; anything
// else (a dead actor, a timeout, a lost peer) reads as UNAVAILABLE.
struct error_view {
  app_error kind = app_error::internal;
  std::string code;
  std::string message;
  field_issues details;
};

error_view describe(const caf::error& err);

// Shorthands for the errors every module uses.
caf::error not_found_error(const std::string& what);
caf::error unavailable_error();
// What operators read about a failed delivery: an application error's message, else
// CAF's rendering of the error.
std::string operator_text(const caf::error& err, caf::actor_system& sys);
caf::error validation_error(field_issues details);
