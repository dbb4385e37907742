DROP TABLE audit_events;
DROP TABLE entitlements;
DROP TABLE sessions;
DROP TABLE consumers;
DROP TABLE users;
