DROP TABLE user_auth_contexts;
