// The node's directory: where is module X's actor? Each module group registers its stable
// handle (its supervisor) when it starts or is restarted; callers (the gateway, a module
// querying another, the event bus) look modules up here and look again after an error.
//
// Modules placed on other nodes (app.modules) are resolved through those nodes'
// directories, which every node publishes on its BASP port: callers get the same handle
// type for a remote actor as for a local one, so moving a module is configuration only.
// The directory keeps a link to every peer, notices a dead or hung one (BASP heartbeats
// end in a down message), answers UNAVAILABLE at once for modules that have no reachable
// node, and reconnects with backoff.
#pragma once

#include "actors/trusted_nodes.hpp"
#include "config/app_settings.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>

// (directory_put_atom, module, handle): registers (and monitors) a module's handle.
using directory_put_atom = caf::atom_constant<caf::atom("dirput")>;
// (directory_get_atom, module) -> caf::actor, or app_error::unavailable while no node
// placed for it is reachable. A module on several nodes (replicas) is handed out in turn.
using directory_get_atom = caf::atom_constant<caf::atom("dirget")>;
// (directory_local_get_atom, module) -> caf::actor: this node's own instance only (what
// peers and the node's health checks ask).
using directory_local_get_atom = caf::atom_constant<caf::atom("dirlocal")>;
// (directory_peers_atom) -> std::map<std::string, bool>: every other node, reachable or not.
using directory_peers_atom = caf::atom_constant<caf::atom("dirpeers")>;

// The modules registered on this node, kept outside the directory actor: a directory
// that crashed and was restarted by its supervisor starts with them again. Weak handles:
// these outlive the actors, and a strong one would keep a stopped relay's object alive
// (CAF 0.17's actor system waits for that at shutdown).
struct directory_registrations {
  std::mutex mutex;
  std::map<std::string, caf::actor_addr> local;
};

struct directory_config {
  std::string node;                                          // this node's name
  std::vector<config::node_endpoint> nodes;                  // the whole cluster
  std::map<std::string, std::vector<std::string>> placement; // module -> nodes
  config::millis request_timeout{800};                       // for every cross-node ask
  bool tls = false;                       // links through CAF's OpenSSL module (app.tls)
  std::shared_ptr<trusted_nodes> trusted; // learns each peer's node id as it links
  std::shared_ptr<directory_registrations> registrations; // made by spawn_directory if null
};

// The directory runs under a supervisor of its own (actors/supervisor.hpp): the handle
// returned is the supervisor's, stable across restarts, and a restarted directory has
// every registration back and links to the peers again.
caf::actor spawn_directory(caf::actor_system& sys, directory_config cfg);

// What the node publishes on its BASP port for its peers: it answers
// directory_local_get_atom from `directory`, to peers only (`trusted`), and drops
// everything else (a peer never registers, reconfigures or lists anything here). It lives
// and dies with `directory`.
caf::actor spawn_directory_face(caf::actor_system& sys, caf::actor directory,
                                std::shared_ptr<const trusted_nodes> trusted);
