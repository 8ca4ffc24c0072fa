-- Moves and run outcomes (DOMAIN.md §6 "Moves", "Run outcome").

-- What each managed addition billed when it was last written (JSON array of contributions:
-- tenant, application, category, quantity), so a plan can tell usage that moved to other lines
-- from usage that really ended. Filled from the newest applied change of each addition.
ALTER TABLE managed_additions ADD COLUMN billed_json TEXT;
UPDATE managed_additions SET billed_json = (
    SELECT c.contributions_json FROM sync_changes c
    WHERE c.agreement_id = managed_additions.agreement_id
      AND c.product_id = managed_additions.product_id
      AND c.result = 'applied' AND c.action IN ('create', 'update', 'adopt')
    ORDER BY c.created_at DESC, c.seq DESC
    LIMIT 1
);

-- The move a change belongs to.
ALTER TABLE sync_changes ADD COLUMN move_id TEXT;

-- A run that applied everything else but left lines waiting for approval is `held`.
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_status_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_status_check
    CHECK (status IN ('running', 'succeeded', 'held', 'partial', 'failed', 'interrupted'));
