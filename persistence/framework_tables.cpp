// DDL of the per-module outbox (see outbox.hpp for how rows are written).
#include "persistence/framework_tables.hpp"

namespace persistence {

namespace {

std::string with_schema(std::string sql, const std::string& schema) {
  for (auto at = sql.find("{schema}"); at != std::string::npos; at = sql.find("{schema}", at))
    sql.replace(at, 8, schema);
  return sql;
}

} // namespace

std::vector<framework_migration> framework_migrations(const std::string& schema) {
  // `position` orders the relay's scan; `sequence` counts per aggregate from 1 (API.md
  // "Event envelope"), made unique so that two writers can never share a number.
  return {
    {1, "create_outbox", with_schema(R"sql(
CREATE TABLE {schema}.outbox (
  position       bigserial PRIMARY KEY,
  id             uuid NOT NULL UNIQUE,
  event_name     text NOT NULL,
  aggregate_id   uuid NOT NULL,
  sequence       bigint NOT NULL CHECK (sequence >= 1),
  correlation_id text NOT NULL,
  causation_id   uuid,
  payload        jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  published_at   timestamptz,
  UNIQUE (aggregate_id, sequence)
);
CREATE INDEX outbox_pending ON {schema}.outbox (position) WHERE published_at IS NULL;
)sql",
                                     schema)},
  };
}

} // namespace persistence
