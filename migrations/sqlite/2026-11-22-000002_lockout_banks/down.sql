DROP TABLE banks;
DROP TABLE user_locks;
DROP TABLE login_attempts;
