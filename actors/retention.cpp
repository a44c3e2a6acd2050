// See retention.hpp.
#include "actors/retention.hpp"

#include "actors/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

namespace {

using pass_atom = caf::atom_constant<caf::atom("pass")>;   // a pass starts
using batch_atom = caf::atom_constant<caf::atom("batch")>; // one more batch of a pass

// A pass stops after this many batches and goes on at the next interval: pruning a long
// backlog (retention just switched on) takes many passes, not one endless loop.
constexpr int max_batches_per_pass = 1000;

struct retention_state {
  retention_config cfg;
  std::unique_ptr<persistence::pg_session> session;
  std::unique_ptr<persistence::retention_store> store;
  int batches = 0; // in this pass
  static inline const char* name = "retention";
};

using self_pointer = caf::stateful_actor<retention_state>*;

void next_pass(self_pointer self) {
  self->delayed_send(self, self->state.cfg.settings.interval, pass_atom::value);
}

void report_sizes(self_pointer self) {
  auto& st = self->state;
  if (!st.cfg.metrics)
    return;
  for (auto& [table, bytes] : st.store->table_sizes(st.session->connection()))
    st.cfg.metrics->table_size.labels({st.cfg.module, table}).set(double(bytes));
}

// One batch; true when there is more to prune now.
bool prune(self_pointer self) {
  auto& st = self->state;
  bool more = false;
  auto batch = st.store->prune_batch(st.session->connection(), more);
  if (auto m = st.cfg.metrics)
    for (auto& t : batch)
      if (t.deleted > 0)
        m->rows_pruned.labels({st.cfg.module, t.table}).inc(double(t.deleted));
  return more;
}

} // namespace

caf::actor spawn_retention(caf::actor_system& sys, retention_config cfg) {
  return sys.spawn<caf::detached>([cfg](self_pointer self) -> caf::behavior {
    auto& st = self->state;
    st.cfg = cfg;
    st.session = std::make_unique<persistence::pg_session>(st.cfg.dsn);
    const auto& r = st.cfg.settings;
    st.store = std::make_unique<persistence::retention_store>(
        st.cfg.module, persistence::retention_ages{r.outbox, r.inbox, r.deliveries}, st.cfg.own,
        r.batch_size);
    next_pass(self);
    return {
        [self](pass_atom) {
          auto& st = self->state;
          if (!st.cfg.doorbell || !st.cfg.doorbell->heard_in_process())
            return next_pass(self); // another process leads this module: it prunes
          st.store->start_pass();
          st.batches = 0;
          self->send(self, batch_atom::value);
        },
        // A message per batch: a stop request never waits for a whole pass.
        [self](batch_atom) {
          auto& st = self->state;
          try {
            if (prune(self) && ++st.batches < max_batches_per_pass) {
              self->send(self, batch_atom::value);
              return;
            }
            report_sizes(self);
          } catch (const persistence::pg_error& e) {
            st.session->discard();
            logging::warn("retention: pass failed, trying again at the next one",
                          {{"module", st.cfg.module}, {"error", e.what()}});
          }
          next_pass(self);
        },
    };
  });
}
