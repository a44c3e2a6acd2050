-- One reservation per order (the saga's inventory step): all lines or none. Released
-- once when the order is cancelled; a rejection is recorded too, so a redelivered
-- order.created can never reserve twice.
CREATE TABLE inventory.reservations (
  order_id   uuid PRIMARY KEY,
  status     text NOT NULL CHECK (status IN ('RESERVED', 'REJECTED', 'RELEASED')),
  lines      jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
