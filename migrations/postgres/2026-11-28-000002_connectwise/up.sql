-- Connections to the outside systems (non-secret settings as JSON, secrets encrypted) and the
-- local cache of the ConnectWise product catalog.

CREATE TABLE connections (
    kind TEXT PRIMARY KEY CHECK (kind IN ('connectwise', 'kaspersky')),
    settings_json TEXT NOT NULL,
    -- AEAD ciphertext (base64 of nonce || ciphertext) of a JSON object of secrets.
    secrets_ciphertext TEXT,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE cw_products (
    -- The ConnectWise catalog item id.
    id BIGINT PRIMARY KEY,
    identifier TEXT NOT NULL,
    description TEXT NOT NULL,
    price DOUBLE PRECISION,
    cost DOUBLE PRECISION,
    inactive BOOLEAN NOT NULL,
    product_class TEXT,
    -- No longer in the catalog at the last refresh.
    vanished BOOLEAN NOT NULL DEFAULT FALSE,
    refreshed_at TIMESTAMP NOT NULL
);
CREATE INDEX cw_products_identifier ON cw_products (identifier);
