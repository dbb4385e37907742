-- The statement GET users/current sends on PostgreSQL (sessions::find_for_check_with_holdings
-- in crates/repository), written out for pgbench: `pgbench -M prepared -f THIS -D sid=ID`
-- measures what the database alone can answer of it, the ceiling of users/current.
SELECT s.last_activity_at, s.idle_timeout_secs, s.expires_at, s.terminated_at,
       (s.consumer_id != ''),
       u.user_id, u.provider, u.provider_id, u.username, u.email, u.first_name, u.last_name,
       u.created_at, u.phone_number, u.customer_number, u.email_verified_at, u.phone_verified_at,
       c.consumer_id, c.enabled, c.per_second_call_limit, c.per_minute_call_limit,
       c.per_hour_call_limit, c.per_day_call_limit, c.per_week_call_limit, c.per_month_call_limit,
       (l.user_id IS NOT NULL),
       (SELECT coalesce(json_agg(json_build_array(e.entitlement_id, e.user_id, e.role_name,
                e.bank_id, e.created_at) ORDER BY e.created_at, e.entitlement_id), '[]')::text
          FROM entitlements e WHERE e.user_id = u.user_id),
       (SELECT coalesce(json_agg(json_build_array(a.bank_id, a.account_id, a.view_id,
                a.is_system) ORDER BY a.bank_id, a.account_id, a.view_id), '[]')::text
          FROM account_access a WHERE a.user_id = u.user_id)
  FROM sessions s
  JOIN users u ON u.user_id = s.user_id
  LEFT JOIN consumers c ON c.consumer_id = s.consumer_id
  LEFT JOIN user_locks l ON l.user_id = s.user_id
 WHERE s.session_id = :sid;
