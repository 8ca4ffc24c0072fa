DROP TABLE connectwise_readings;
DROP TABLE company_terms;
DROP TABLE billing_profiles;
ALTER TABLE cw_products
    ADD COLUMN price DOUBLE PRECISION,
    ADD COLUMN cost DOUBLE PRECISION;
UPDATE cw_products SET price = unit_price::double precision, cost = unit_cost::double precision;
ALTER TABLE cw_products DROP COLUMN unit_price, DROP COLUMN unit_cost, DROP COLUMN taxable;
