-- Kaspersky tenants: KSC virtual servers as last discovered, and Business Hub companies
-- created through the API.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    solution TEXT NOT NULL CHECK (solution IN ('ksc', 'business_hub')),
    name TEXT NOT NULL,
    -- KSC: the virtual server's KLVSRV_UID; Business Hub: the id given at creation.
    external_id TEXT NOT NULL,
    -- KSC: KLVSRV_ID.
    ksc_vserver_id BIGINT,
    enabled BOOLEAN NOT NULL,
    -- KSC: absent from the last discovery.
    vanished BOOLEAN NOT NULL DEFAULT FALSE,
    last_seen_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (solution, external_id)
);
CREATE INDEX tenants_name ON tenants (name);
