-- The database's own ceiling for the saga (bench/saga/run): one pgbench transaction is a
-- batch of B orders through every stage, each stage its own transaction as the node runs
-- it, with the node's own statements (batched the way it batches them: arrays and
-- unnest, one statement per table per batch), on the node's own tables:
--   intake (orders, order.created), the orders relay's round, the inventory consumer
--   (inbox, ordered lock of the products, reservations, stock, inventory.reserved), the
--   inventory relay's round, the orders consumer (inbox, CONFIRMED, order.confirmed), the
--   orders relay's round, the notifications consumer twice (inbox, notifications, send
--   queue), and the sender taking 2B notifications off its queue.
-- Run by bench/saga/run as the database owner, with the node stopped; `\set B` is edited
-- there. Orders/s = tps x B.
\set B 64
\set k random(0, 300)

-- intake: B orders and their order.created
BEGIN;
WITH o AS (
  INSERT INTO orders.orders (id, customer_id, items, total_cents, status)
  SELECT o.id, o.customer_id, o.items, o.total_cents, 'PENDING'
  FROM unnest(ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)),
              ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)),
              ARRAY(SELECT '[{"productId":"7d9f3c4e-0000-4000-8000-000000000001","quantity":2,"priceCents":999},{"productId":"7d9f3c4e-0000-4000-8000-000000000002","quantity":1,"priceCents":1999}]'::jsonb FROM generate_series(1, :B)),
              ARRAY(SELECT 3997::bigint FROM generate_series(1, :B)))
       WITH ORDINALITY AS o(id, customer_id, items, total_cents, n)
  ORDER BY o.n RETURNING id, customer_id)
INSERT INTO orders.outbox (id, event_name, aggregate_id, sequence, correlation_id, causation_id, payload)
SELECT gen_random_uuid(), 'order.created', o.id,
       coalesce((SELECT max(x.sequence) FROM orders.outbox x WHERE x.aggregate_id = o.id), 0) + 1,
       'ceiling', NULL,
       jsonb_build_object('orderId', o.id, 'customerId', o.customer_id, 'totalAmount', 39.97,
                          'items', '[{"productId":"7d9f3c4e-0000-4000-8000-000000000001","quantity":2,"price":9.99},{"productId":"7d9f3c4e-0000-4000-8000-000000000002","quantity":1,"price":19.99}]'::jsonb)
FROM o;
COMMIT;

-- the orders relay's round: check, fencing and watermark, claim
BEGIN;
SELECT pg_snapshot_xmin(pg_current_snapshot()) >= pg_snapshot_xmin(pg_current_snapshot()),
       (SELECT last_value FROM orders.outbox_position_seq), set_config('synchronous_commit', 'off', true);
UPDATE orders.relay_lease SET expires_at = clock_timestamp() + interval '2 s',
       published_through = greatest(published_through, 1) RETURNING pg_current_xact_id()::text;
SELECT position, id, event_name, aggregate_id, sequence, correlation_id, payload::text
FROM orders.outbox ORDER BY position DESC LIMIT :B;
COMMIT;

-- the inventory consumer: B order.created
BEGIN;
INSERT INTO inventory.inbox (consumer, event_id)
SELECT * FROM unnest(ARRAY(SELECT 'inventory.order-events' FROM generate_series(1, :B)),
                     ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)))
ON CONFLICT DO NOTHING RETURNING consumer, event_id;
SELECT order_id, status, lines::text FROM inventory.reservations
WHERE order_id = ANY(ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B))) FOR UPDATE;
SELECT id, stock - reserved FROM inventory.products
WHERE id = ANY(ARRAY(SELECT id FROM inventory.products ORDER BY id OFFSET :k LIMIT 2 * :B))
ORDER BY id FOR UPDATE;
INSERT INTO inventory.reservations (order_id, status, lines)
SELECT * FROM unnest(ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)),
                     ARRAY(SELECT 'RESERVED' FROM generate_series(1, :B)),
                     ARRAY(SELECT '[{"productId":"7d9f3c4e-0000-4000-8000-000000000001","quantity":2},{"productId":"7d9f3c4e-0000-4000-8000-000000000002","quantity":1}]'::jsonb FROM generate_series(1, :B)));
UPDATE inventory.products p SET reserved = p.reserved + 0, updated_at = now()
FROM (SELECT id FROM inventory.products ORDER BY id OFFSET :k LIMIT 2 * :B) d WHERE p.id = d.id;
INSERT INTO inventory.outbox (id, event_name, aggregate_id, sequence, correlation_id, causation_id, payload)
SELECT gen_random_uuid(), 'inventory.reserved', e.a,
       coalesce((SELECT max(x.sequence) FROM inventory.outbox x WHERE x.aggregate_id = e.a), 0) + 1,
       'ceiling', gen_random_uuid(),
       jsonb_build_object('orderId', e.a, 'lines', '[{"productId":"7d9f3c4e-0000-4000-8000-000000000001","quantity":2},{"productId":"7d9f3c4e-0000-4000-8000-000000000002","quantity":1}]'::jsonb)
FROM unnest(ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B))) AS e(a);
COMMIT;

-- the inventory relay's round
BEGIN;
SELECT pg_snapshot_xmin(pg_current_snapshot()) >= pg_snapshot_xmin(pg_current_snapshot()),
       (SELECT last_value FROM inventory.outbox_position_seq), set_config('synchronous_commit', 'off', true);
UPDATE inventory.relay_lease SET expires_at = clock_timestamp() + interval '2 s',
       published_through = greatest(published_through, 1) RETURNING pg_current_xact_id()::text;
SELECT position, id, event_name, aggregate_id, sequence, correlation_id, payload::text
FROM inventory.outbox ORDER BY position DESC LIMIT :B;
COMMIT;

-- the orders consumer: B inventory.reserved
BEGIN;
INSERT INTO orders.inbox (consumer, event_id)
SELECT * FROM unnest(ARRAY(SELECT 'orders.inventory-events' FROM generate_series(1, :B)),
                     ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)))
ON CONFLICT DO NOTHING RETURNING consumer, event_id;
WITH u AS (
  UPDATE orders.orders o SET status = 'CONFIRMED', rejection_reason = NULL, updated_at = clock_timestamp()
  FROM (SELECT id FROM orders.orders WHERE status = 'PENDING' ORDER BY position DESC LIMIT :B
        FOR UPDATE SKIP LOCKED) v
  WHERE o.id = v.id AND o.status = 'PENDING' RETURNING o.id, o.customer_id)
INSERT INTO orders.outbox (id, event_name, aggregate_id, sequence, correlation_id, causation_id, payload)
SELECT gen_random_uuid(), 'order.confirmed', u.id,
       coalesce((SELECT max(x.sequence) FROM orders.outbox x WHERE x.aggregate_id = u.id), 0) + 1,
       'ceiling', gen_random_uuid(), jsonb_build_object('orderId', u.id, 'customerId', u.customer_id)
FROM u;
COMMIT;

-- the orders relay's round
BEGIN;
SELECT pg_snapshot_xmin(pg_current_snapshot()) >= pg_snapshot_xmin(pg_current_snapshot()),
       (SELECT last_value FROM orders.outbox_position_seq), set_config('synchronous_commit', 'off', true);
UPDATE orders.relay_lease SET expires_at = clock_timestamp() + interval '2 s',
       published_through = greatest(published_through, 1) RETURNING pg_current_xact_id()::text;
SELECT position, id, event_name, aggregate_id, sequence, correlation_id, payload::text
FROM orders.outbox ORDER BY position DESC LIMIT :B;
COMMIT;

-- the notifications consumer: B order.created, then B order.confirmed
BEGIN;
INSERT INTO notifications.inbox (consumer, event_id)
SELECT * FROM unnest(ARRAY(SELECT 'notifications.order-events' FROM generate_series(1, :B)),
                     ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)))
ON CONFLICT DO NOTHING RETURNING consumer, event_id;
WITH n AS (INSERT INTO notifications.notifications (event_id, event_name, order_id, customer_id, template)
  SELECT * FROM unnest(ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)),
                       ARRAY(SELECT 'order.created' FROM generate_series(1, :B)),
                       ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)),
                       ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)),
                       ARRAY(SELECT 'order-created' FROM generate_series(1, :B)))
  ON CONFLICT (event_id, template) DO NOTHING RETURNING position)
INSERT INTO notifications.unsent SELECT position FROM n;
COMMIT;
BEGIN;
INSERT INTO notifications.inbox (consumer, event_id)
SELECT * FROM unnest(ARRAY(SELECT 'notifications.order-events' FROM generate_series(1, :B)),
                     ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)))
ON CONFLICT DO NOTHING RETURNING consumer, event_id;
WITH n AS (INSERT INTO notifications.notifications (event_id, event_name, order_id, customer_id, template)
  SELECT * FROM unnest(ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)),
                       ARRAY(SELECT 'order.confirmed' FROM generate_series(1, :B)),
                       ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)),
                       ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :B)),
                       ARRAY(SELECT 'order-confirmed' FROM generate_series(1, :B)))
  ON CONFLICT (event_id, template) DO NOTHING RETURNING position)
INSERT INTO notifications.unsent SELECT position FROM n;
COMMIT;

-- the sender: 2B notifications read and taken off the queue
SELECT n.id FROM (SELECT position FROM notifications.unsent ORDER BY position LIMIT 2 * :B) u
CROSS JOIN LATERAL (SELECT id FROM notifications.notifications WHERE position = u.position LIMIT 1) n;
DELETE FROM notifications.unsent WHERE position IN
  (SELECT position FROM notifications.unsent ORDER BY position LIMIT 2 * :B FOR UPDATE SKIP LOCKED);
