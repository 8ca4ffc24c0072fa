DROP TABLE sync_lease;
DROP TABLE sync_changes;
DROP TABLE sync_runs;
DROP TABLE sync_plans;
DROP TABLE managed_additions;
