DROP TABLE auth_context_updates;
DROP TABLE security_answers;
DROP TABLE quota_counters;
DROP TABLE challenge_destinations;
ALTER TABLE challenges DROP COLUMN verified_at;
ALTER TABLE users DROP COLUMN phone_number;
