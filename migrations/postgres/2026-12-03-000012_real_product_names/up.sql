-- Default match rules for the names Kaspersky really gives its products in KSC licence keys.
-- Name rules compare words (case, dashes, punctuation and version numbers such as 12, 11.11,
-- 2024 left out; see `domain::usage::name_words`), so one rule covers every version.
-- Sources of the names:
--   KSC Open API, licence key attributes (KLLIC_PROD_NAME, KLLIC_APP_ID):
--     https://support.kaspersky.com/help/KSC/13/KSCAPI/a00115.html
--   Endpoint Security for Windows ("Kaspersky Endpoint Security 12.1 for Windows", "… 11.11.0 …",
--     older "Kaspersky Endpoint Security for Windows 11.2.0"):
--     https://support.kaspersky.com/keswin/12.1/en-us/all-in-one.htm,
--     https://support.kaspersky.com/help/KESWin/11.3.0/en-US/134238.htm
--   Endpoint Security for Linux ("Kaspersky Endpoint Security 12.0 for Linux"):
--     https://support.kaspersky.co.jp/KES4Linux/12.0.0/en-US/all-in-one.htm
--   Endpoint Security for Mac: https://support.kaspersky.com/KESMac/11.1_adminguide
--   Security for Windows Server ("Kaspersky Security for Windows Server", "Kaspersky Security 10
--     for Windows Server"), administrator's guide 10.1.1.746:
--     https://fdokumen.com/documents/kaspersky-security-for-windows-server.html
--   Mobile ("Kaspersky Endpoint Security for Android", "Kaspersky Security for iOS",
--     "Kaspersky Security for Mobile", "Kaspersky Secure Mobility Management"):
--     https://support.kaspersky.it/help/KSMM/4.0
--   Virtualization ("Kaspersky Security for Virtualization 6.2 Light Agent", "… 6.1 Agentless",
--     "Kaspersky Hybrid Cloud Security"): https://support.kaspersky.co.jp/help/KSVLA/6.2,
--     https://support.kaspersky.it/KSV/6.1
--   Mail ("Kaspersky Security 9.0 for Microsoft Exchange Servers",
--     "Kaspersky Security 8 for Linux Mail Server"):
--     https://support.kaspersky.com/KS4Exchange/9.5/en-US/18740.htm,
--     https://help.kaspersky.com/KLMS/8.2/en-us/170737.htm
--   Bundles ("Kaspersky Endpoint Security for Business - Select" / "Advanced",
--     "Kaspersky Total Security for Business"), Kaspersky price lists (SKUs KL4863, KL4867,
--     KL4869) and licence certificates ("Kaspersky Endpoint Security for Business - Select …
--     Edition. 25-49 Node 2 year Renewal License"). A bundle's key protects every platform; it
--     bills as Endpoint Security for Windows, whose category split puts its Linux and Mac hosts
--     under non-Windows.
-- Rules an admin already changed are left as they are.

UPDATE security_applications SET match_rules_json =
    '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Windows","Kaspersky Endpoint Security for Business Select","Kaspersky Endpoint Security for Business Advanced","Kaspersky Endpoint Security for Business","Kaspersky Total Security for Business"]}',
    updated_at = CURRENT_TIMESTAMP
WHERE id = 'kes-windows'
  AND match_rules_json = '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Windows"]}';

UPDATE security_applications SET match_rules_json =
    '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Mobile","Kaspersky Security for Mobile","Kaspersky Endpoint Security for Android","Kaspersky Security for iOS","Kaspersky Secure Mobility Management"]}',
    updated_at = CURRENT_TIMESTAMP
WHERE id = 'kes-mobile'
  AND match_rules_json = '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Mobile","Kaspersky Security for Mobile"]}';

INSERT INTO security_applications
    (id, name, solution, licensing_model, match_rules_json, custom, retired, created_at, updated_at)
VALUES
    ('ksv', 'Kaspersky Security for Virtualization', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Security for Virtualization","Kaspersky Hybrid Cloud Security"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('ks-exchange', 'Kaspersky Security for Microsoft Exchange Servers', 'ksc', 'per_mailbox',
     '{"app_ids":[],"name_patterns":["Kaspersky Security for Microsoft Exchange Servers","Kaspersky Security for Microsoft Exchange Server"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('ks-mail-server', 'Kaspersky Security for Linux Mail Server', 'ksc', 'per_mailbox',
     '{"app_ids":[],"name_patterns":["Kaspersky Security for Linux Mail Server","Kaspersky Security for Mail Server"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
ON CONFLICT (id) DO NOTHING;
