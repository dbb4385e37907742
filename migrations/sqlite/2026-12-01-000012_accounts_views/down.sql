DROP TABLE account_access;
DROP TABLE custom_views;
DROP TABLE account_holders;
DROP TABLE accounts;
