// See relay_doorbell.hpp.
#include "actors/relay_doorbell.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

void relay_doorbell::attach(const caf::actor_addr& relay) {
  std::lock_guard<std::mutex> guard{mutex_};
  relay_ = relay;
  step_down();
  posted_.store(false, std::memory_order_release);
}

void relay_doorbell::detach(const caf::actor_addr& relay) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (relay_ != relay)
    return;
  step_down();
  relay_ = caf::actor_addr{};
}

void relay_doorbell::ring() {
  if (posted_.exchange(true, std::memory_order_acq_rel))
    return; // one is in the mailbox already
  caf::actor relay;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    relay = caf::actor_cast<caf::actor>(relay_);
  }
  if (relay)
    caf::anon_send(relay, relay_wake_atom::value);
  else
    posted_.store(false, std::memory_order_release);
}
