-- A counter per group of tables, raised by triggers in the same transaction as every write to
-- them, whichever process or code path writes. Readers compare it with the counter their
-- in-memory copy was read at (see src/read_cache.rs).
CREATE TABLE data_versions (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

INSERT INTO data_versions (name, version) VALUES ('products', 0), ('sync_runs', 0);

CREATE FUNCTION raise_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END
$$;

-- The mapping grid: applications, mappings, the catalog cache, billing settings (app_state).
CREATE TRIGGER security_applications_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON security_applications FOR EACH STATEMENT EXECUTE FUNCTION raise_data_version('products');
CREATE TRIGGER product_mappings_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON product_mappings FOR EACH STATEMENT EXECUTE FUNCTION raise_data_version('products');
CREATE TRIGGER cw_products_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON cw_products FOR EACH STATEMENT EXECUTE FUNCTION raise_data_version('products');
CREATE TRIGGER app_state_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON app_state FOR EACH STATEMENT EXECUTE FUNCTION raise_data_version('products');

CREATE TRIGGER sync_runs_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON sync_runs FOR EACH STATEMENT EXECUTE FUNCTION raise_data_version('sync_runs');
