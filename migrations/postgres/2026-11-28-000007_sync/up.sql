-- Sync: the additions the project manages, stored plans, runs with their changes, and the lease
-- that keeps one run at a time across every process sharing the database.

CREATE TABLE managed_additions (
    agreement_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    -- The ConnectWise addition id.
    addition_id BIGINT NOT NULL,
    -- The tenant billed through it (its mapping gone = the addition is released).
    tenant_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (agreement_id, product_id)
);

CREATE TABLE sync_plans (
    id TEXT PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT,
    company_mapping_id TEXT,
    plan_json TEXT NOT NULL
);
CREATE INDEX sync_plans_created ON sync_plans (created_at);

CREATE TABLE sync_runs (
    id TEXT PRIMARY KEY,
    trigger_kind TEXT NOT NULL CHECK (trigger_kind IN ('api', 'schedule', 'cli')),
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted')),
    plan_id TEXT,
    dry_run BOOLEAN NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    holder TEXT NOT NULL,
    summary_json TEXT NOT NULL,
    error TEXT
);
CREATE INDEX sync_runs_newest ON sync_runs (started_at DESC, id DESC);

CREATE TABLE sync_changes (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    tenant_id TEXT,
    tenant_name TEXT,
    cw_company_id BIGINT,
    agreement_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    contributions_json TEXT NOT NULL,
    action TEXT NOT NULL,
    old_quantity DOUBLE PRECISION NOT NULL,
    new_quantity BIGINT,
    addition_id BIGINT,
    result TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX sync_changes_run ON sync_changes (run_id, seq);

CREATE TABLE sync_lease (
    name TEXT PRIMARY KEY,
    holder TEXT,
    run_id TEXT,
    expires_at TIMESTAMP
);
INSERT INTO sync_lease (name) VALUES ('sync');
