// A one_for_one supervisor, the only one the project has: every module's actors and the
// node's module groups run under it. CAF gives monitors, not supervisors.
//
// - Children are spawned from factories, in order, and monitored.
// - A child that exits abnormally is spawned again; one that exits normally is not.
// - More than `max_restarts` restarts within `window`: the supervisor exits with
//   supervision_error::restart_limit_reached, so that its own parent restarts the group.
// - When the supervisor exits, so do its children.
// - Messages it does not understand go to its `front` child, so callers keep one stable
//   handle while the child behind it is replaced. A request that was in flight to a child
//   that dies is answered with an error by CAF (never left hanging).
#pragma once

#include "actors/trusted_nodes.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

enum class supervision_error : uint8_t { restart_limit_reached = 1 };

CAF_ERROR_CODE_ENUM(supervision_error, "supervise")

std::string to_string(supervision_error x);

// (which_child_atom, name) -> caf::actor: the current handle of a child (or not_found).
using which_child_atom = caf::atom_constant<caf::atom("whichchild")>;
// (restarts_atom) -> int64_t: restarts performed so far.
using restarts_atom = caf::atom_constant<caf::atom("restarts")>;

struct child_spec {
  std::string name;
  std::function<caf::actor(caf::actor_system&)> spawn;
};

struct restart_limit {
  int max_restarts = 5;
  std::chrono::milliseconds window{10000};
};

struct supervisor_spec {
  std::string name;
  restart_limit limit;
  std::vector<child_spec> children;
  std::string front;                // child that receives forwarded messages; empty: none
  std::function<void()> on_restart; // called for each restart (metrics); may be empty
  // Whose messages it serves (a module's group, reachable from peers); null: anyone's.
  std::shared_ptr<const trusted_nodes> trusted = nullptr;
};

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_spec spec);
