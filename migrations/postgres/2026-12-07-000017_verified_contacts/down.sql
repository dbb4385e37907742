ALTER TABLE users DROP COLUMN phone_verified_at;
ALTER TABLE users DROP COLUMN email_verified_at;
