DROP TABLE company_mappings;
