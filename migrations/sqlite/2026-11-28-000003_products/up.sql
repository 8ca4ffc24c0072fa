-- The Products tab: the security applications that usage is counted for, and which ConnectWise
-- product bills each of them. The "Bill devices by category" toggle lives in `app_state`.

CREATE TABLE security_applications (
    -- A stable slug, e.g. `kes-windows`.
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    solution TEXT NOT NULL CHECK (solution IN ('ksc', 'business_hub')),
    licensing_model TEXT NOT NULL CHECK (licensing_model IN ('per_device', 'per_user', 'per_mailbox')),
    -- JSON `{"app_ids": [...], "name_patterns": [...]}`: how a KSC licence key is recognised.
    match_rules_json TEXT NOT NULL,
    -- Added by an admin, not seeded.
    custom BOOLEAN NOT NULL,
    -- Hidden from the mapping grid; kept so history and stored mappings stay intact.
    retired BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Both forms may be stored at once; `bill_devices_by_category` picks the one in force.
-- Products are checked against the catalog cache when saved, not by a foreign key: a catalog
-- refresh may mark them inactive or vanished without touching mappings.
CREATE TABLE product_mappings (
    application_id TEXT PRIMARY KEY REFERENCES security_applications (id),
    product_id BIGINT,
    workstation_product_id BIGINT,
    server_product_id BIGINT,
    non_windows_product_id BIGINT,
    updated_at TIMESTAMP NOT NULL
);

INSERT INTO security_applications
    (id, name, solution, licensing_model, match_rules_json, custom, retired, created_at, updated_at)
VALUES
    ('kes-windows', 'Kaspersky Endpoint Security for Windows', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Windows"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('kes-linux', 'Kaspersky Endpoint Security for Linux', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Linux"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('kes-mac', 'Kaspersky Endpoint Security for Mac', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Mac"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('ksws', 'Kaspersky Security for Windows Server', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Security for Windows Server"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('kes-mobile', 'Kaspersky Endpoint Security for Mobile', 'ksc', 'per_device',
     '{"app_ids":[],"name_patterns":["Kaspersky Endpoint Security for Mobile","Kaspersky Security for Mobile"]}',
     FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    -- Business Hub usage is pushed, never matched against KSC keys: no match rules.
    ('kes-cloud', 'Kaspersky Endpoint Security Cloud', 'business_hub', 'per_user',
     '{"app_ids":[],"name_patterns":[]}', FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('kes-cloud-plus', 'Kaspersky Endpoint Security Cloud Plus', 'business_hub', 'per_user',
     '{"app_ids":[],"name_patterns":[]}', FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('kes-cloud-pro', 'Kaspersky Endpoint Security Cloud Pro', 'business_hub', 'per_user',
     '{"app_ids":[],"name_patterns":[]}', FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('ks-office365', 'Kaspersky Security for Microsoft Office 365', 'business_hub', 'per_mailbox',
     '{"app_ids":[],"name_patterns":[]}', FALSE, FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);
