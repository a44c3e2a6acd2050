// The node's directory: where is module X's actor? Each module group registers its stable
// handle (its supervisor) when it starts or is restarted; callers (the gateway, a module
// querying another, the event bus) look modules up here and look again after an error.
// The distribution issue extends it to modules on other nodes.
#pragma once

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

// (directory_put_atom, module, handle): registers (and monitors) a module's handle.
using directory_put_atom = caf::atom_constant<caf::atom("dirput")>;
// (directory_get_atom, module) -> caf::actor, or app_error::unavailable while it is down.
using directory_get_atom = caf::atom_constant<caf::atom("dirget")>;

caf::actor spawn_directory(caf::actor_system& sys);
