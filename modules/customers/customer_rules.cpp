// The customers module's request rules (declared in api.hpp).
#include "modules/customers/api.hpp"

#include "actors/validation.hpp"

namespace customers {

namespace {

bool valid_email(const std::string& email) {
  auto n = code_points(email);
  if (n < 3 || n > 254 || contains_space(email) || email.find('\0') != std::string::npos)
    return false;
  auto at = email.find('@');
  return at != std::string::npos && at > 0 && at + 1 < email.size() &&
         email.find('@', at + 1) == std::string::npos;
}

} // namespace

field_issues check(const register_customer& request) {
  field_issues issues;
  check_length(issues, "name", request.name, 1, 200);
  if (!valid_email(request.email))
    issues.push_back({"email", "must be an e-mail address of 3 to 254 characters with exactly one "
                               "'@', text on both sides and no spaces"});
  return issues;
}

} // namespace customers
