-- Customers as docs/openapi.yaml describes them; e-mail unique regardless of case, stored as given.
CREATE TABLE customers.customers (
  id         uuid PRIMARY KEY,
  name       text NOT NULL,
  email      text NOT NULL,
  status     text NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX customers_email_key ON customers.customers (lower(email));
