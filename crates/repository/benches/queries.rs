//! The queries on the authenticated hot path, on SQLite (and PostgreSQL when
//! ASSENT_TEST_POSTGRES_URL is set). Results go to docs/benchmarks.md.

use assent_identity::{User, UserId};
use assent_repository::testing::TestDatabase;
use assent_repository::users::UserRow;
use assent_repository::{entitlements, sessions, users};
use assent_session::{Session, SessionPolicy};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn hot_path(c: &mut Criterion) {
    for db in TestDatabase::all() {
        let mut conn = db.connection().expect("database");
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let user = User {
            user_id: UserId(uuid::Uuid::new_v4()),
            provider: "local".into(),
            provider_id: "bench".into(),
            username: "bench".into(),
            email: "bench@example.com".into(),
            first_name: "B".into(),
            last_name: "B".into(),
            phone_number: None,
            customer_number: None,
            created_at: now,
            email_verified_at: None,
            phone_verified_at: None,
        };
        users::insert(&mut conn, &UserRow::new(&user, "bench".into(), "x".into())).expect("user");
        let session = Session::start(
            user.user_id.0,
            now,
            &SessionPolicy::default(),
            &mut rand::rng(),
        );
        sessions::insert(&mut conn, &session).expect("session");
        let sid = session.session_id().as_str().to_owned();
        let uid = user.user_id.to_string();
        let backend = db.backend_name();
        c.bench_function(&format!("{backend}/session_with_user"), |b| {
            b.iter(|| sessions::find_with_user(&mut conn, black_box(&sid)).expect("query"))
        });
        c.bench_function(&format!("{backend}/session_check"), |b| {
            b.iter(|| {
                sessions::find_for_check(&mut conn, black_box(session.session_id())).expect("query")
            })
        });
        c.bench_function(&format!("{backend}/views_of_user"), |b| {
            b.iter(|| {
                assent_repository::accounts::grants_of_user(&mut conn, black_box(&uid))
                    .expect("query")
            })
        });
        c.bench_function(&format!("{backend}/entitlements_for_user"), |b| {
            b.iter(|| entitlements::list_for_user(&mut conn, black_box(&uid)).expect("query"))
        });
        c.bench_function(&format!("{backend}/ping"), |b| {
            b.iter(|| assent_repository::ping(&mut conn).expect("ping"))
        });
    }
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
