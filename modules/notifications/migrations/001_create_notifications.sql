-- One notification per (event, template), however often the event is redelivered.
-- sent_at stays empty until the sender has handed it on (at least once).
CREATE TABLE notifications.notifications (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  position    bigserial NOT NULL UNIQUE,
  event_id    uuid NOT NULL,
  event_name  text NOT NULL,
  order_id    uuid NOT NULL,
  customer_id uuid NOT NULL,
  channel     text NOT NULL DEFAULT 'email',
  template    text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  sent_at     timestamptz,
  UNIQUE (event_id, template)
);
CREATE INDEX notifications_by_order ON notifications.notifications (order_id, position);
CREATE INDEX notifications_by_customer ON notifications.notifications (customer_id, position);
CREATE INDEX notifications_unsent ON notifications.notifications (position) WHERE sent_at IS NULL;
