UPDATE sync_runs SET status = 'partial' WHERE status = 'held';
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_status_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_status_check
    CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted'));
ALTER TABLE sync_changes DROP COLUMN move_id;
ALTER TABLE managed_additions DROP COLUMN billed_json;
