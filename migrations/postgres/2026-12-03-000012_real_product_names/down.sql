DELETE FROM product_mappings WHERE application_id IN ('ksv', 'ks-exchange', 'ks-mail-server');
DELETE FROM security_applications
WHERE id IN ('ksv', 'ks-exchange', 'ks-mail-server') AND custom = FALSE;

UPDATE security_applications SET match_rules_json =
    '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Windows"]}'
WHERE id = 'kes-windows'
  AND match_rules_json = '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Windows","Kaspersky Endpoint Security for Business Select","Kaspersky Endpoint Security for Business Advanced","Kaspersky Endpoint Security for Business","Kaspersky Total Security for Business"]}';

UPDATE security_applications SET match_rules_json =
    '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Mobile","Kaspersky Security for Mobile"]}'
WHERE id = 'kes-mobile'
  AND match_rules_json = '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Mobile","Kaspersky Security for Mobile","Kaspersky Endpoint Security for Android","Kaspersky Security for iOS","Kaspersky Secure Mobility Management"]}';
