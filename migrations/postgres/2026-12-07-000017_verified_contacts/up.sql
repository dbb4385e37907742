-- When the user proved they receive codes at their email address and at their phone number
-- (NULL: not proved). Codes for strong customer authentication go only to proved contacts.
-- Users from before this migration start unproved: a contact given at sign-up was never
-- checked, and only the bank knows which of them came from its own records.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
ALTER TABLE users ADD COLUMN phone_verified_at BIGINT;
