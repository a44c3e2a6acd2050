// The database workers of one module service: `size` detached actors (one thread and one
// connection each), linked to the service so that they live and die with it: the first
// serves lookups, the others take commands round robin, the second also takes every
// request applied as a set (set_batch), and the last also consumes every event delivery.
// Used by a module's service actor.
#pragma once

#include <caf/spawn_options.hpp>

#include <cstddef>
#include <vector>

template <class Handle> class worker_pool {
public:
  template <class Self, class Fun, class... Ts>
  void start(Self* self, int size, Fun fun, const Ts&... args) {
    for (int i = 0; i < size; ++i)
      workers_.push_back(self->template spawn<caf::detached + caf::linked>(fun, args...));
  }

  // Commands go round robin to every worker but the reader (when there is more than one).
  const Handle& next() {
    if (workers_.size() == 1)
      return workers_.front();
    return workers_[1 + next_++ % (workers_.size() - 1)];
  }

  // All point lookups go to one worker, where they queue up into batches (lookup_batch):
  // one query answers many, which is what keeps reads cheap under load.
  const Handle& reader() const { return workers_.front(); }

  // Requests applied as one set (set_batch) all go to one worker, where they queue up into
  // groups as large as the load makes them (several workers would each get a small one):
  // the second, which is not the consumer's when there are three or more.
  const Handle& grouped() const { return workers_.size() >= 3 ? workers_[1] : workers_.back(); }

  // Every event delivery goes to one worker, where deliveries queue up into shared
  // transactions (inbox_batch) that never wait on each other's row locks.
  const Handle& consumer() const { return workers_.back(); }

private:
  std::vector<Handle> workers_;
  std::size_t next_ = 0;
};
