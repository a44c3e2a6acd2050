-- Idempotency keys expire after app.retention.idempotency-keys (at least 24 h): the
-- module's retention finds them by age through this index (keys are written in time
-- order, so a BRIN index is tiny and costs the writers next to nothing).
CREATE INDEX idempotency_keys_by_age ON orders.idempotency_keys USING brin (created_at)
  WITH (autosummarize = on);
