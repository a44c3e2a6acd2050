// The readiness probe every module service answers: "up" when the module can reach its
// database as its own role, an app_error::unavailable otherwise. /ready asks each local
// module through this interface, whatever else the module's interface holds.
#pragma once

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>

struct health_probe {};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, health_probe& x) {
  static_cast<void>(x);
  return f(caf::meta::type_name("health_probe"));
}

using health_api = caf::typed_actor<caf::replies_to<health_probe>::with<std::string>>;
