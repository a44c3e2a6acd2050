// The doorbell of one module's outbox relay (persistence::outbox_doorbell): the module's
// workers ring it after a COMMIT that appended events, and the relay's LISTEN thread
// rings it on a NOTIFY from another process. The node makes one per local module and
// hands it to both the module's context and its relay.
//
// At most one wake-up is in the relay's mailbox at a time: under load commits come faster
// than the relay's rounds, and piled-up wake-ups would delay everything else in its
// mailbox (a shutdown among it).
#pragma once

#include "persistence/outbox.hpp"

#include <caf/actor_addr.hpp>
#include <caf/atom.hpp>

#include <atomic>
#include <mutex>

using relay_wake_atom = caf::atom_constant<caf::atom("wake")>;

class relay_doorbell final : public persistence::outbox_doorbell {
public:
  // The relay, when it starts (it gets relay_wake_atom from now on, and holds no lease
  // yet) and when it stops (a no-op if another relay has attached since).
  void attach(const caf::actor_addr& relay);
  void detach(const caf::actor_addr& relay);
  // The relay holds the lease from now on, or no more.
  void lead() { leads_.store(true, std::memory_order_release); }
  void step_down() { leads_.store(false, std::memory_order_release); }
  // The relay took the wake-up from its mailbox: the next ring sends another.
  void heard() { posted_.store(false, std::memory_order_release); }

  // A writer in this process committed events.
  void committed() override {
    if (heard_in_process())
      ring();
  }
  bool heard_in_process() const override { return leads_.load(std::memory_order_acquire); }

  // Wakes the relay (leader or standby) if one is attached: a NOTIFY from elsewhere.
  void ring();

private:
  std::atomic<bool> leads_{false};
  std::atomic<bool> posted_{false};
  std::mutex mutex_; // guards relay_
  caf::actor_addr relay_;
};
