DROP TRIGGER sync_runs_version ON sync_runs;
DROP TRIGGER app_state_version ON app_state;
DROP TRIGGER cw_products_version ON cw_products;
DROP TRIGGER product_mappings_version ON product_mappings;
DROP TRIGGER security_applications_version ON security_applications;
DROP FUNCTION raise_data_version();
DROP TABLE data_versions;
