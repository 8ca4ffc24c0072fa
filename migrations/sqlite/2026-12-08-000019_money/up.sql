-- Money (issue 23, DOMAIN.md §7). Amounts are stored as exact decimal text, never as binary
-- floating point: the catalog cache's price and cost move to text columns, and the catalog's
-- taxable flag is kept.
ALTER TABLE cw_products ADD COLUMN unit_price TEXT;
ALTER TABLE cw_products ADD COLUMN unit_cost TEXT;
ALTER TABLE cw_products ADD COLUMN taxable BOOLEAN NOT NULL DEFAULT 0;
UPDATE cw_products SET unit_price = CAST(price AS TEXT), unit_cost = CAST(cost AS TEXT);
ALTER TABLE cw_products DROP COLUMN price;
ALTER TABLE cw_products DROP COLUMN cost;

-- One billing profile per ConnectWise product. Without one, additions are written as before
-- (ConnectWise's catalog defaults): an upgrade changes nothing an installation bills.
CREATE TABLE billing_profiles (
    product_id BIGINT PRIMARY KEY,
    profile_json TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A company mapping's own terms (minimums, included units, prices, overrides, exclusions).
CREATE TABLE company_terms (
    company_mapping_id TEXT PRIMARY KEY REFERENCES company_mappings (id) ON DELETE CASCADE,
    terms_json TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- What each run last read of an agreement's additions (after its own writes), so the
-- reconciliation report can be made without reading ConnectWise again.
CREATE TABLE connectwise_readings (
    agreement_id BIGINT PRIMARY KEY,
    additions_json TEXT NOT NULL,
    read_at TIMESTAMP NOT NULL
);
