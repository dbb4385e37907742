-- Accounts, as far as access needs them: the bank, the id, a label, a product and a balance.
-- access_version is bumped by every change to who may do what on the account: changes
-- serialise on it (so the last-owner rule holds under concurrency), and caches key on it.
CREATE TABLE accounts (
    bank_id TEXT NOT NULL REFERENCES banks (bank_id),
    account_id TEXT NOT NULL,
    label TEXT NOT NULL,
    product_code TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance_amount TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    access_version BIGINT NOT NULL,
    PRIMARY KEY (bank_id, account_id)
);

CREATE TABLE account_holders (
    bank_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    PRIMARY KEY (bank_id, account_id, user_id),
    FOREIGN KEY (bank_id, account_id) REFERENCES accounts (bank_id, account_id) ON DELETE CASCADE
);

-- Custom views: one account's own; permissions as the decimal string of a 128-bit set.
CREATE TABLE custom_views (
    bank_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    view_id TEXT NOT NULL,
    short_name TEXT NOT NULL,
    description TEXT NOT NULL,
    metadata_view TEXT NOT NULL,
    is_public BOOLEAN NOT NULL,
    alias TEXT NOT NULL,
    hide_metadata_if_alias_used BOOLEAN NOT NULL,
    permissions TEXT NOT NULL,
    can_grant_custom_views BOOLEAN NOT NULL,
    can_revoke_custom_views BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (bank_id, account_id, view_id),
    FOREIGN KEY (bank_id, account_id) REFERENCES accounts (bank_id, account_id) ON DELETE CASCADE
);

-- Who holds which view on which account. A grant is one row; granting twice stores one.
CREATE TABLE account_access (
    bank_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    view_id TEXT NOT NULL,
    is_system BOOLEAN NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (bank_id, account_id, user_id, view_id),
    FOREIGN KEY (bank_id, account_id) REFERENCES accounts (bank_id, account_id) ON DELETE CASCADE
);
CREATE INDEX account_access_user_id ON account_access (user_id);
