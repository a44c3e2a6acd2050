-- Products with exact money (cents) and stock bounded by 2^53 - 1 (docs/openapi.yaml).
CREATE TABLE inventory.products (
  id          uuid PRIMARY KEY,
  sku         text NOT NULL UNIQUE,
  name        text NOT NULL,
  price_cents bigint NOT NULL CHECK (price_cents BETWEEN 0 AND 100000000),
  stock       bigint NOT NULL CHECK (stock BETWEEN 0 AND 9007199254740991),
  reserved    bigint NOT NULL DEFAULT 0 CHECK (reserved BETWEEN 0 AND stock),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
