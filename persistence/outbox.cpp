// See outbox.hpp.
#include "persistence/outbox.hpp"

namespace persistence {

outbox_writer::outbox_writer(const std::string& schema, std::function<void()> on_append)
    : append_{"outbox_append",
              "INSERT INTO " + schema +
                ".outbox (id, event_name, aggregate_id, sequence, correlation_id, causation_id, "
                "payload) SELECT gen_random_uuid(), $1, $2::uuid, COALESCE(MAX(sequence), 0) + 1, "
                "$3, $4::uuid, $5::jsonb FROM " +
                schema + ".outbox WHERE aggregate_id = $2::uuid RETURNING id"},
      on_append_(std::move(on_append)) {}

std::string outbox_writer::append(pg_connection& db, const new_event& event) const {
  auto result = db.exec(append_, {event.event_name, event.aggregate_id, event.correlation_id,
                                  event.causation_id, event.payload_json});
  if (on_append_)
    on_append_();
  return result.string(0, 0);
}

} // namespace persistence
