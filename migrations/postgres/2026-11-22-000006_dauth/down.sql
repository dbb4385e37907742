DROP TABLE dauth_requests;
