DROP TABLE system_keys;
