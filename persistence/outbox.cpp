// See outbox.hpp.
#include "persistence/outbox.hpp"

#include <map>

namespace persistence {

outbox_writer::outbox_writer(const std::string& schema, outbox_hooks hooks)
    : append_{"outbox_append",
              "INSERT INTO " + schema +
                  ".outbox (id, event_name, aggregate_id, sequence, correlation_id, "
                  "causation_id, payload) SELECT gen_random_uuid(), e.name, e.aggregate, "
                  "coalesce((SELECT max(o.sequence) FROM " +
                  schema +
                  ".outbox o WHERE o.aggregate_id = e.aggregate), 0) + e.nth, e.correlation, "
                  "e.causation, e.payload FROM unnest($1::text[], $2::uuid[], $3::text[], "
                  "$4::uuid[], $5::jsonb[], $6::bigint[]) WITH ORDINALITY AS e(name, aggregate, "
                  "correlation, causation, payload, nth, ord) ORDER BY e.ord"},
      notify_{"outbox_notify", "SELECT pg_notify($1, '')"}, channel_(schema + "_outbox"),
      hooks_(std::move(hooks)) {}

void outbox_writer::append(pg_connection& db, const std::vector<new_event>& events) const {
  if (events.empty())
    return;
  std::vector<std::string> names, aggregates, correlations, payloads;
  std::vector<std::optional<std::string>> causations;
  std::vector<int64_t> nth; // 1 for an aggregate's first event here, 2 for its second...
  std::map<std::string, int64_t> per_aggregate;
  for (auto& e : events) {
    names.push_back(e.event_name);
    aggregates.push_back(e.aggregate_id);
    correlations.push_back(e.correlation_id);
    causations.push_back(e.causation_id);
    payloads.push_back(e.payload_json);
    nth.push_back(++per_aggregate[e.aggregate_id]);
  }
  db.defer(append_, {pg_array(names), pg_array(aggregates), pg_array(correlations),
                     pg_array(causations), pg_array(payloads), pg_array(nth)});
  if (hooks_.doorbell && hooks_.doorbell->heard_in_process())
    db.after_commit(*hooks_.doorbell);
  else
    db.defer(notify_, {channel_}); // several in one transaction fold into one
  if (hooks_.on_append)
    for (std::size_t i = 0; i < events.size(); ++i)
      hooks_.on_append();
}

} // namespace persistence
