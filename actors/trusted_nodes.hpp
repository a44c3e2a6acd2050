// Which CAF nodes this one serves: itself, and the peers of its topology that its
// directory linked to (by the node ids CAF's handshake gave it). A process that merely
// reaches the node port is not among them, so everything a peer can reach (the
// directory's face, module supervisors, relays, the event bus) refuses its messages: it
// can neither look a module up nor forge a delivery or an admin call.
//
// A peer that links to this node before this node's directory has linked back (it
// started later, or restarted) is not known yet: its first messages wait while the
// directory links to every peer it has no link to (`verify`, directory_verify_atom) and
// are served if one of them turns out to be the sender's node, refused otherwise.
//
// What this does not stop: a process that speaks BASP itself may claim another node's id
// as a message's source. On the network, mutual TLS (app.tls.*, required off loopback)
// keeps such processes out; on loopback, the machine's other processes are trusted.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/node_id.hpp>
#include <caf/sec.hpp>

#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/result.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

// (directory_verify_atom, node_id) -> bool: whether `node_id` is a peer of the topology,
// after linking to every peer not linked yet (asked of the directory, local only).
using directory_verify_atom = caf::atom_constant<caf::atom("dirverify")>;

class trusted_nodes {
public:
  explicit trusted_nodes(caf::node_id self) : self_(std::move(self)) {}

  // The directory linked to this peer.
  void admit(const caf::node_id& peer) {
    std::lock_guard<std::mutex> guard{mutex_};
    peers_.insert(peer);
  }

  // Whether a message from `sender` may be served. One without a sender is refused too:
  // from the wire, it could come from anyone.
  bool admits(const caf::strong_actor_ptr& sender) const {
    return sender && admits(sender->node());
  }
  bool admits(const caf::node_id& node) const {
    if (node == self_)
      return true;
    std::lock_guard<std::mutex> guard{mutex_};
    return peers_.count(node) > 0;
  }

  // The directory, which verifies senders from nodes not known yet.
  void set_verifier(const caf::actor& directory) {
    std::lock_guard<std::mutex> guard{mutex_};
    verifier_ = directory.address();
  }
  // The directory to ask about a sender that admits() refused, if it may be a peer not
  // known yet (it has a sender, and a directory verifies); else null: refuse at once.
  caf::actor verifier_for(const caf::strong_actor_ptr& sender) const {
    if (!sender)
      return {};
    std::lock_guard<std::mutex> guard{mutex_};
    return caf::actor_cast<caf::actor>(verifier_);
  }

  // What a refused message gets back (if it asked), after a warning in the log at most
  // once a minute: a stranger must not be able to flood it.
  caf::error refuse(const std::string& where) const;

private:
  caf::node_id self_;
  mutable std::mutex mutex_;
  std::set<caf::node_id> peers_;
  caf::actor_addr verifier_;
  mutable std::chrono::steady_clock::time_point warned_{};
};

// What an actor that peers reach returns for a message admits() refused: it asks the
// directory whether the sender's node is a peer not linked back yet, then `serve`s the
// message through the promise, or refuses it (at once when there is nothing to ask).
caf::result<caf::message> verify_then(caf::event_based_actor* self,
                                      std::shared_ptr<const trusted_nodes> trusted,
                                      std::string where,
                                      std::function<void(caf::response_promise&)> serve);
