//! What the API says about itself, under every OBP version and to anyone: Get API Info (root
//! and the version's root), Get JWK URIs, Get Rate Limiting Info. SQLite and PostgreSQL; the
//! shared store's test needs `ASSENT_TEST_REDIS_URL`.

use crate::common::*;
use actix_web::test::TestRequest;
use serde_json::json;

const VERSIONS: [&str; 3] = ["v3.1.0", "v4.0.0", "v5.1.0"];

backend_test! {
    #[actix_web::test]
    async fn api_info_names_the_version_the_build_the_database_and_the_host(db) {
        let app = TestApp::with_config(db, |config| {
            config.hosted_by_organisation = "Example Bank plc".into();
            config.hosted_by_email = "api@examplebank.com".into();
            config.hosted_by_phone = "+44 20 7946 0000".into();
            config.hosted_by_website = "https://www.examplebank.com".into();
        });
        let svc = app.service().await;
        for version in VERSIONS {
            for path in [format!("/obp/{version}/root"), format!("/obp/{version}/")] {
                let (status, _, body) = send(&svc, TestRequest::get().uri(&path)).await;
                assert_eq!(status, 200, "{path}: {body}");
                assert_eq!(body["version"], version, "{path}");
                assert_eq!(body["version_status"], "STABLE");
                assert_eq!(body["connector"], app.backend(), "the database in use");
                assert_eq!(
                    body["hosted_by"],
                    json!({
                        "organisation": "Example Bank plc",
                        "email": "api@examplebank.com",
                        "phone": "+44 20 7946 0000",
                        "organisation_website": "https://www.examplebank.com",
                    })
                );
                match assentd::api::obp::api_info::GIT_COMMIT {
                    Some(commit) => {
                        assert_eq!(body["git_commit"], commit);
                        assert!(
                            commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
                            "{commit}"
                        );
                    }
                    None => assert!(body.get("git_commit").is_none(), "unknown: left out"),
                }
            }
        }
    }
}

backend_test! {
    #[actix_web::test]
    async fn api_info_leaves_unset_host_details_empty(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let (status, _, body) = send(&svc, TestRequest::get().uri("/obp/v4.0.0/root")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["hosted_by"],
            json!({ "organisation": "", "email": "", "phone": "", "organisation_website": "" })
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn jwks_uris_point_at_the_certs_of_the_configured_provider(db) {
        let app = TestApp::with_config(db, |config| {
            config.provider = "https://api.examplebank.com/".into();
        });
        let svc = app.service().await;
        for version in VERSIONS {
            let uri = format!("/obp/{version}/jwks-uris");
            let (status, _, body) = send(&svc, TestRequest::get().uri(&uri)).await;
            assert_eq!(status, 200, "{uri}: {body}");
            assert_eq!(
                body,
                json!({ "jwks_uris": [
                    { "jwks_uri": "https://api.examplebank.com/obp/v5.1.0/certs" }
                ] })
            );
        }
        // The URI names the JWKS this server publishes.
        let (status, _, jwks) = send(&svc, TestRequest::get().uri("/obp/v5.1.0/certs")).await;
        assert_eq!(status, 200);
        assert!(!jwks["keys"].as_array().unwrap().is_empty());
    }
}

backend_test! {
    #[actix_web::test]
    async fn rate_limiting_counted_in_process_by_default(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        for version in VERSIONS {
            let uri = format!("/obp/{version}/rate-limiting");
            let (status, _, body) = send(&svc, TestRequest::get().uri(&uri)).await;
            assert_eq!(status, 200, "{uri}: {body}");
            assert_eq!(
                body,
                json!({ "enabled": true, "technology": "IN_PROCESS",
                    "service_available": true, "is_active": true })
            );
        }
    }
}

backend_test! {
    #[actix_web::test]
    async fn rate_limiting_says_a_shared_store_is_down_without_its_address(db) {
        let app = TestApp::with_config(db, |config| {
            config.rate_limit_url = Some("redis://127.0.0.1:1/0".into());
        });
        let svc = app.service().await;
        let (status, _, body) =
            send(&svc, TestRequest::get().uri("/obp/v5.1.0/rate-limiting")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({ "enabled": true, "technology": "REDIS",
                "service_available": false, "is_active": false })
        );
        assert!(!body.to_string().contains("127.0.0.1"));
    }
}

backend_test! {
    #[actix_web::test]
    #[cfg_attr(not(assent_redis_tests), ignore = "set ASSENT_TEST_REDIS_URL to run")]
    async fn rate_limiting_says_a_shared_store_answers(db) {
        let redis = std::env::var("ASSENT_TEST_REDIS_URL").unwrap_or_default();
        let app = TestApp::with_config(db, |config| config.rate_limit_url = Some(redis.clone()));
        let svc = app.service().await;
        let (status, _, body) =
            send(&svc, TestRequest::get().uri("/obp/v3.1.0/rate-limiting")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({ "enabled": true, "technology": "REDIS",
                "service_available": true, "is_active": true })
        );
        assert!(!body.to_string().contains(&redis));
    }
}
