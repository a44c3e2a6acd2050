-- The sender's queue: a notification waits here until the sender has handed it on.
-- A narrow table of its own because marking rows sent in place (a sent_at column in a
-- partial index) rewrote every index of the notifications table for each message, the
-- costliest statement of the whole pipeline under load; a delete here touches one index.
CREATE TABLE notifications.unsent (position bigint PRIMARY KEY);
INSERT INTO notifications.unsent SELECT position FROM notifications.notifications WHERE sent_at IS NULL;
DROP INDEX notifications.notifications_unsent;
ALTER TABLE notifications.notifications DROP COLUMN sent_at;
