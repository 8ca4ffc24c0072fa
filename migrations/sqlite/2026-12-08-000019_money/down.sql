DROP TABLE connectwise_readings;
DROP TABLE company_terms;
DROP TABLE billing_profiles;
ALTER TABLE cw_products ADD COLUMN price DOUBLE;
ALTER TABLE cw_products ADD COLUMN cost DOUBLE;
UPDATE cw_products SET price = CAST(unit_price AS REAL), cost = CAST(unit_cost AS REAL);
ALTER TABLE cw_products DROP COLUMN unit_price;
ALTER TABLE cw_products DROP COLUMN unit_cost;
ALTER TABLE cw_products DROP COLUMN taxable;
