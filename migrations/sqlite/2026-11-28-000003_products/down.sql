DROP TABLE product_mappings;
DROP TABLE security_applications;
