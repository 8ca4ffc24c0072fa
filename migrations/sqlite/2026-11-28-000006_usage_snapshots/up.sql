-- Usage snapshots: one tenant's usage at one moment, pulled from KSC or pushed by automation.
-- History is kept; billing reads the newest `ok` snapshot of each tenant.

CREATE TABLE usage_snapshots (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    -- When the usage was true: the end of a KSC read, or the pusher's time.
    taken_at TIMESTAMP NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('ksc_pull', 'push')),
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    -- Why a collection failed (failed snapshots only).
    error TEXT,
    -- The counted `TenantUsage` as JSON; null when the collection failed.
    usage_json TEXT,
    -- The user or service token that pushed or collected it.
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    CHECK ((status = 'ok' AND usage_json IS NOT NULL) OR (status = 'failed' AND usage_json IS NULL))
);
-- History of one tenant, newest first, and "the newest per tenant".
CREATE INDEX usage_snapshots_tenant_taken ON usage_snapshots (tenant_id, taken_at DESC);
