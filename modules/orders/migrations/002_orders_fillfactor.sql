-- An order is updated once or twice after it is placed (confirmed or rejected, maybe
-- cancelled): room on its page lets those updates stay on the page (HOT) instead of
-- adding an entry to every index of the table.
ALTER TABLE orders.orders SET (fillfactor = 85);
