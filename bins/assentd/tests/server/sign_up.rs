//! Sign-up needs no authentication, so each client address has an hourly allowance; on SQLite
//! and PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_repository::users;
use std::net::SocketAddr;
use time::Duration;

fn from(peer: &str, username: &str) -> TestRequest {
    TestRequest::post()
        .uri("/obp/v5.1.0/users")
        .peer_addr(peer.parse::<SocketAddr>().unwrap())
        .set_json(sign_up_body(username))
}

fn users_named(app: &TestApp, username: &str) -> i64 {
    let mut conn = app.state.pool.get().unwrap();
    users::count_by_username(&mut conn, &app.state.config.provider, username).unwrap()
}

backend_test! {
    #[actix_web::test]
    async fn a_client_signs_up_ten_users_an_hour_and_no_more(db) {
        let app = TestApp::with_config(db, |c| {
            c.signups_per_client_per_hour = assentd::config::Config::default().signups_per_client_per_hour;
        });
        let svc = app.service().await;
        // A request that fails validation costs no hash and is not counted.
        let mut weak = sign_up_body("weak");
        weak["password"] = "short".into();
        let req = TestRequest::post()
            .uri("/obp/v5.1.0/users")
            .peer_addr("192.0.2.1:5000".parse().unwrap())
            .set_json(weak);
        assert_eq!(send(&svc, req).await.0, 400);
        for i in 0..10 {
            let (status, _, body) = send(&svc, from("192.0.2.1:5000", &format!("u{i}"))).await;
            assert_eq!(status, 201, "{}: {body}", app.backend());
        }
        let (status, headers, body) = send(&svc, from("192.0.2.1:5001", "u10")).await;
        assert_eq!(status, 429, "{}: {body}", app.backend());
        assert!(message(&body).starts_with("OBP-30299"), "{body}");
        assert_eq!(headers.get("Retry-After").unwrap(), "3600");
        assert_eq!(users_named(&app, "u10"), 0, "a refused sign-up leaves nothing");

        // Another address has its own allowance; an IPv6 client is counted by its /64.
        assert_eq!(send(&svc, from("192.0.2.2:5000", "v0")).await.0, 201);
        for i in 0..10 {
            let peer = format!("[2001:db8:1:2::{i:x}]:5000");
            assert_eq!(send(&svc, from(&peer, &format!("w{i}"))).await.0, 201);
        }
        let (status, _, _) = send(&svc, from("[2001:db8:1:2:ffff::1]:5000", "w10")).await;
        assert_eq!(status, 429, "rotating within a /64 gains nothing");

        // The allowance comes back with the next hour.
        app.advance(Duration::minutes(59) + Duration::seconds(59));
        let (_, headers, _) = send(&svc, from("192.0.2.1:5000", "u10")).await;
        assert_eq!(headers.get("Retry-After").unwrap(), "1");
        app.advance(Duration::seconds(1));
        assert_eq!(send(&svc, from("192.0.2.1:5000", "u10")).await.0, 201);
    }
}

backend_test! {
    #[actix_web::test]
    async fn parallel_sign_ups_from_one_client_pass_exactly_the_allowance(db) {
        let app = TestApp::with_config(db, |c| c.signups_per_client_per_hour = 10);
        let svc = app.service().await;
        let requests: Vec<_> = (0..30)
            .map(|i| send(&svc, from("198.51.100.7:4000", &format!("p{i}"))))
            .collect();
        let results = futures_util::future::join_all(requests).await;
        let created = results.iter().filter(|(status, _, _)| *status == 201).count();
        let refused = results.iter().filter(|(status, _, _)| *status == 429).count();
        assert_eq!((created, refused), (10, 20), "{}", app.backend());
    }
}
