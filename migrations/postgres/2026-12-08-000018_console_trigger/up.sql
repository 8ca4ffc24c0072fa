-- Runs started from the web console record the trigger `console` (issue 24).
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_trigger_kind_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_trigger_kind_check
    CHECK (trigger_kind IN ('api', 'console', 'schedule', 'cli'));
