DROP TABLE totp_authenticators;
