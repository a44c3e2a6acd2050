// See sender_loop.hpp. Detached: it blocks on its connection and on the sender.
#include "sender_loop.hpp"

#include "notification_sender.hpp"
#include "notification_store.hpp"

#include "actors/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <memory>

namespace notifications {

namespace {

using send_atom = caf::atom_constant<caf::atom("sendnow")>;

constexpr std::chrono::milliseconds idle_period{100};
// Sent rows leave dead entries at the head of the queue's index until vacuum, so the
// sender reads on from the last position it sent; a row that committed late below it
// (positions are taken before commit) is found by a scan from the start this often.
constexpr std::chrono::seconds full_scan_period{1};
constexpr int batch_size = 500;

caf::behavior sender_loop(caf::event_based_actor* self, std::string dsn, std::string file) {
  struct state {
    persistence::pg_session session;
    notification_store store;
    std::unique_ptr<notification_sender> sender;
    int64_t sent_up_to = 0;
    std::chrono::steady_clock::time_point full_scan_due;
  };
  auto s = std::make_shared<state>(
      state{persistence::pg_session{std::move(dsn)}, {}, make_file_sender(file), 0, {}});
  self->send(self, send_atom::value);
  return {
      [self, s](send_atom) {
        bool more = false;
        try {
          auto& db = s->session.connection();
          auto now = std::chrono::steady_clock::now();
          int64_t after = s->sent_up_to;
          if (now >= s->full_scan_due) {
            after = 0;
            s->full_scan_due = now + full_scan_period;
          }
          auto batch = s->store.unsent(db, after, batch_size);
          if (!batch.messages.empty()) {
            s->sender->send(batch.messages);
            s->store.mark_sent(db, batch);
            s->sent_up_to = std::max(s->sent_up_to, batch.last_position);
            more = batch.messages.size() == std::size_t(batch_size);
          }
        } catch (const persistence::pg_error& e) {
          s->session.discard();
        } catch (const std::exception& e) {
          logging::error("notification sender failed", {{"error", e.what()}});
        }
        if (more)
          self->send(self, send_atom::value);
        else
          self->delayed_send(self, idle_period, send_atom::value);
      },
  };
}

} // namespace

caf::actor spawn_sender_loop(caf::actor_system& sys, const module_context& ctx) {
  return sys.spawn<caf::detached>(sender_loop, ctx.dsn, ctx.settings.notifications_outbox_file);
}

} // namespace notifications
