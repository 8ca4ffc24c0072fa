ALTER TABLE security_applications ADD COLUMN folds_into TEXT;

-- Licence tiers and the current Kaspersky product names (DOMAIN.md §6 "Application identity").
--
-- What an MSP buys from Kaspersky and resells at its own price is a licence tier, so each tier is
-- a per-device application of its own: the Kaspersky Next line, Endpoint Security for Business
-- Select and Advanced, Total Security for Business, Hybrid Cloud Security, Small Office Security.
-- A key named for one platform product belongs to that platform's application (Embedded Systems
-- Security and Industrial CyberSecurity for Nodes are platforms of their own).
--
-- An installation whose admin already mapped or edited applications keeps billing exactly as
-- before: `folds_into` names the application a tier's keys counted as before (Select, Advanced and
-- Total Security for Business as Endpoint Security for Windows, Hybrid Cloud Security as Security
-- for Virtualization), and the billing setting `bill_licence_tiers` is set to false for it, so
-- those keys keep counting there until an admin turns it on (one call; the next preview shows the
-- change as a move). A fresh installation bills tiers on their own from the start.
--
-- Sources of the names (checked 2026-12). They are the official product names; name rules compare
-- words (case, dashes and version numbers left out), so "Kaspersky Next EDR Optimum 2.0" or
-- "… for Business - Select Brazilian Edition" match too. No public source shows a Kaspersky Next
-- key's exact KLLIC_PROD_NAME; an MSP teaches a variant with POST …/match-rules.
--   Kaspersky Next EDR Foundations / EDR Optimum / XDR Expert, and the Next EDR Expert, XDR
--     Optimum and MXDR Optimum tiers: https://support.kaspersky.com/help/KESWin/12.4/de-DE/279289.htm
--     (licensing EDR Optimum and MDR), https://support.kaspersky.com/KESWin/11.8.0/de-DE/225064.htm
--     ("Kaspersky Endpoint Detection and Response Optimum", "Kaspersky Optimum Security"),
--     https://support.kaspersky.com/kedr-expert/226834 ("Kaspersky Endpoint Detection and Response
--     Expert"), https://support.kaspersky.co.jp/help/XDR/1.2/en-US/all-in-one.htm ("Kaspersky Next XDR
--     Expert"); Next XDR Optimum and MXDR Optimum from Kaspersky's September 2025 launch
--     (https://www.kaspersky.com/next-xdr-optimum, seen through a secondary source)
--   Endpoint Security for Business Select / Advanced, Total Security for Business and their SKUs
--     (KL4863, KL4867, KL4869; the part number begins with the SKU, e.g. KL4863XAKFS): Kaspersky
--     price lists and licence certificates ("Kaspersky Endpoint Security for Business - Select …
--     Edition. 25-49 Node 2 year Renewal License"), as in migration 000012
--   Hybrid Cloud Security (Standard, Enterprise): https://support.kaspersky.com/de/ksv5la/73781,
--     https://support.kaspersky.com/KSVLA/6.1/en-US/254068.htm
--   Small Office Security (SKUs KL4541, KL4542): https://support.kaspersky.com/11874
--   Embedded Systems Security 3.x for Windows and for Linux: https://support.kaspersky.com/kess3/146717,
--     https://support.kaspersky.com/kess-linux/3.3.0/250484
--   Industrial CyberSecurity for Nodes / for Linux Nodes:
--     https://support.kaspersky.com/KICS4Linux/1.3/en-US/198397.htm
--   Business Hub and the cloud console: Kaspersky Next EDR Foundations and EDR Optimum in the
--     cloud console that succeeded Endpoint Security Cloud's
--     (https://support.kaspersky.com/help/NextPro/1.0/en-us/139299.htm); counted per user like
--     Endpoint Security Cloud (https://support.kaspersky.com/Cloud/1.0/en-US/180753.htm) —
--     the push says how many, the server converts nothing.
--   Licence SKU attribute KLLIC_PART_NUMBER: returned by KSC 15.4 and later (DOMAIN.md §6); read
--     when returned, left out of matching when not.

INSERT INTO security_applications
    (id, name, solution, licensing_model, match_rules_json, custom, retired, created_at, updated_at, folds_into)
VALUES
    ('next-edr-foundations', 'Kaspersky Next EDR Foundations', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Next EDR Foundations"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, NULL),
    ('next-edr-optimum', 'Kaspersky Next EDR Optimum', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Next EDR Optimum","Kaspersky Endpoint Detection and Response Optimum","Kaspersky EDR Optimum","Kaspersky Optimum Security"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, NULL),
    ('next-edr-expert', 'Kaspersky Next EDR Expert', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Next EDR Expert","Kaspersky Endpoint Detection and Response Expert","Kaspersky EDR Expert"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, NULL),
    ('next-xdr-optimum', 'Kaspersky Next XDR Optimum', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Next XDR Optimum","Kaspersky Next MXDR Optimum"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, NULL),
    ('next-xdr-expert', 'Kaspersky Next XDR Expert', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Next XDR Expert"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, NULL),
    ('kesb-select', 'Kaspersky Endpoint Security for Business Select', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Business Select"],"skus":["KL4863"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'kes-windows'),
    ('kesb-advanced', 'Kaspersky Endpoint Security for Business Advanced', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Business Advanced"],"skus":["KL4867"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'kes-windows'),
    ('ktsb', 'Kaspersky Total Security for Business', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Total Security for Business"],"skus":["KL4869"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'kes-windows'),
    ('khcs', 'Kaspersky Hybrid Cloud Security', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Hybrid Cloud Security"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'ksv'),
    ('ksos', 'Kaspersky Small Office Security', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Small Office Security"],"skus":["KL4541","KL4542"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, NULL),
    ('kess', 'Kaspersky Embedded Systems Security', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Embedded Systems Security"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, NULL),
    ('kics-nodes', 'Kaspersky Industrial CyberSecurity for Nodes', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Industrial CyberSecurity for Nodes","Kaspersky Industrial CyberSecurity for Linux Nodes","Kaspersky Industrial Cyber Security for Nodes"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, NULL),
    -- Business Hub usage is pushed, never matched against KSC keys: no match rules.
    ('next-edr-foundations-cloud', 'Kaspersky Next EDR Foundations (cloud console)', 'business_hub', 'per_user',
     '{"app_ids":[],"name_patterns":[]}', FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, NULL),
    ('next-edr-optimum-cloud', 'Kaspersky Next EDR Optimum (cloud console)', 'business_hub', 'per_user',
     '{"app_ids":[],"name_patterns":[]}', FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, NULL)
ON CONFLICT (id) DO NOTHING;

-- The tiers' names leave the applications that took them until now, unless an admin changed
-- those rules (then they stay, and tiers keep folding until the admin resolves the overlap).
UPDATE security_applications SET match_rules_json =
    '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Windows","Kaspersky Endpoint Security for Business"]}',
    updated_at = CURRENT_TIMESTAMP
WHERE id = 'kes-windows'
  AND match_rules_json = '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Windows","Kaspersky Endpoint Security for Business Select","Kaspersky Endpoint Security for Business Advanced","Kaspersky Endpoint Security for Business","Kaspersky Total Security for Business"]}';

UPDATE security_applications SET match_rules_json =
    '{"app_ids":[],"name_patterns":["Kaspersky Security for Virtualization"]}',
    updated_at = CURRENT_TIMESTAMP
WHERE id = 'ksv'
  AND match_rules_json = '{"app_ids":[],"name_patterns":["Kaspersky Security for Virtualization","Kaspersky Hybrid Cloud Security"]}';

-- An installation already in use keeps its billing: tiers fold until an admin opts in.
INSERT INTO app_state (key, value, updated_at)
SELECT 'billing_settings', '{"bill_devices_by_category":false,"bill_licence_tiers":false}', CURRENT_TIMESTAMP
WHERE EXISTS (SELECT 1 FROM product_mappings)
   OR EXISTS (SELECT 1 FROM security_applications WHERE custom)
   OR EXISTS (SELECT 1 FROM audit_events WHERE entity_type = 'security_application')
ON CONFLICT (key) DO UPDATE SET
    value = (app_state.value::jsonb || '{"bill_licence_tiers": false}'::jsonb)::text,
    updated_at = CURRENT_TIMESTAMP;
