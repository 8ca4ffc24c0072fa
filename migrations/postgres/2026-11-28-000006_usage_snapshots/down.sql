DROP TABLE usage_snapshots;
