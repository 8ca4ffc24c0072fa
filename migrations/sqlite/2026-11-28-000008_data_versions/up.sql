-- A counter per group of tables, raised by triggers in the same transaction as every write to
-- them, whichever process or code path writes. Readers compare it with the counter their
-- in-memory copy was read at (see src/read_cache.rs). SQLite triggers are per row and per
-- operation: three per table.
CREATE TABLE data_versions (
    name TEXT PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL
);

INSERT INTO data_versions (name, version) VALUES ('products', 0), ('sync_runs', 0);


CREATE TRIGGER security_applications_insert_version AFTER INSERT ON security_applications
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'products'; END;
CREATE TRIGGER security_applications_update_version AFTER UPDATE ON security_applications
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'products'; END;
CREATE TRIGGER security_applications_delete_version AFTER DELETE ON security_applications
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'products'; END;

CREATE TRIGGER product_mappings_insert_version AFTER INSERT ON product_mappings
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'products'; END;
CREATE TRIGGER product_mappings_update_version AFTER UPDATE ON product_mappings
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'products'; END;
CREATE TRIGGER product_mappings_delete_version AFTER DELETE ON product_mappings
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'products'; END;

CREATE TRIGGER cw_products_insert_version AFTER INSERT ON cw_products
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'products'; END;
CREATE TRIGGER cw_products_update_version AFTER UPDATE ON cw_products
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'products'; END;
CREATE TRIGGER cw_products_delete_version AFTER DELETE ON cw_products
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'products'; END;

CREATE TRIGGER app_state_insert_version AFTER INSERT ON app_state
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'products'; END;
CREATE TRIGGER app_state_update_version AFTER UPDATE ON app_state
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'products'; END;
CREATE TRIGGER app_state_delete_version AFTER DELETE ON app_state
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'products'; END;

CREATE TRIGGER sync_runs_insert_version AFTER INSERT ON sync_runs
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'sync_runs'; END;
CREATE TRIGGER sync_runs_update_version AFTER UPDATE ON sync_runs
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'sync_runs'; END;
CREATE TRIGGER sync_runs_delete_version AFTER DELETE ON sync_runs
BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'sync_runs'; END;
