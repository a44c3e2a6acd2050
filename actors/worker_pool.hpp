// The database workers of one module service: `size` detached actors (one thread and one
// connection each), linked to the service so that they live and die with it, handed out
// round robin. Used as the state of a module's service actor.
#pragma once

#include <caf/spawn_options.hpp>

#include <cstddef>
#include <vector>

template <class Handle>
class worker_pool {
public:
  template <class Self, class Fun, class... Ts>
  void start(Self* self, int size, Fun fun, const Ts&... args) {
    for (int i = 0; i < size; ++i)
      workers_.push_back(self->template spawn<caf::detached + caf::linked>(fun, args...));
  }

  const Handle& next() { return workers_[next_++ % workers_.size()]; }

private:
  std::vector<Handle> workers_;
  std::size_t next_ = 0;
};
