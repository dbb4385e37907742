//! Replicas on one database, each with an application state of its own (caches, counters,
//! keys as read), sharing only the database and the clock: what one records, the others obey
//! at once. SQLite and PostgreSQL. (Several `assentd` processes on PostgreSQL: `e2e`.)

use crate::common::*;
use crate::consents::{accepted, as_app, revoke, setup};
use actix_web::test::TestRequest;

backend_test! {
    #[actix_web::test]
    async fn activity_seen_by_either_replica_keeps_the_session_alive(db) {
        let app = TestApp::new(db);
        let first = app.service().await;
        let second = actix_web::test::init_service(assentd::server::build_app(app.replica())).await;
        let key = app.consumer(true);
        sign_up(&first, "felix").await;
        let token = token(&first, "felix", &key).await;
        let idle = time::Duration::seconds(
            i64::try_from(app.state.config.session_idle_timeout_secs).unwrap(),
        );
        // Each replica alone sees the session idle for longer than the timeout; together they
        // see it used well within it, and the activity either writes counts for both.
        for step in 0..6 {
            app.advance(idle * 2 / 3);
            let status = if step % 2 == 0 {
                send(&second, current(&token)).await.0
            } else {
                send(&first, current(&token)).await.0
            };
            assert_eq!(status, 200, "step {step}, {}", app.backend());
        }
        app.advance(idle + time::Duration::seconds(1));
        assert_eq!(send(&first, current(&token)).await.0, 401);
        assert_eq!(send(&second, current(&token)).await.0, 401);
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_consent_revoked_on_one_replica_is_refused_on_the_other(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let first = app.service().await;
        let second = actix_web::test::init_service(assentd::server::build_app(app.replica())).await;
        let felix = setup(&app, &first, "felix").await;
        let (consent_id, jwt) = accepted(&app, &first, &felix).await;
        let use_it = || as_app(TestRequest::get().uri("/obp/v5.1.0/users/current"), &jwt, &felix.key);
        assert_eq!(send(&second, use_it()).await.0, 200, "verified and cached on the second");
        let (status, _, _) = send(
            &first,
            revoke(&felix.token, &consent_id),
        )
        .await;
        assert!(status < 300);
        let (status, _, body) = send(&second, use_it()).await;
        assert_eq!(status, 401, "{body}");
    }
}
