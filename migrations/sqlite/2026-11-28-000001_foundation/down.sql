DROP TABLE app_state;
DROP TABLE audit_events;
DROP TABLE service_tokens;
DROP TABLE users;
