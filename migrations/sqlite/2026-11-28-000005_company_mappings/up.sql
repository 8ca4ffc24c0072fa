-- The Companies tab: each Kaspersky tenant bills to one ConnectWise company (one-to-one both
-- ways) and to one agreement of that company.

CREATE TABLE company_mappings (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL UNIQUE REFERENCES tenants (id),
    cw_company_id BIGINT NOT NULL UNIQUE,
    -- Names as ConnectWise showed them when the mapping was saved (for display).
    cw_company_name TEXT NOT NULL,
    agreement_id BIGINT NOT NULL,
    agreement_name TEXT NOT NULL,
    billing_enabled BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
