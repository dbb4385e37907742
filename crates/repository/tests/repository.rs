//! Repository behaviour, run on SQLite and (when configured) PostgreSQL.

use assent_identity::consumer::Consumer;
use assent_identity::{User, UserId};
use assent_repository::testing::TestDatabase;
use assent_repository::users::{InsertUser, UserRow};
use assent_repository::{
    DbConnection, RepoError, audit, backend_test, consumers, entitlements, revert_all_migrations,
    run_migrations, sessions, transaction, users,
};
use assent_session::{Session, SessionId, SessionPolicy, SessionState};
use time::{Duration, OffsetDateTime, macros::datetime};
use uuid::Uuid;

const NOW: OffsetDateTime = datetime!(2026-11-22 10:00:00.123456 UTC);

fn user(username: &str) -> (User, UserRow) {
    let user = User {
        user_id: UserId(Uuid::new_v4()),
        provider: "local".into(),
        provider_id: username.into(),
        username: username.into(),
        email: format!("{username}@example.com"),
        first_name: "Felix".into(),
        last_name: "Smith".into(),
        phone_number: None,
        customer_number: Some(assent_identity::user::generate_customer_number(
            &mut rand::rng(),
        )),
        created_at: NOW,
        email_verified_at: None,
        phone_verified_at: None,
    };
    let row = UserRow::new(&user, username.to_lowercase(), "$argon2id$fake".into());
    (user, row)
}

/// Both backends carry the same migrations, by name: a schema change made for one only would
/// leave the other behind.
#[test]
fn both_backends_have_the_same_migrations() {
    let names = |backend: &str| {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in &names {
            for file in ["up.sql", "down.sql"] {
                assert!(
                    folder.join(name).join(file).is_file(),
                    "{backend}/{name}/{file}"
                );
            }
        }
        names
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}

backend_test! {
    /// Every migration's `down.sql` undoes its `up.sql`: all of them run up, down and up again.
    #[test]
    fn every_migration_runs_up_down_and_up_again(db) {
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let applied = revert_all_migrations(conn).unwrap();
        assert!(applied > 0);
        assert_eq!(run_migrations(conn).unwrap(), applied);
        let (_, row) = user("felix");
        users::insert(conn, &row).unwrap();
        assert_eq!(revert_all_migrations(conn).unwrap(), applied);
        assert_eq!(run_migrations(conn).unwrap(), applied);
    }
}

backend_test! {
    #[test]
    fn migrations_are_idempotent(db) {
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        assert_eq!(run_migrations(conn).unwrap(), 0);
    }
}

backend_test! {
    #[test]
    fn users_round_trip_and_usernames_are_unique_ignoring_case(db) {
        let db = &db;
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let (felix, row) = user("Felix");
        assert_eq!(users::insert(conn, &row).unwrap(), InsertUser::Created);
        let (_, clash) = user("FELIX");
        assert_eq!(
            users::insert(conn, &clash).unwrap(),
            InsertUser::UsernameTaken,
            "{}",
            db.backend_name()
        );

        let found = users::find_by_username(conn, "local", "felix")
            .unwrap()
            .unwrap();
        assert_eq!(User::try_from(found).unwrap(), felix);
        let by_id = users::find_by_id(conn, &felix.user_id).unwrap().unwrap();
        assert_eq!(by_id.username, "Felix");
        assert!(
            users::find_by_username(conn, "other", "felix")
                .unwrap()
                .is_none()
        );

        assert!(
            users::replace_password_hash(conn, &felix.user_id, "$argon2id$fake", "$new").unwrap()
        );
        assert!(
            !users::replace_password_hash(conn, &felix.user_id, "$argon2id$fake", "$newer")
                .unwrap()
        );
    }
}

backend_test! {
    #[test]
    fn parallel_inserts_of_one_username_store_exactly_one(db) {
        let pool = db.pool().unwrap();
        let outcomes: Vec<InsertUser> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let pool = pool.clone();
                    scope.spawn(move || {
                        let mut conn = pool.get().unwrap();
                        let (_, row) = user("racer");
                        transaction(&mut conn, |c| users::insert(c, &row)).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let created = outcomes
            .iter()
            .filter(|o| **o == InsertUser::Created)
            .count();
        assert_eq!(created, 1, "{}", db.backend_name());
        let mut conn = pool.get().unwrap();
        assert_eq!(
            users::count_by_username(&mut conn, "local", "racer").unwrap(),
            1
        );
    }
}

backend_test! {
    #[test]
    fn sessions_read_with_their_user_and_change_only_conditionally(db) {
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let (felix, row) = user("felix");
        users::insert(conn, &row).unwrap();
        let session = Session::start(
            felix.user_id.0,
            NOW,
            &SessionPolicy::default(),
            &mut rand::rng(),
        );
        sessions::insert(conn, &session).unwrap();

        let view = sessions::find_with_user(conn, session.session_id().as_str())
            .unwrap()
            .unwrap();
        let (stored, user_row, consumer) = (view.session, view.user, view.consumer);
        assert!(!view.user_locked);
        assert_eq!(stored, session);
        assert_eq!(user_row.user_id, felix.user_id.to_string());
        assert!(consumer.is_none());
        assert!(
            sessions::find_with_user(conn, "0".repeat(32).as_str())
                .unwrap()
                .is_none()
        );
        // The per-request check reads the same session, narrower.
        let check = sessions::find_for_check(conn, session.session_id())
            .unwrap()
            .unwrap();
        assert_eq!(check.clock, session.clock());
        assert!(!check.through_consumer && check.consumer.is_none() && !check.user_locked);
        assert_eq!(check.user.user_id, felix.user_id.to_string());
        let unknown = SessionId::parse(&"0".repeat(32)).unwrap();
        assert!(sessions::find_for_check(conn, &unknown).unwrap().is_none());

        let later = NOW + Duration::seconds(10);
        let sid = session.session_id().as_str();
        assert!(sessions::record_activity(conn, sid, later, later - Duration::seconds(5)).unwrap());
        // A second request in the same interval does not write again.
        assert!(
            !sessions::record_activity(conn, sid, later, later - Duration::seconds(5)).unwrap()
        );

        assert_eq!(sessions::terminate_family(conn, sid, later, "logout").unwrap(), 1);
        assert_eq!(sessions::terminate_family(conn, sid, later, "logout").unwrap(), 0);
        let ended = sessions::find_with_user(conn, sid)
            .unwrap()
            .unwrap()
            .session;
        assert_eq!(ended.state(later), SessionState::Terminated);
        let checked = sessions::find_for_check(conn, session.session_id())
            .unwrap()
            .unwrap();
        assert_eq!(checked.clock.state(later), SessionState::Terminated);
        assert!(
            !sessions::record_activity(
                conn,
                sid,
                later + Duration::seconds(60),
                later + Duration::seconds(55)
            )
            .unwrap()
        );
    }
}

backend_test! {
    #[test]
    fn a_family_of_any_length_ends_at_once_from_any_member(db) {
        let db = &db;
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let (felix, row) = user("felix");
        users::insert(conn, &row).unwrap();
        let policy =
            SessionPolicy::new(Duration::seconds(60), Duration::hours(12), Duration::hours(12))
                .unwrap();
        let first = Session::start(felix.user_id.0, NOW, &policy, &mut rand::rng());
        sessions::insert(conn, &first).unwrap();
        // Forty idle replacements, each of the one before.
        let mut chain = vec![first];
        let mut at = NOW;
        for _ in 0..40 {
            at += Duration::seconds(61);
            let last = chain.last().unwrap();
            let next = last.replacement(at, &policy, false, &mut rand::rng()).unwrap();
            assert!(sessions::replace(conn, last, &next, at).unwrap());
            chain.push(next);
        }
        let newest = chain.last().unwrap().session_id().clone();
        let other = Session::start(felix.user_id.0, NOW, &policy, &mut rand::rng());
        sessions::insert(conn, &other).unwrap();

        let first_id = chain[0].session_id().as_str();
        assert_eq!(sessions::terminate_family(conn, first_id, at, "system").unwrap(), 1);
        let newest = sessions::find(conn, newest.as_str()).unwrap().unwrap();
        assert_eq!(newest.state(at), SessionState::Terminated, "{}", db.backend_name());
        assert_eq!(newest.termination_reason(), Some("system"));
        let other = sessions::find(conn, other.session_id().as_str()).unwrap().unwrap();
        assert_eq!(other.terminated_at(), None, "another family is untouched");
        assert_eq!(sessions::terminate_family(conn, &"0".repeat(32), at, "system").unwrap(), 0);
    }
}

backend_test! {
    #[test]
    fn a_contact_is_marked_verified_only_while_it_is_the_users(db) {
        use assent_repository::users::ContactKind;
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let (mut felix, _) = user("felix");
        felix.phone_number = Some("+447700900123".into());
        let row = UserRow::new(&felix, "felix".into(), "$argon2id$fake".into());
        users::insert(conn, &row).unwrap();
        let id = felix.user_id.to_string();
        let later = NOW + Duration::minutes(1);
        assert!(!users::mark_contact_verified(conn, &id, ContactKind::Email, "old@example.com", later).unwrap());
        assert!(!users::mark_contact_verified(conn, &id, ContactKind::Phone, "+447700900999", later).unwrap());
        let stored = User::try_from(users::find_by_id(conn, &felix.user_id).unwrap().unwrap()).unwrap();
        assert_eq!((stored.verified_email(), stored.verified_phone()), (None, None));

        assert!(users::mark_contact_verified(conn, &id, ContactKind::Email, &felix.email, later).unwrap());
        assert!(users::mark_contact_verified(conn, &id, ContactKind::Phone, "+447700900123", later).unwrap());
        let stored = User::try_from(users::find_by_id(conn, &felix.user_id).unwrap().unwrap()).unwrap();
        assert_eq!(stored.email_verified_at, Some(later), "{}", db.backend_name());
        assert_eq!(stored.verified_phone(), Some("+447700900123"));
    }
}

backend_test! {
    #[test]
    fn sessions_need_an_existing_user(db) {
        let db = &db;
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let session = Session::start(
            Uuid::new_v4(),
            NOW,
            &SessionPolicy::default(),
            &mut rand::rng(),
        );
        assert!(
            sessions::insert(conn, &session).is_err(),
            "{}: foreign key",
            db.backend_name()
        );
    }
}

backend_test! {
    #[test]
    fn consumers_are_found_by_key_hash_only(db) {
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let consumer = Consumer::new(Uuid::new_v4(), "App".into());
        consumers::insert(conn, &consumer, "hash-1", NOW).unwrap();
        assert_eq!(
            consumers::find_by_key_hash(conn, "hash-1").unwrap(),
            Some(consumer.clone())
        );
        assert_eq!(consumers::find_by_key_hash(conn, "hash-2").unwrap(), None);
        assert!(consumers::set_enabled(conn, &consumer.consumer_id, false).unwrap());
        assert!(
            !consumers::find_by_key_hash(conn, "hash-1")
                .unwrap()
                .unwrap()
                .enabled
        );
    }
}

backend_test! {
    #[test]
    fn entitlements_are_unique_per_user_role_and_bank(db) {
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let (felix, row) = user("felix");
        users::insert(conn, &row).unwrap();
        let uid = felix.user_id.to_string();
        let first =
            entitlements::insert(conn, Uuid::new_v4(), &uid, "CanGetAnyUser", None, NOW).unwrap();
        assert!(matches!(first, entitlements::InsertEntitlement::Created(_)));
        assert_eq!(
            entitlements::insert(conn, Uuid::new_v4(), &uid, "CanGetAnyUser", None, NOW).unwrap(),
            entitlements::InsertEntitlement::AlreadyExists
        );
        entitlements::insert(
            conn,
            Uuid::new_v4(),
            &uid,
            "CanCreateAccount",
            Some("gh.29.uk"),
            NOW,
        )
        .unwrap();
        let list = entitlements::list_for_user(conn, &uid).unwrap();
        assert_eq!(list.len(), 2);
    }
}

backend_test! {
    #[test]
    fn a_failed_transaction_leaves_nothing_behind(db) {
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let (felix, row) = user("felix");
        let result: Result<(), RepoError> = transaction(conn, |c| {
            users::insert(c, &row)?;
            audit::append(
                c,
                Uuid::new_v4(),
                NOW,
                "user.created",
                Some(&felix.user_id.to_string()),
                &serde_json::json!({}),
            )?;
            Err(RepoError::Migration("forced failure".into()))
        });
        assert!(result.is_err());
        assert!(users::find_by_id(conn, &felix.user_id).unwrap().is_none());
        assert!(
            audit::list_by_kind(conn, "user.created")
                .unwrap()
                .is_empty()
        );
    }
}

/// A conflict the test raises at will, retryable like a serialization failure.
#[derive(Debug)]
enum Conflicting {
    Conflict,
    Other,
}

impl From<RepoError> for Conflicting {
    fn from(_: RepoError) -> Self {
        Conflicting::Other
    }
}

impl From<assent_repository::DieselError> for Conflicting {
    fn from(_: assent_repository::DieselError) -> Self {
        Conflicting::Other
    }
}

impl assent_repository::RetryableError for Conflicting {
    fn is_retryable(&self) -> bool {
        matches!(self, Conflicting::Conflict)
    }
}

backend_test! {
    #[test]
    fn only_the_outermost_transaction_retries(db) {
        let db = &db;
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let outer_runs = std::cell::Cell::new(0);
        let inner_runs = std::cell::Cell::new(0);
        let result: Result<(), Conflicting> = transaction(conn, |c| {
            outer_runs.set(outer_runs.get() + 1);
            transaction(c, |_| {
                inner_runs.set(inner_runs.get() + 1);
                Err(Conflicting::Conflict)
            })
        });
        assert!(matches!(result, Err(Conflicting::Conflict)));
        // Five attempts of the whole, each running the nested work once: not five of five.
        assert_eq!(
            (outer_runs.get(), inner_runs.get()),
            (5, 5),
            "{}",
            db.backend_name()
        );
        // And the connection is usable afterwards, outside any transaction.
        assert!(assent_repository::ping(conn).is_ok());
    }
}

backend_test! {
    #[test]
    fn read_snapshots_refuse_write_transactions_and_hold_one_view_on_sqlite(db) {
        let db = &db;
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let (felix, row) = user("felix");
        users::insert(conn, &row).unwrap();
        let (anna, anna_row) = user("anna");
        let mut other = db.connection().unwrap();
        let (seen_first, seen_later, refused) =
            assent_repository::read_snapshot(conn, |c| -> Result<_, RepoError> {
                let seen_first = users::find_by_id(c, &felix.user_id)?.is_some();
                // Another connection commits while the snapshot is open.
                users::insert(&mut other, &anna_row)?;
                let seen_later = users::find_by_id(c, &anna.user_id)?.is_some();
                let refused = transaction(c, |c| users::insert(c, &user("zoe").1));
                Ok((seen_first, seen_later, refused))
            })
            .unwrap();
        assert!(seen_first);
        assert!(
            matches!(refused, Err(RepoError::WriteInReadSnapshot)),
            "{}: {refused:?}",
            db.backend_name()
        );
        if db.backend_name() == "sqlite" {
            assert!(!seen_later, "one read transaction sees one snapshot");
        }
        // Afterwards the connection writes again, and the later commit is visible.
        transaction(conn, |c| users::insert(c, &user("zoe").1)).unwrap();
        assert!(users::find_by_id(conn, &anna.user_id).unwrap().is_some());
    }
}

backend_test! {
    #[test]
    fn a_read_snapshot_ends_however_its_work_ends(db) {
        let db = &db;
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let (felix, row) = user("felix");
        users::insert(conn, &row).unwrap();
        // Work that fails: its own error comes back, and the snapshot is over.
        let failed = assent_repository::read_snapshot(conn, |c| {
            users::find_by_id(c, &felix.user_id)?;
            Err::<(), _>(RepoError::WriteInReadSnapshot)
        });
        assert!(matches!(failed, Err(RepoError::WriteInReadSnapshot)));
        // A snapshot inside a snapshot reads in the outer one.
        let nested = assent_repository::read_snapshot(conn, |c| {
            assent_repository::read_snapshot(c, |c| users::find_by_id(c, &felix.user_id))
        });
        assert!(nested.unwrap().is_some());
        let mut other = db.connection().unwrap();
        users::insert(&mut other, &user("anna").1).unwrap();
        transaction(conn, |c| users::insert(c, &user("zoe").1)).unwrap();
        assert_eq!(
            users::count_by_username(conn, "local", "anna").unwrap(),
            1,
            "{}",
            db.backend_name()
        );
    }
}

#[test]
fn a_sqlite_connection_whose_snapshot_cannot_commit_is_broken() {
    use diesel::connection::SimpleConnection;
    let db = TestDatabase::sqlite();
    let mut conn = db.connection().unwrap();
    let (felix, row) = user("felix");
    users::insert(&mut conn, &row).unwrap();
    // The work ends the read transaction behind the snapshot's back: its COMMIT fails, and
    // nobody can tell what state the connection is in.
    let outcome = assent_repository::read_snapshot(&mut conn, |c| {
        users::find_by_id(c, &felix.user_id)?;
        c.batch_execute("COMMIT").map_err(RepoError::from)
    });
    assert!(outcome.is_err());
    // Marked broken: Diesel refuses it transactions, and the pool, which asks the same
    // question when a connection comes back, drops it.
    let afterwards = transaction(&mut conn, |c| users::insert(c, &user("zoe").1));
    assert!(afterwards.is_err(), "a broken connection is not used again");
    use diesel::connection::TransactionManager;
    assert!(
        <DbConnection as TransactionManager<DbConnection>>::is_broken_transaction_manager(
            &mut conn
        )
    );
}

#[test]
fn sqlite_connections_use_wal_foreign_keys_and_full_sync() {
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};

    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }
    #[derive(QueryableByName)]
    struct Flag {
        #[diesel(sql_type = BigInt)]
        value: i64,
    }

    let db = TestDatabase::sqlite();
    let pool = db.pool().unwrap();
    // Several connections at once, as the pool opens them at start.
    let conns: Vec<_> = (0..4).map(|_| pool.get().unwrap()).collect();
    for mut conn in conns {
        let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(mode.journal_mode, "wal");
        let fk: Flag = diesel::sql_query("SELECT foreign_keys AS value FROM pragma_foreign_keys")
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(fk.value, 1);
        let sync: Flag = diesel::sql_query("SELECT synchronous AS value FROM pragma_synchronous")
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(sync.value, 2, "synchronous=FULL");
    }
}

backend_test! {
    #[test]
    fn sessions_carry_their_consumer_and_its_limits(db) {
        use assent_identity::rate_limit::CallLimits;
        let db = &db;
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let (felix, row) = user("felix");
        users::insert(conn, &row).unwrap();
        let consumer = Consumer {
            call_limits: CallLimits::new([5, 100, -1, -1, -1, -1]).unwrap(),
            ..Consumer::new(Uuid::new_v4(), "App".into())
        };
        consumers::insert(conn, &consumer, "hash-1", NOW).unwrap();
        let session = Session::start(
            felix.user_id.0,
            NOW,
            &SessionPolicy::default(),
            &mut rand::rng(),
        )
        .through_consumer(consumer.consumer_id);
        sessions::insert(conn, &session).unwrap();
        let view = sessions::find_with_user(conn, session.session_id().as_str())
            .unwrap()
            .unwrap();
        let (stored, found) = (view.session, view.consumer);
        assert_eq!(stored.consumer_id(), Some(consumer.consumer_id));
        let gate = found.unwrap();
        assert_eq!(
            (gate.consumer_id, gate.enabled),
            (consumer.consumer_id, true),
            "{}",
            db.backend_name()
        );
        assert_eq!(gate.call_limits, consumer.call_limits);
        let check = sessions::find_for_check(conn, session.session_id())
            .unwrap()
            .unwrap();
        assert!(check.through_consumer);
        assert_eq!(check.consumer, Some(gate));

        assert!(
            consumers::set_call_limits(conn, &consumer.consumer_id, &CallLimits::UNLIMITED)
                .unwrap()
        );
        assert!(
            consumers::set_redirect_url(conn, &consumer.consumer_id, "https://app.example/cb")
                .unwrap()
        );
        let (reloaded, _) = consumers::find(conn, &consumer.consumer_id)
            .unwrap()
            .unwrap();
        assert_eq!(reloaded.call_limits, CallLimits::UNLIMITED);
        assert_eq!(reloaded.redirect_url, "https://app.example/cb");

        assert_eq!(
            sessions::terminate_all_for_consumer(conn, &consumer.consumer_id, NOW).unwrap(),
            1
        );
        assert_eq!(
            sessions::terminate_all_for_consumer(conn, &consumer.consumer_id, NOW).unwrap(),
            0
        );
    }
}

backend_test! {
    #[test]
    fn concurrent_first_failures_inside_transactions_are_all_counted(db) {
        use assent_repository::lockout;
        let pool = db.pool().unwrap();
        std::thread::scope(|scope| {
            for _ in 0..16 {
                let pool = pool.clone();
                scope.spawn(move || {
                    let mut conn = pool.get().unwrap();
                    // Inside a transaction, as the login does: on PostgreSQL a unique violation
                    // there must not abort the transaction (it runs in a savepoint).
                    transaction(&mut conn, |c| {
                        lockout::record_failure(c, "local", "ghost", NOW)
                    })
                    .unwrap();
                });
            }
        });
        let mut conn = pool.get().unwrap();
        let row = lockout::attempts(&mut conn, "local", "ghost")
            .unwrap()
            .unwrap();
        assert_eq!(row.bad_attempts, 16, "{}", db.backend_name());
    }
}

backend_test! {
    #[test]
    fn dauth_request_ids_are_refused_until_purged(db) {
        use assent_repository::dauth::remember_request;
        let db = &db;
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let later = NOW + Duration::minutes(6);
        assert!(remember_request(conn, "r1", NOW, NOW - Duration::minutes(10)).unwrap());
        assert!(!remember_request(conn, "r1", NOW, NOW - Duration::minutes(10)).unwrap());
        // Still remembered while its time is inside what the caller keeps.
        assert!(
            !remember_request(conn, "r1", later, later - Duration::minutes(10)).unwrap(),
            "{}",
            db.backend_name()
        );
        // Purged once older than that.
        let much_later = NOW + Duration::minutes(11);
        assert!(
            remember_request(conn, "r1", much_later, much_later - Duration::minutes(10)).unwrap()
        );
    }
}

backend_test! {
    #[test]
    fn session_check_sees_an_administrative_lock(db) {
        use assent_repository::lockout;
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let (felix, row) = user("felix");
        users::insert(conn, &row).unwrap();
        let session = Session::start(
            felix.user_id.0,
            NOW,
            &SessionPolicy::default(),
            &mut rand::rng(),
        );
        sessions::insert(conn, &session).unwrap();
        lockout::lock(conn, &felix.user_id.to_string(), "lock_via_api", NOW).unwrap();
        lockout::lock(conn, &felix.user_id.to_string(), "lock_via_api", NOW).unwrap();
        let view = sessions::find_with_user(conn, session.session_id().as_str())
            .unwrap()
            .unwrap();
        assert!(view.user_locked);
        let check = sessions::find_for_check(conn, session.session_id())
            .unwrap()
            .unwrap();
        assert!(check.user_locked);
    }
}

backend_test! {
    #[test]
    fn fifty_parallel_wrong_answers_evaluate_exactly_five(db) {
        use assent_otp::challenge::{
            Challenge, ChallengePolicy, ChallengeState, CodeHasher, VerifyError,
        };
        use assent_repository::challenges;
        let pool = db.pool().unwrap();
        let hasher = CodeHasher::new(&[9u8; 32]).unwrap();
        let (challenge, code) = Challenge::issue(
            "test",
            ChallengePolicy::default(),
            NOW,
            &mut rand::rng(),
            &hasher,
        );
        let wrong: String = code
            .expose()
            .chars()
            .map(|c| {
                if c == '9' {
                    '0'
                } else {
                    char::from(c as u8 + 1)
                }
            })
            .collect();
        challenges::insert(&mut pool.get().unwrap(), &challenge, None).unwrap();
        let id = challenge.id();
        let outcomes: Vec<Result<(), VerifyError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..50)
                .map(|_| {
                    let (pool, hasher, wrong) = (pool.clone(), hasher.clone(), wrong.clone());
                    scope.spawn(move || {
                        let mut conn = pool.get().unwrap();
                        challenges::update(&mut conn, &id, |c| c.verify(&wrong, NOW, &hasher))
                            .unwrap()
                            .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let evaluated = outcomes
            .iter()
            .filter(|o| matches!(o, Err(VerifyError::WrongCode { .. })))
            .count();
        let refused = outcomes
            .iter()
            .filter(|o| **o == Err(VerifyError::NotPending(ChallengeState::Locked)))
            .count();
        assert_eq!((evaluated, refused), (5, 45), "{}", db.backend_name());
        let (stored, _) = challenges::find(&mut pool.get().unwrap(), &id)
            .unwrap()
            .unwrap();
        assert_eq!(
            (stored.recorded_state(), stored.failures()),
            (ChallengeState::Locked, 5)
        );
        // Locked for good: the right code does nothing now.
        let late = challenges::update(&mut pool.get().unwrap(), &id, |c| {
            c.verify(code.expose(), NOW, &hasher)
        })
        .unwrap()
        .unwrap();
        assert_eq!(late, Err(VerifyError::NotPending(ChallengeState::Locked)));
    }
}

backend_test! {
    #[test]
    fn parallel_first_sends_of_an_opened_challenge_send_one_code(db) {
        use assent_otp::challenge::{Challenge, ChallengePolicy, CodeHasher, ResendError};
        use assent_repository::challenges;
        let pool = db.pool().unwrap();
        let hasher = CodeHasher::new(&[9u8; 32]).unwrap();
        let challenge = Challenge::open("test", ChallengePolicy::default(), NOW, &mut rand::rng());
        challenges::insert(&mut pool.get().unwrap(), &challenge, None).unwrap();
        let id = challenge.id();
        let outcomes: Vec<bool> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..20)
                .map(|_| {
                    let (pool, hasher) = (pool.clone(), hasher.clone());
                    scope.spawn(move || {
                        let mut conn = pool.get().unwrap();
                        let sent = challenges::update(&mut conn, &id, |c| {
                            c.send_code(NOW, &mut rand::rng(), &hasher)
                        })
                        .unwrap()
                        .unwrap();
                        match sent {
                            Ok(_) => true,
                            Err(ResendError::TooSoon { .. }) => false,
                            Err(other) => panic!("{other:?}"),
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let sent = outcomes.iter().filter(|sent| **sent).count();
        assert_eq!(
            sent,
            1,
            "{}: the cooldown holds for the first code too",
            db.backend_name()
        );
        let (stored, _) = challenges::find(&mut pool.get().unwrap(), &id)
            .unwrap()
            .unwrap();
        assert!(stored.has_code());
        assert_eq!(stored.resends(), 0);
    }
}

backend_test! {
    #[test]
    fn challenges_round_trip_and_verify_once(db) {
        use assent_otp::challenge::{Challenge, ChallengePolicy, CodeHasher, VerifyError};
        use assent_repository::challenges;
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let hasher = CodeHasher::new(&[9u8; 32]).unwrap();
        let (challenge, code) = Challenge::issue(
            "consent:1",
            ChallengePolicy::default(),
            NOW,
            &mut rand::rng(),
            &hasher,
        );
        challenges::insert(conn, &challenge, None).unwrap();
        let (stored, user) = challenges::find(conn, &challenge.id()).unwrap().unwrap();
        assert_eq!((stored, user), (challenge.clone(), None));
        assert_eq!(
            challenges::update(conn, &challenge.id(), |c| c.verify(
                code.expose(),
                NOW,
                &hasher
            ))
            .unwrap(),
            Some(Ok(()))
        );
        assert!(matches!(
            challenges::update(conn, &challenge.id(), |c| c.verify(
                code.expose(),
                NOW,
                &hasher
            ))
            .unwrap(),
            Some(Err(VerifyError::NotPending(_)))
        ));
        assert_eq!(
            challenges::update(conn, &Uuid::new_v4(), |c| c.verify("1", NOW, &hasher)).unwrap(),
            None
        );
    }
}

backend_test! {
    #[test]
    fn consents_are_read_for_use_with_their_user_lock_and_consumer(db) {
        use assent_identity::rate_limit::CallLimits;
        use assent_repository::{consents, lockout};
        let db = &db;
        let mut connection = db.connection().unwrap();
        let conn = &mut connection;
        let (felix, row) = user("felix");
        users::insert(conn, &row).unwrap();
        let consumer = Consumer {
            call_limits: CallLimits::new([5, 100, -1, -1, -1, -1]).unwrap(),
            ..Consumer::new(Uuid::new_v4(), "App".into())
        };
        consumers::insert(conn, &consumer, "hash-1", NOW).unwrap();
        let consent = |consumer_id: String| consents::ConsentRow {
            consent_id: Uuid::new_v4().to_string(),
            user_id: felix.user_id.to_string(),
            consumer_id,
            bank_id: "bank.one".into(),
            everything: true,
            scope: r#"{"views":[],"entitlements":[]}"#.into(),
            valid_from: assent_repository::to_micros(NOW),
            expires_at: assent_repository::to_micros(NOW + Duration::hours(1)),
            sca_method: "EMAIL".into(),
            status: "ACCEPTED".into(),
            challenge_id: Uuid::new_v4().to_string(),
            created_at: assent_repository::to_micros(NOW),
            status_changed_at: assent_repository::to_micros(NOW),
        };
        let given = consent(consumer.consumer_id.to_string());
        consents::insert(conn, &given).unwrap();

        let view = consents::find_for_use(conn, &given.consent_id)
            .unwrap()
            .unwrap();
        let used = view.consent;
        assert_eq!(
            (used.user_id, used.everything, used.scope, used.status),
            (
                given.user_id.clone(),
                given.everything,
                given.scope.clone(),
                given.status.clone()
            ),
            "{}",
            db.backend_name()
        );
        assert_eq!(
            (used.valid_from, used.expires_at),
            (given.valid_from, given.expires_at)
        );
        assert_eq!(view.user.user_id, felix.user_id.to_string());
        assert!(!view.user_locked);
        let (gate, key_hash) = view.consumer.unwrap();
        assert_eq!(
            (gate.consumer_id, gate.enabled, gate.call_limits),
            (consumer.consumer_id, true, consumer.call_limits)
        );
        assert_eq!(key_hash, "hash-1");

        lockout::lock(conn, &felix.user_id.to_string(), "lock_via_api", NOW).unwrap();
        assert!(
            consents::find_for_use(conn, &given.consent_id)
                .unwrap()
                .unwrap()
                .user_locked
        );

        // A consent whose consumer no longer exists is still found, without a consumer.
        let orphan = consent(Uuid::new_v4().to_string());
        consents::insert(conn, &orphan).unwrap();
        let view = consents::find_for_use(conn, &orphan.consent_id)
            .unwrap()
            .unwrap();
        assert!(view.consumer.is_none());
        assert!(
            consents::find_for_use(conn, &Uuid::new_v4().to_string())
                .unwrap()
                .is_none()
        );
    }
}

backend_test! {
    #[test]
    fn parallel_replacements_of_security_answers_never_mix_or_clash(db) {
        use assent_repository::security_answers;
        let pool = db.pool().unwrap();
        let (felix, row) = user("felix");
        users::insert(&mut pool.get().unwrap(), &row).unwrap();
        let user_id = felix.user_id.to_string();
        let backend = db.backend_name();
        let sets: Vec<Vec<(String, String)>> = (0..12)
            .map(|i| {
                (0..3)
                    .map(|q| (format!("q{}", (i + q) % 6), format!("hash-{i}-{q}")))
                    .collect()
            })
            .collect();
        std::thread::scope(|scope| {
            for set in &sets {
                let (pool, user_id) = (pool.clone(), user_id.clone());
                scope.spawn(move || {
                    let mut conn = pool.get().unwrap();
                    transaction(&mut conn, |c| {
                        security_answers::replace(c, &user_id, set, NOW)
                    })
                    .unwrap_or_else(|e| panic!("{backend}: {e}"));
                });
            }
        });
        let mut stored = security_answers::list(&mut pool.get().unwrap(), &user_id).unwrap();
        stored.sort();
        assert!(
            sets.iter().any(|set| {
                let mut set = set.clone();
                set.sort();
                set == stored
            }),
            "{}: one whole set, not a mix: {stored:?}",
            db.backend_name()
        );
    }
}

backend_test! {
    #[test]
    fn a_connection_left_inside_a_transaction_by_a_panic_is_not_reused(db) {
        use assent_repository::PoolOptions;
        let pool = db.pool().unwrap();
        let (_, doomed) = user("doomed");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut conn = pool.get().unwrap();
            let _: Result<(), RepoError> = transaction(&mut conn, |c| {
                users::insert(c, &doomed)?;
                panic!("work panicked inside its transaction");
            });
        }));
        assert!(panicked.is_err());
        // Every connection the pool hands out now commits what it writes.
        let size = usize::try_from(PoolOptions::default().max_size).unwrap();
        let mut held = Vec::new();
        let mut written = Vec::new();
        for i in 0..size {
            let mut conn = pool.get().unwrap();
            let (someone, row) = user(&format!("user{i}"));
            transaction(&mut conn, |c| users::insert(c, &row))
                .unwrap_or_else(|e| panic!("{}: {e}", db.backend_name()));
            written.push(someone.user_id);
            held.push(conn);
        }
        drop(held);
        let mut check = pool.get().unwrap();
        for user_id in &written {
            assert!(
                users::find_by_id(&mut check, user_id).unwrap().is_some(),
                "{}: a write was lost in a transaction left open",
                db.backend_name()
            );
        }
        assert_eq!(
            users::count_by_username(&mut check, "local", "doomed").unwrap(),
            0
        );
    }
}

#[test]
fn sqlite_writers_wait_their_turn_instead_of_failing_busy() {
    use assent_repository::{Pool, PoolOptions};
    use std::sync::atomic::{AtomicUsize, Ordering};
    const WRITERS: usize = 8;
    const WRITES_EACH: usize = 120;
    let db = TestDatabase::sqlite();
    db.pool().unwrap();
    // A busy timeout short enough that with SQLite's own polling alone some writer sleeps
    // through every release until it gives up ("database is locked": autocommit writes are not
    // retried). Queued, each waits only for the writers ahead of it, as patiently as for a
    // free connection (the default 5 s), so a slow disk does not fail it either.
    let options = PoolOptions {
        max_size: u32::try_from(WRITERS).unwrap(),
        sqlite_busy_timeout: std::time::Duration::from_millis(200),
        ..PoolOptions::default()
    };
    let pool = Pool::connect(db.url(), &options).unwrap();
    let failed = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let (pool, failed) = (&pool, &failed);
            scope.spawn(move || {
                let mut conn = pool.get().unwrap();
                for _ in 0..WRITES_EACH {
                    let detail = serde_json::json!({ "writer": writer });
                    let written = if writer % 2 == 0 {
                        audit::append(&mut conn, Uuid::new_v4(), NOW, "queued", None, &detail)
                    } else {
                        transaction(&mut conn, |c| {
                            audit::append(c, Uuid::new_v4(), NOW, "queued", None, &detail)
                        })
                    };
                    if let Err(error) = written {
                        eprintln!("writer {writer}: {error}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    let mut conn = pool.get().unwrap();
    assert_eq!(
        audit::list_by_kind(&mut conn, "queued").unwrap().len(),
        WRITERS * WRITES_EACH
    );
}

#[test]
fn rows_holding_a_secret_derivative_print_it_redacted() {
    let (_, row) = user("felix");
    let printed = format!("{row:?}");
    assert!(printed.contains("felix") && printed.contains("[redacted]"));
    assert!(!printed.contains(&row.password_hash), "{printed}");
}

mod audit_chain {
    use super::*;
    use assent_repository::audit::{AuditChainKey, ChainBreak};
    use assent_repository::{Pool, PoolOptions};
    use diesel::connection::SimpleConnection;
    use std::sync::Arc;

    fn keyed_pool(db: &TestDatabase, key: [u8; 32], max_size: u32) -> Pool {
        db.pool().unwrap();
        let options = PoolOptions {
            max_size,
            audit_chain_key: Some(Arc::new(AuditChainKey::new(key))),
            ..PoolOptions::default()
        };
        Pool::connect(db.url(), &options).unwrap()
    }

    fn append_events(conn: &mut DbConnection, count: usize) -> Vec<String> {
        (0..count)
            .map(|n| {
                let id = Uuid::new_v4();
                audit::append(
                    conn,
                    id,
                    NOW,
                    "test.event",
                    None,
                    &serde_json::json!({ "n": n }),
                )
                .unwrap();
                id.to_string()
            })
            .collect()
    }

    fn verdict(conn: &mut DbConnection) -> Result<audit::IntactChain, ChainBreak> {
        audit::verify(conn).unwrap()
    }

    fn seq_of(conn: &mut DbConnection, event_id: &str) -> i64 {
        audit::query(
            conn,
            &audit::AuditQuery {
                limit: 1000,
                ..Default::default()
            },
        )
        .unwrap()
        .into_iter()
        .find(|row| row.event_id == event_id)
        .and_then(|row| row.chain_seq)
        .unwrap()
    }

    backend_test! {
        #[test]
        fn concurrent_writers_keep_one_unbroken_chain(db) {
            const WRITERS: usize = 8;
            const TRANSACTIONS_EACH: usize = 15;
            let pool = keyed_pool(&db, [7; 32], u32::try_from(WRITERS).unwrap());
            std::thread::scope(|scope| {
                for writer in 0..WRITERS {
                    let pool = &pool;
                    scope.spawn(move || {
                        let mut conn = pool.get().unwrap();
                        for n in 0..TRANSACTIONS_EACH {
                            // Two events a transaction, so a writer's pair must stay together.
                            transaction(&mut conn, |c| {
                                for part in 0..2 {
                                    let detail = serde_json::json!({ "writer": writer, "n": n, "part": part });
                                    audit::append(c, Uuid::new_v4(), NOW, "race", None, &detail)?;
                                }
                                Ok::<_, RepoError>(())
                            })
                            .unwrap();
                        }
                    });
                }
            });
            let mut conn = pool.get().unwrap();
            let intact = verdict(&mut conn).expect("the chain holds");
            assert_eq!(intact.events, i64::try_from(WRITERS * TRANSACTIONS_EACH * 2).unwrap());
            let mut rows = audit::list_by_kind(&mut conn, "race").unwrap();
            rows.sort_by_key(|row| row.chain_seq);
            for pair in rows.chunks(2) {
                let detail = |row: &audit::AuditRow| -> serde_json::Value { serde_json::from_str(&row.detail).unwrap() };
                let (first, second) = (detail(&pair[0]), detail(&pair[1]));
                assert_eq!((&first["writer"], &first["n"]), (&second["writer"], &second["n"]), "one transaction's events sit together in the chain");
            }
        }
    }

    backend_test! {
        #[test]
        fn an_edited_row_is_found(db) {
            let pool = keyed_pool(&db, [1; 32], 2);
            let mut conn = pool.get().unwrap();
            let ids = append_events(&mut conn, 5);
            assert_eq!(verdict(&mut conn).unwrap().events, 5);
            conn.batch_execute(&format!(
                "UPDATE audit_events SET detail = '{{\"n\":99}}' WHERE event_id = '{}'",
                ids[2]
            ))
            .unwrap();
            assert_eq!(
                verdict(&mut conn),
                Err(ChainBreak::Altered { seq: 3, event_id: ids[2].clone() })
            );
        }
    }

    backend_test! {
        #[test]
        fn a_deleted_row_is_found(db) {
            let pool = keyed_pool(&db, [2; 32], 2);
            let mut conn = pool.get().unwrap();
            let ids = append_events(&mut conn, 5);
            conn.batch_execute(&format!("DELETE FROM audit_events WHERE event_id = '{}'", ids[1]))
                .unwrap();
            assert_eq!(
                verdict(&mut conn),
                Err(ChainBreak::Missing { expected: 2, found: 3, event_id: ids[2].clone() })
            );

        }
    }

    backend_test! {
        #[test]
        fn the_newest_rows_deleted_are_found(db) {
            let pool = keyed_pool(&db, [2; 32], 2);
            let mut conn = pool.get().unwrap();
            let ids = append_events(&mut conn, 3);
            conn.batch_execute(&format!("DELETE FROM audit_events WHERE event_id = '{}'", ids[2]))
                .unwrap();
            assert_eq!(
                verdict(&mut conn),
                Err(ChainBreak::Truncated { head_seq: 3, last_seq: 2 })
            );
        }
    }

    backend_test! {
        #[test]
        fn swapped_rows_are_found(db) {
            let pool = keyed_pool(&db, [3; 32], 2);
            let mut conn = pool.get().unwrap();
            let ids = append_events(&mut conn, 4);
            let (second, third) = (seq_of(&mut conn, &ids[1]), seq_of(&mut conn, &ids[2]));
            // Swap their places, links included, through a free number.
            conn.batch_execute(&format!(
                "UPDATE audit_events SET chain_seq = -1 WHERE event_id = '{a}';
                 UPDATE audit_events SET chain_seq = {second} WHERE event_id = '{b}';
                 UPDATE audit_events SET chain_seq = {third} WHERE event_id = '{a}';",
                a = ids[1],
                b = ids[2],
            ))
            .unwrap();
            assert_eq!(
                verdict(&mut conn),
                Err(ChainBreak::Altered { seq: 2, event_id: ids[2].clone() })
            );
        }
    }

    backend_test! {
        #[test]
        fn a_row_written_past_the_chain_or_a_recomputed_chain_is_found(db) {
            let pool = keyed_pool(&db, [4; 32], 2);
            let mut conn = pool.get().unwrap();
            append_events(&mut conn, 2);
            conn.batch_execute(
                "INSERT INTO audit_events (event_id, occurred_at, kind, user_id, detail)
                 VALUES ('forged', 0, 'user.created', NULL, '{}')",
            )
            .unwrap();
            assert_eq!(
                verdict(&mut conn),
                Err(ChainBreak::Unlinked { event_id: "forged".into() })
            );
            conn.batch_execute("DELETE FROM audit_events WHERE event_id = 'forged'").unwrap();
            assert!(verdict(&mut conn).is_ok());

            // Under another key no link holds: without the key, links cannot be made to match.
            let other_key = keyed_pool(&db, [5; 32], 1);
            let mut other = other_key.get().unwrap();
            assert!(matches!(verdict(&mut other), Err(ChainBreak::Altered { seq: 1, .. })));
        }
    }

    backend_test! {
        #[test]
        fn events_from_before_the_chain_are_linked_once_in_time_order(db) {
            let pool = keyed_pool(&db, [6; 32], 2);
            let mut conn = pool.get().unwrap();
            append_events(&mut conn, 1);
            conn.batch_execute(
                "INSERT INTO audit_events (event_id, occurred_at, kind, user_id, detail) VALUES
                 ('older-b', 20, 'legacy', NULL, '{}'), ('older-a', 10, 'legacy', NULL, '{}')",
            )
            .unwrap();
            assert_eq!(audit::link_unlinked(&mut conn).unwrap(), 2);
            assert_eq!(audit::link_unlinked(&mut conn).unwrap(), 0);
            assert_eq!(verdict(&mut conn).unwrap().events, 3);
            assert_eq!((seq_of(&mut conn, "older-a"), seq_of(&mut conn, "older-b")), (2, 3));
        }
    }

    backend_test! {
        #[test]
        fn a_rolled_back_savepoint_takes_its_events_with_it(db) {
            let pool = keyed_pool(&db, [8; 32], 1);
            let mut conn = pool.get().unwrap();
            transaction(&mut conn, |c| {
                audit::append(c, Uuid::new_v4(), NOW, "kept", None, &serde_json::json!({}))?;
                let inner: Result<(), RepoError> = transaction(c, |c| {
                    audit::append(c, Uuid::new_v4(), NOW, "dropped", None, &serde_json::json!({}))?;
                    Err(RepoError::Migration("inner failure".into()))
                });
                assert!(inner.is_err());
                Ok::<_, RepoError>(())
            })
            .unwrap();
            assert_eq!(audit::list_by_kind(&mut conn, "kept").unwrap().len(), 1);
            assert!(audit::list_by_kind(&mut conn, "dropped").unwrap().is_empty());
            assert_eq!(verdict(&mut conn).unwrap().events, 1);
        }
    }
}
