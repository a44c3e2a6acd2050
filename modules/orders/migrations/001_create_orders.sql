-- Orders with their lines (jsonb, exact cents) and the Idempotency-Key registry.
-- `position` orders a customer's orders newest first even within one group commit.
CREATE TABLE orders.orders (
  id               uuid PRIMARY KEY,
  position         bigserial NOT NULL UNIQUE,
  customer_id      uuid NOT NULL,
  items            jsonb NOT NULL,
  total_cents      bigint NOT NULL CHECK (total_cents >= 0),
  status           text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED')),
  rejection_reason text CHECK (rejection_reason IN ('INSUFFICIENT_STOCK', 'UNKNOWN_PRODUCT')),
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX orders_by_customer ON orders.orders (customer_id, position DESC);

-- A key is taken in the transaction that creates its order: concurrent repeats wait for
-- it and then replay; a failed request leaves no key behind.
CREATE TABLE orders.idempotency_keys (
  key          text PRIMARY KEY,
  request_hash text NOT NULL,
  order_id     uuid NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
