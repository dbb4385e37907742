//! Call limits counted in a store every replica shares (Redis): replicas together admit
//! exactly the limit; an unreachable store refuses limited consumers (fail closed) and leaves
//! unlimited ones alone. SQLite and PostgreSQL; the exactness test needs
//! `ASSENT_TEST_REDIS_URL`.

use crate::common::*;
use assent_identity::rate_limit::CallLimits;
use assent_repository::consumers;

fn limit_per_minute(app: &TestApp, consumer_id: &uuid::Uuid, per_minute: i64) {
    let mut conn = app.state.pool.get().unwrap();
    let limits = CallLimits::new([-1, per_minute, -1, -1, -1, -1]).unwrap();
    assert!(consumers::set_call_limits(&mut conn, consumer_id, &limits).unwrap());
}

backend_test! {
    #[actix_web::test]
    #[cfg_attr(not(assent_redis_tests), ignore = "set ASSENT_TEST_REDIS_URL to run")]
    async fn two_replicas_sharing_a_store_admit_exactly_the_limit_together(db) {
        let redis = std::env::var("ASSENT_TEST_REDIS_URL").unwrap_or_default();
        let app = TestApp::with_config(db, |config| config.rate_limit_url = Some(redis.clone()));
        let second = app.replica();
        let first_svc = app.service().await;
        let second_svc = actix_web::test::init_service(assentd::server::build_app(second)).await;
        let (consumer_id, key) = app.consumer_with_id(true);
        sign_up(&first_svc, "felix").await;
        let token = token(&first_svc, "felix", &key).await;
        limit_per_minute(&app, &consumer_id, 10);

        // Forty calls at once, alternating between the replicas.
        let calls = (0..40).map(|n| {
            let (first, second, token) = (&first_svc, &second_svc, token.clone());
            async move {
                if n % 2 == 0 {
                    send(first, current(&token)).await.0
                } else {
                    send(second, current(&token)).await.0
                }
            }
        });
        let statuses = futures_util::future::join_all(calls).await;
        let admitted = statuses.iter().filter(|s| **s == 200).count();
        let limited = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!((admitted, limited), (10, 30), "{statuses:?}");

        // The next minute's window admits again, on either replica.
        app.advance(time::Duration::minutes(1));
        assert_eq!(send(&second_svc, current(&token)).await.0, 200);
    }
}

backend_test! {
    #[actix_web::test]
    async fn an_unreachable_store_refuses_limited_consumers_only(db) {
        // Nothing listens on port 1.
        let app = TestApp::with_config(db, |config| {
            config.rate_limit_url = Some("redis://127.0.0.1:1/0".into());
        });
        let svc = app.service().await;
        let (limited_id, limited_key) = app.consumer_with_id(true);
        let unlimited_key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let limited = token(&svc, "felix", &limited_key).await;
        let unlimited = token(&svc, "felix", &unlimited_key).await;
        limit_per_minute(&app, &limited_id, 100);

        let (status, headers, body) = send(&svc, current(&limited)).await;
        assert_eq!(status, 503, "fail closed: {body}");
        assert!(headers.get("retry-after").is_some(), "{headers:?}");
        assert_eq!(send(&svc, current(&unlimited)).await.0, 200);
    }
}
