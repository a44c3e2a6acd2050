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
  // `position` orders the relay's scan; `sequence` counts per aggregate from 1 (docs/openapi.yaml
  // "Event envelope"), made unique so that two writers can never share a number.
  return {
      {1, "create_outbox",
       with_schema(R"sql(
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
      // The relay: a NOTIFY wakes it (a hint; it polls too); one delivery row per (event,
      // consumer) tracks attempts, backoff and dead letters; the lease row elects one
      // active relay per outbox across processes, its fencing counter stopping a holder
      // that lost it. The inbox makes this module's consumers effectively-once.
      {2, "create_relay_and_inbox",
       with_schema(R"sql(
CREATE FUNCTION {schema}.notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{schema}_outbox', '');
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON {schema}.outbox
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_outbox();

CREATE TABLE {schema}.deliveries (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_position  bigint NOT NULL REFERENCES {schema}.outbox (position),
  consumer        text NOT NULL,
  aggregate_id    uuid NOT NULL,
  sequence        bigint NOT NULL,
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'delivered', 'dead', 'discarded')),
  attempts        int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_position, consumer)
);
CREATE INDEX deliveries_open ON {schema}.deliveries (consumer, aggregate_id, sequence)
  WHERE status IN ('pending', 'dead');
CREATE INDEX deliveries_due ON {schema}.deliveries (event_position) WHERE status = 'pending';

CREATE TABLE {schema}.relay_lease (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  holder     text,
  expires_at timestamptz NOT NULL DEFAULT '-infinity',
  fencing    bigint NOT NULL DEFAULT 0
);
INSERT INTO {schema}.relay_lease DEFAULT VALUES;

CREATE TABLE {schema}.inbox (
  consumer     text NOT NULL,
  event_id     uuid NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
)sql",
                   schema)},
      // The relay scans from a watermark below which every position is final (see
      // relay_store::advance_watermark). Proving that needs every transaction to hold its
      // transaction id before it takes a position, so the default assigns the id first.
      {3, "outbox_position_after_xid",
       with_schema(R"sql(
CREATE FUNCTION {schema}.next_outbox_position() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_current_xact_id();
  RETURN nextval('{schema}.outbox_position_seq');
END $$;
ALTER TABLE {schema}.outbox ALTER COLUMN position SET DEFAULT {schema}.next_outbox_position();
)sql",
                   schema)},
      // Publishing writes no mark per event any more: the relay's watermark (every
      // position below it is delivered or holds a delivery row, and final) lives in the
      // lease row, stored by each round's fencing check.
      {4, "outbox_watermark",
       with_schema(R"sql(
ALTER TABLE {schema}.relay_lease ADD COLUMN published_through bigint NOT NULL DEFAULT 1;
UPDATE {schema}.relay_lease SET published_through = coalesce(
  (SELECT min(position) FROM {schema}.outbox WHERE published_at IS NULL),
  (SELECT max(position) + 1 FROM {schema}.outbox), 1);
DROP INDEX {schema}.outbox_pending;
ALTER TABLE {schema}.outbox DROP COLUMN published_at;
)sql",
                   schema)},
      // The transaction id is still taken before any position, but once per statement (a
      // statement trigger runs before the rows' defaults) instead of by a function call
      // per row: a group of events is inserted by one statement.
      {5, "outbox_xid_per_statement",
       with_schema(R"sql(
CREATE FUNCTION {schema}.outbox_takes_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_current_xact_id();
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_xid_first BEFORE INSERT ON {schema}.outbox
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.outbox_takes_xid();
ALTER TABLE {schema}.outbox ALTER COLUMN position SET DEFAULT nextval('{schema}.outbox_position_seq');
DROP FUNCTION {schema}.next_outbox_position();
)sql",
                   schema)},
      // A consumer records a batch of events in one transaction: each inbox row keeps the
      // moment it was written, in delivery order, rather than the transaction's start.
      {6, "inbox_processed_in_order",
       with_schema(R"sql(
ALTER TABLE {schema}.inbox ALTER COLUMN processed_at SET DEFAULT clock_timestamp();
)sql",
                   schema)},
      // The writers wake the relay themselves (persistence::outbox_doorbell): in process
      // when the leader is theirs, by NOTIFY only when it is elsewhere. A NOTIFY in every
      // writing transaction serialised all of their commits.
      {7, "outbox_woken_by_writers",
       with_schema(R"sql(
DROP TRIGGER IF EXISTS outbox_notify ON {schema}.outbox;
DROP FUNCTION IF EXISTS {schema}.notify_outbox();
)sql",
                   schema)},
      // Retention (retention_store.hpp): inbox entries expire by age, found through a BRIN
      // index (rows are written in time order: tiny, and nearly free for the writers); the
      // lease row counts the published events pruned, for the published total.
      {8, "retention",
       with_schema(R"sql(
CREATE INDEX inbox_by_age ON {schema}.inbox USING brin (processed_at) WITH (autosummarize = on);
ALTER TABLE {schema}.relay_lease ADD COLUMN pruned bigint NOT NULL DEFAULT 0;
)sql",
                   schema)},
  };
}

} // namespace persistence
