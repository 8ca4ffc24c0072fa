DELETE FROM product_mappings WHERE application_id IN ('next-edr-foundations', 'next-edr-optimum',
    'next-edr-expert', 'next-xdr-optimum', 'next-xdr-expert', 'kesb-select', 'kesb-advanced', 'ktsb',
    'khcs', 'ksos', 'kess', 'kics-nodes', 'next-edr-foundations-cloud', 'next-edr-optimum-cloud');
DELETE FROM security_applications WHERE id IN ('next-edr-foundations', 'next-edr-optimum',
    'next-edr-expert', 'next-xdr-optimum', 'next-xdr-expert', 'kesb-select', 'kesb-advanced', 'ktsb',
    'khcs', 'ksos', 'kess', 'kics-nodes', 'next-edr-foundations-cloud', 'next-edr-optimum-cloud');
ALTER TABLE security_applications DROP COLUMN folds_into;
