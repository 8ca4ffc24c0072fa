DROP TABLE cw_products;
DROP TABLE connections;
