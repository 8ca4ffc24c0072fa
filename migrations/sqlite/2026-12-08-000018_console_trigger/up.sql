-- Runs started from the web console record the trigger `console` (issue 24). See
-- metadata.toml for why this migration manages its own transaction.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE sync_runs_rebuilt (
    id TEXT PRIMARY KEY,
    trigger_kind TEXT NOT NULL CHECK (trigger_kind IN ('api', 'console', 'schedule', 'cli')),
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'held', 'partial', 'failed', 'interrupted')),
    plan_id TEXT,
    dry_run BOOLEAN NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    holder TEXT NOT NULL,
    summary_json TEXT NOT NULL,
    error TEXT
);
INSERT INTO sync_runs_rebuilt
    (id, trigger_kind, status, plan_id, dry_run, started_at, finished_at, holder, summary_json, error)
    SELECT id, trigger_kind, status, plan_id, dry_run, started_at, finished_at, holder, summary_json, error
    FROM sync_runs;
DROP TABLE sync_runs;
ALTER TABLE sync_runs_rebuilt RENAME TO sync_runs;
CREATE INDEX sync_runs_newest ON sync_runs (started_at DESC, id DESC);
-- The read-copy counters of migration data_versions went with the old table.
CREATE TRIGGER sync_runs_insert_version AFTER INSERT ON sync_runs
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'sync_runs'; END;
CREATE TRIGGER sync_runs_update_version AFTER UPDATE ON sync_runs
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'sync_runs'; END;
CREATE TRIGGER sync_runs_delete_version AFTER DELETE ON sync_runs
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'sync_runs'; END;

COMMIT;
PRAGMA foreign_keys = ON;
