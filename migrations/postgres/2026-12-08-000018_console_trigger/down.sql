-- Console runs become API runs again (they were API calls).
UPDATE sync_runs SET trigger_kind = 'api' WHERE trigger_kind = 'console';
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_trigger_kind_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_trigger_kind_check
    CHECK (trigger_kind IN ('api', 'schedule', 'cli'));
