// The relay's per-(consumer, aggregate) ordering on the `actors` bus, apart from its
// database and its messages so that each step can be tested on its own
// (tests/unit/delivery_chains_test.cpp).
//
// Claimed deliveries go out in messages of up to app.delivery.batch-size events per
// consumer. A message heads a chain for each (consumer, aggregate) it holds: later events
// of those keys wait in the chain until it is answered, then go out in the next message.
// A failure becomes a delivery row (with its backoff), and so does everything after it of
// its key: from then on the relay's `due` query sends that key's deliveries in order.
// Invariant: while a key has a chain, it has no open delivery row.
#pragma once

#include "actors/event_delivery.hpp"
#include "persistence/relay_store.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

class delivery_chains {
public:
  // One delivery to send to its consumer; its answer is `answered(id, ...)`.
  struct message {
    std::uint64_t id = 0;
    delivery d;
  };

  // What one answer settled, for the relay to record, and what goes out next.
  struct settlement {
    std::vector<persistence::due_delivery> delivered;
    std::vector<std::pair<persistence::due_delivery, std::string>> failed; // and why
    std::vector<persistence::due_delivery> held; // behind a failure of their key: to rows
    std::vector<message> next;                   // now in flight
  };

  explicit delivery_chains(std::size_t batch_size) : batch_size_(batch_size ? batch_size : 1) {}

  // Deliveries into messages per consumer, in the order given (claimed ones in position
  // order). A fresh one (no row) goes into the message when its key has nothing out, or
  // when its aggregate's earlier one is in this message; otherwise it waits in its key's
  // chain behind the message out. A due row (at most one per key, none with a chain) goes
  // straight in. The messages returned are in flight from now on.
  std::vector<message> route(std::vector<persistence::due_delivery> deliveries);

  // What the consumer made of message `id`: each event handled, failed or not tried (after
  // a failure of its own aggregate) in `ack`; or, without an ack, the whole message failed
  // with `error`. With `bus_lost`, everything waiting behind the message goes to rows too
  // (there is nobody to send it to). An unknown id (forgotten meanwhile) settles nothing.
  settlement answered(std::uint64_t id, const delivery_ack* ack, const std::string& error,
                      bool bus_lost);

  // Whether (consumer, aggregate) has a message out or deliveries waiting.
  bool has_chain(const std::string& consumer, const std::string& aggregate) const {
    return chains_.count({consumer, aggregate}) > 0;
  }
  // The delivery rows in the messages out (the `due` query must not send them again).
  std::vector<std::string> rows_in_flight() const;
  // Deliveries in messages out and waiting in chains.
  std::size_t in_memory() const { return sending_ + queued_; }
  std::size_t in_flight() const { return in_flight_.size(); }
  // Forgets everything (the lease was lost: whoever leads next sends it again).
  void clear();

private:
  using key = std::pair<std::string, std::string>; // (consumer, aggregate)
  struct out {
    std::string consumer;
    std::vector<persistence::due_delivery> deliveries; // in order
    std::vector<key> heads;                            // the chains it heads
  };
  struct chain {
    std::uint64_t head = 0; // the message out with this key; 0 while it is being filled
    std::deque<persistence::due_delivery> waiting;
  };

  message launch(out o);

  std::size_t batch_size_;
  std::map<std::uint64_t, out> in_flight_;
  std::map<key, chain> chains_;
  std::size_t sending_ = 0; // deliveries in the messages out
  std::size_t queued_ = 0;  // deliveries waiting in chains
  std::uint64_t next_id_ = 0;
};
