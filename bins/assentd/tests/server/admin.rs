//! Identity administration over HTTP: lockout, locks, roles and entitlements, banks. Every
//! test runs on SQLite and (when configured) PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_repository::testing::TestDatabase;
use serde_json::{Value, json};

fn grant(app: &TestApp, user: &Value, role: &str, bank: Option<&str>) {
    app.grant_role(user["user_id"].as_str().unwrap(), role, bank);
}

backend_test! {
    #[actix_web::test]
    async fn five_failures_lock_the_account_until_an_unlock(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let admin = sign_up(&svc, "admin").await;
        grant(&app, &admin, "CanReadUserLockedStatus", None);
        grant(&app, &admin, "CanUnlockUser", None);
        let admin_token = token(&svc, "admin", &key).await;

        for _ in 0..5 {
            let (status, body) = login(&svc, "felix", "Wrong-Pass-1", &key).await;
            assert_eq!(status, 401);
            assert!(message(&body).starts_with("OBP-20004"), "{body}");
        }
        let (status, body) = login(&svc, "felix", PASSWORD, &key).await;
        assert_eq!(status, 401, "{}", app.backend());
        assert_eq!(
            message(&body),
            "OBP-20013: The account has been locked, please contact administrator !"
        );

        let (status, _, lock) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v3.1.0/users/felix/lock-status"),
                &admin_token,
            ),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(lock["username"], "felix");
        assert_eq!(
            lock["bad_attempts_since_last_success_or_reset"], 6,
            "the locked attempt counts too"
        );
        assert!(lock["last_failure_date"].as_str().unwrap().ends_with('Z'));

        let (status, _, unlocked) = send(
            &svc,
            authed(
                TestRequest::put().uri("/obp/v4.0.0/users/FELIX/lock-status"),
                &admin_token,
            ),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(unlocked["bad_attempts_since_last_success_or_reset"], 0);
        let (status, _) = login(&svc, "felix", PASSWORD, &key).await;
        assert_eq!(status, 201);
        assert_eq!(app.audit_count("user.unlocked"), 1);
        assert_eq!(app.audit_count("login.failure"), 6);
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_success_resets_the_count(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        for _ in 0..4 {
            login(&svc, "felix", "Wrong-Pass-1", &key).await;
        }
        assert_eq!(login(&svc, "felix", PASSWORD, &key).await.0, 201);
        for _ in 0..4 {
            login(&svc, "felix", "Wrong-Pass-1", &key).await;
        }
        assert_eq!(
            login(&svc, "felix", PASSWORD, &key).await.0,
            201,
            "{}",
            app.backend()
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn unknown_usernames_lock_the_same_way(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        for _ in 0..5 {
            let (_, unknown) = login(&svc, "nobody", "Wrong-Pass-1", &key).await;
            let (_, known) = login(&svc, "felix", "Wrong-Pass-1", &key).await;
            assert_eq!(unknown, known);
        }
        let (_, unknown) = login(&svc, "nobody", PASSWORD, &key).await;
        let (_, known) = login(&svc, "felix", PASSWORD, &key).await;
        assert_eq!(unknown, known);
        assert!(message(&known).starts_with("OBP-20013"));
    }
}

backend_test! {
    #[actix_web::test]
    async fn twenty_parallel_wrong_logins_are_all_counted(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let admin = sign_up(&svc, "admin").await;
        grant(&app, &admin, "CanReadUserLockedStatus", None);
        let admin_token = token(&svc, "admin", &key).await;
        let attempts = (0..20).map(|_| login(&svc, "felix", "Wrong-Pass-1", &key));
        let results = futures_util::future::join_all(attempts).await;
        assert!(results.iter().all(|(status, _)| *status == 401));
        let (_, _, lock) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/users/felix/lock-status"),
                &admin_token,
            ),
        )
        .await;
        assert_eq!(
            lock["bad_attempts_since_last_success_or_reset"],
            20,
            "{}",
            app.backend()
        );
        let (status, body) = login(&svc, "felix", PASSWORD, &key).await;
        assert_eq!(status, 401);
        assert!(message(&body).starts_with("OBP-20013"));
    }
}

backend_test! {
    #[actix_web::test]
    async fn an_administrative_lock_ends_sessions_and_refuses_logins(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let felix = sign_up(&svc, "felix").await;
        let admin = sign_up(&svc, "admin").await;
        grant(&app, &admin, "CanLockUser", None);
        grant(&app, &admin, "CanUnlockUser", None);
        let admin_token = token(&svc, "admin", &key).await;
        let felix_token = token(&svc, "felix", &key).await;

        let (status, _, lock) = send(
            &svc,
            authed(
                TestRequest::post().uri("/obp/v5.1.0/users/felix/locks"),
                &admin_token,
            ),
        )
        .await;
        assert_eq!(status, 201);
        assert_eq!(lock["user_id"], felix["user_id"]);
        assert_eq!(lock["type_of_lock"], "lock_via_api");
        assert!(lock["last_lock_date"].is_string());

        let (status, _, _) = send(&svc, current(&felix_token)).await;
        assert_eq!(
            status,
            401,
            "{}: a locked user's session must end",
            app.backend()
        );
        let (status, body) = login(&svc, "felix", PASSWORD, &key).await;
        assert_eq!(status, 401);
        assert!(message(&body).starts_with("OBP-20013"));

        send(
            &svc,
            authed(
                TestRequest::put().uri("/obp/v5.1.0/users/felix/lock-status"),
                &admin_token,
            ),
        )
        .await;
        assert_eq!(login(&svc, "felix", PASSWORD, &key).await.0, 201);
        assert_eq!(app.audit_count("user.locked"), 1);
    }
}

backend_test! {
    #[actix_web::test]
    async fn lock_endpoints_need_their_roles_and_known_users(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let someone = sign_up(&svc, "someone").await;
        let token = token(&svc, "someone", &key).await;
        for (req, role) in [
            (
                TestRequest::get().uri("/obp/v5.1.0/users/felix/lock-status"),
                "CanReadUserLockedStatus",
            ),
            (
                TestRequest::put().uri("/obp/v5.1.0/users/felix/lock-status"),
                "CanUnlockUser",
            ),
            (
                TestRequest::post().uri("/obp/v5.1.0/users/felix/locks"),
                "CanLockUser",
            ),
        ] {
            let (status, _, body) = send(&svc, authed(req, &token)).await;
            assert_eq!(status, 403);
            assert_eq!(
                message(&body),
                format!("OBP-20006: User is missing one or more roles: {role}")
            );
        }
        let (status, _, _) = send(
            &svc,
            TestRequest::get().uri("/obp/v5.1.0/users/felix/lock-status"),
        )
        .await;
        assert_eq!(status, 401);
        grant(&app, &someone, "CanReadUserLockedStatus", None);
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/users/ghost/lock-status"),
                &token,
            ),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(
            message(&body),
            "OBP-20027: User not found by provider and username."
        );
        let (_, _, body) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/users/felix/lock-status"),
                &token,
            ),
        )
        .await;
        assert_eq!(body["bad_attempts_since_last_success_or_reset"], 0);
        assert_eq!(body["last_failure_date"], Value::Null);
    }
}

#[actix_web::test]
async fn roles_are_listed() {
    let app = TestApp::new(TestDatabase::sqlite());
    let svc = app.service().await;
    let key = app.consumer(true);
    sign_up(&svc, "felix").await;
    let token = token(&svc, "felix", &key).await;
    let (status, _, body) = send(
        &svc,
        authed(TestRequest::get().uri("/obp/v3.1.0/roles"), &token),
    )
    .await;
    assert_eq!(status, 200);
    let roles = body["roles"].as_array().unwrap();
    assert!(roles.contains(&json!({ "role": "CanCreateBank", "requires_bank_id": false })));
    assert!(roles.contains(&json!({ "role": "CanCreateAccount", "requires_bank_id": true })));
    let (status, _, _) = send(&svc, TestRequest::get().uri("/obp/v3.1.0/roles")).await;
    assert_eq!(status, 401);
}

backend_test! {
    #[actix_web::test]
    async fn entitlements_are_granted_listed_and_revoked_by_the_rules(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let felix = sign_up(&svc, "felix").await;
        let felix_id = felix["user_id"].as_str().unwrap().to_owned();
        let admin = sign_up(&svc, "admin").await;
        let admin_token = token(&svc, "admin", &key).await;
        let post = |user: &str, body: Value| {
            authed(
                TestRequest::post().uri(&format!("/obp/v5.1.0/users/{user}/entitlements")),
                &admin_token,
            )
            .set_json(body)
        };

        let (status, _, body) = send(
            &svc,
            post(
                &felix_id,
                json!({ "bank_id": "", "role_name": "CanGetAnyUser" }),
            ),
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(
            message(&body),
            "OBP-20006: User is missing one or more roles: CanCreateEntitlementAtAnyBank"
        );
        let (status, _, body) = send(
            &svc,
            post(
                &felix_id,
                json!({ "bank_id": "gh.29.uk", "role_name": "CanCreateAccount" }),
            ),
        )
        .await;
        assert_eq!(status, 403);
        assert!(
            message(&body).ends_with(
                "CanCreateEntitlementAtAnyBank or CanCreateEntitlementAtOneBank at bank gh.29.uk"
            ),
            "{body}"
        );

        grant(&app, &admin, "CanCreateEntitlementAtAnyBank", None);
        grant(&app, &admin, "CanCreateBank", None);
        let (status, _, _) = send(&svc, authed(TestRequest::post().uri("/obp/v5.1.0/banks"), &admin_token)
            .set_json(json!({ "id": "gh.29.uk", "short_name": "uk", "full_name": "UK bank", "logo": "", "website": "https://uk.example" }))).await;
        assert_eq!(status, 201);

        let cases: Vec<(TestRequest, u16, &str)> = vec![
            (
                post(&felix_id, json!({ "bank_id": "", "role_name": "CanFly" })),
                400,
                "OBP-10007: Incorrect Role name: CanFly. Possible roles are ",
            ),
            (
                post(
                    &felix_id,
                    json!({ "bank_id": "", "role_name": "CanCreateAccount" }),
                ),
                400,
                "OBP-30205",
            ),
            (
                post(
                    &felix_id,
                    json!({ "bank_id": "gh.29.uk", "role_name": "CanGetAnyUser" }),
                ),
                400,
                "OBP-30206",
            ),
            (
                post(
                    &felix_id,
                    json!({ "bank_id": "nope", "role_name": "CanCreateAccount" }),
                ),
                404,
                "OBP-30001",
            ),
            (
                post(
                    &uuid::Uuid::new_v4().to_string(),
                    json!({ "bank_id": "", "role_name": "CanGetAnyUser" }),
                ),
                404,
                "OBP-20005",
            ),
            (
                post(
                    "not-a-uuid",
                    json!({ "bank_id": "", "role_name": "CanGetAnyUser" }),
                ),
                404,
                "OBP-20005",
            ),
            (
                post(&felix_id, json!({ "role_name": "CanGetAnyUser" })),
                400,
                "OBP-10001",
            ),
        ];
        for (req, status, expected) in cases {
            let (got, _, body) = send(&svc, req).await;
            assert_eq!(got, status, "{}: {expected}: {body}", app.backend());
            assert!(message(&body).starts_with(expected), "{expected}: {body}");
        }

        let (status, _, granted) = send(
            &svc,
            post(
                &felix_id,
                json!({ "bank_id": "", "role_name": "CanGetAnyUser" }),
            ),
        )
        .await;
        assert_eq!(status, 201);
        assert_eq!(granted["role_name"], "CanGetAnyUser");
        assert_eq!(granted["bank_id"], "");
        let (status, _, body) = send(
            &svc,
            post(
                &felix_id,
                json!({ "bank_id": "", "role_name": "CanGetAnyUser" }),
            ),
        )
        .await;
        assert_eq!(status, 409);
        assert!(message(&body).starts_with("OBP-30216"));
        let (status, _, _) = send(
            &svc,
            post(
                &felix_id,
                json!({ "bank_id": "gh.29.uk", "role_name": "CanCreateAccount" }),
            ),
        )
        .await;
        assert_eq!(status, 201);

        let felix_token = token(&svc, "felix", &key).await;
        let (status, _, mine) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/my/entitlements"),
                &felix_token,
            ),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(mine["list"].as_array().unwrap().len(), 2);

        let list_uri = format!("/obp/v5.1.0/users/{felix_id}/entitlements");
        let (status, _, _) = send(
            &svc,
            authed(TestRequest::get().uri(&list_uri), &admin_token),
        )
        .await;
        assert_eq!(status, 403);
        grant(&app, &admin, "CanGetEntitlementsForAnyUserAtAnyBank", None);
        let (status, _, listed) = send(
            &svc,
            authed(TestRequest::get().uri(&list_uri), &admin_token),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(listed, mine);

        let delete_uri = format!(
            "/obp/v5.1.0/users/{felix_id}/entitlement/{}",
            granted["entitlement_id"].as_str().unwrap()
        );
        let (status, _, _) = send(
            &svc,
            authed(TestRequest::delete().uri(&delete_uri), &admin_token),
        )
        .await;
        assert_eq!(status, 403);
        grant(&app, &admin, "CanDeleteEntitlementAtAnyBank", None);
        let (status, _, _) = send(
            &svc,
            authed(TestRequest::delete().uri(&delete_uri), &admin_token),
        )
        .await;
        assert_eq!(status, 204);
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::delete().uri(&delete_uri), &admin_token),
        )
        .await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-30212"));
        assert_eq!(app.audit_count("entitlement.granted"), 2);
        assert_eq!(app.audit_count("entitlement.revoked"), 1);
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_one_bank_administrator_grants_only_at_that_bank(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let felix = sign_up(&svc, "felix").await;
        let felix_id = felix["user_id"].as_str().unwrap();
        let admin = sign_up(&svc, "admin").await;
        grant(&app, &admin, "CanCreateBank", None);
        grant(
            &app,
            &admin,
            "CanCreateEntitlementAtOneBank",
            Some("bank.a"),
        );
        let admin_token = token(&svc, "admin", &key).await;
        for id in ["bank.a", "bank.b"] {
            send(
                &svc,
                authed(TestRequest::post().uri("/obp/v5.1.0/banks"), &admin_token)
                    .set_json(json!({ "id": id, "short_name": id, "full_name": id })),
            )
            .await;
        }
        let grant_at = |bank: &str, role: &str| {
            authed(
                TestRequest::post().uri(&format!("/obp/v5.1.0/users/{felix_id}/entitlements")),
                &admin_token,
            )
            .set_json(json!({ "bank_id": bank, "role_name": role }))
        };
        assert_eq!(
            send(&svc, grant_at("bank.a", "CanCreateAccount")).await.0,
            201
        );
        assert_eq!(
            send(&svc, grant_at("bank.b", "CanCreateAccount")).await.0,
            403
        );
        assert_eq!(send(&svc, grant_at("", "CanGetAnyUser")).await.0, 403);
    }
}

backend_test! {
    #[actix_web::test]
    async fn banks_are_created_by_bank_creators_and_read_by_anyone_signed_in(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let admin = sign_up(&svc, "admin").await;
        let token = token(&svc, "admin", &key).await;
        let create = |body: Value| {
            authed(TestRequest::post().uri("/obp/v3.1.0/banks"), &token).set_json(body)
        };
        let good = json!({ "id": "gh.29.uk", "short_name": "uk", "full_name": "UK Bank", "logo": "https://logo.example/x.png", "website": "https://www.example.com" });

        let (status, _, body) = send(&svc, create(good.clone())).await;
        assert_eq!(status, 403);
        assert_eq!(
            message(&body),
            "OBP-20006: User is missing one or more roles: CanCreateBank"
        );
        grant(&app, &admin, "CanCreateBank", None);

        let mut bad_id = good.clone();
        bad_id["id"] = json!("gh 29/uk");
        let mut bad_url = good.clone();
        bad_url["website"] = json!("javascript:alert(1)");
        let mut no_name = good.clone();
        no_name["full_name"] = json!("");
        for (body, expected) in [
            (bad_id, "OBP-30275"),
            (bad_url, "OBP-30276"),
            (no_name, "OBP-30276"),
            (json!({ "id": 5 }), "OBP-10001"),
        ] {
            let (status, _, answer) = send(&svc, create(body)).await;
            assert_eq!(status, 400);
            assert!(
                message(&answer).starts_with(expected),
                "{expected}: {answer}"
            );
        }
        let (status, _, created) = send(&svc, create(good.clone())).await;
        assert_eq!(status, 201);
        assert_eq!(created, good);
        let (status, _, body) = send(&svc, create(good.clone())).await;
        assert_eq!(status, 409);
        assert!(message(&body).starts_with("OBP-30277"));

        let (status, _, list) = send(
            &svc,
            authed(TestRequest::get().uri("/obp/v5.1.0/banks"), &token),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(list["banks"], json!([good]));
        let (status, _, one) = send(
            &svc,
            authed(TestRequest::get().uri("/obp/v5.1.0/banks/gh.29.uk"), &token),
        )
        .await;
        assert_eq!((status, &one), (200, &good));
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::get().uri("/obp/v5.1.0/banks/nope"), &token),
        )
        .await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-30001"));
        assert_eq!(app.audit_count("bank.created"), 1);
    }
}

backend_test! {
    #[actix_web::test]
    async fn users_are_found_by_username_id_and_email_with_their_roles_and_lock_state(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let felix = sign_up(&svc, "Felix").await;
        let felix_id = felix["user_id"].as_str().unwrap().to_owned();
        let admin = sign_up(&svc, "admin").await;
        let token = token(&svc, "admin", &key).await;
        let get = |uri: &str| authed(TestRequest::get().uri(uri), &token);
        let uris = [
            "/obp/v5.1.0/users/username/felix".to_owned(),
            format!("/obp/v5.1.0/users/user_id/{felix_id}"),
            "/obp/v5.1.0/users/email/FELIX@example.com/terminator".to_owned(),
            "/obp/v5.1.0/users".to_owned(),
        ];
        for uri in &uris {
            let (status, _, body) = send(&svc, get(uri)).await;
            assert_eq!(status, 403, "{uri}");
            assert_eq!(
                message(&body),
                "OBP-20006: User is missing one or more roles: CanGetAnyUser"
            );
        }
        grant(&app, &admin, "CanGetAnyUser", None);
        grant(&app, &felix, "CanCreateBank", None);
        for uri in &uris[..3] {
            let (status, _, body) = send(&svc, get(uri)).await;
            assert_eq!(status, 200, "{}: {uri}: {body}", app.backend());
            let user = &body["users"][0];
            assert_eq!(user["user_id"], felix["user_id"]);
            assert_eq!(user["username"], "Felix");
            assert_eq!(user["is_locked"], false);
            assert_eq!(
                user["entitlements"]["list"][0]["role_name"],
                "CanCreateBank"
            );
        }
        for (uri, code) in [
            ("/obp/v5.1.0/users/username/ghost".to_owned(), "OBP-20027"),
            (
                format!("/obp/v5.1.0/users/user_id/{}", uuid::Uuid::new_v4()),
                "OBP-20005",
            ),
            (
                "/obp/v5.1.0/users/user_id/not-a-uuid".to_owned(),
                "OBP-20005",
            ),
            (
                "/obp/v5.1.0/users/email/ghost@example.com/terminator".to_owned(),
                "OBP-20007",
            ),
        ] {
            let (status, _, body) = send(&svc, get(&uri)).await;
            assert_eq!(status, 404, "{uri}");
            assert!(message(&body).starts_with(code), "{uri}: {body}");
        }
    }
}

backend_test! {
    #[actix_web::test]
    async fn all_users_pages_sorts_and_filters_by_lock_state(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let admin = sign_up(&svc, "admin").await;
        grant(&app, &admin, "CanGetAnyUser", None);
        grant(&app, &admin, "CanLockUser", None);
        // Users are listed in the order they signed up, a second apart.
        for name in ["u1", "u2", "u3", "u4"] {
            app.advance(time::Duration::seconds(1));
            sign_up(&svc, name).await;
        }
        let token = token(&svc, "admin", &key).await;
        let names = |body: &Value| -> Vec<String> {
            body["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned())
                .collect()
        };
        let get = |query: &str| {
            authed(
                TestRequest::get().uri(&format!("/obp/v4.0.0/users{query}")),
                &token,
            )
        };

        let (status, _, body) = send(&svc, get("")).await;
        assert_eq!(status, 200);
        assert_eq!(
            names(&body),
            ["u4", "u3", "u2", "u1", "admin"],
            "{}",
            app.backend()
        );
        let (_, _, body) = send(&svc, get("?sort_direction=ASC&limit=2&offset=1")).await;
        assert_eq!(names(&body), ["u1", "u2"]);

        send(
            &svc,
            authed(
                TestRequest::post().uri("/obp/v5.1.0/users/u2/locks"),
                &token,
            ),
        )
        .await;
        for _ in 0..5 {
            login(&svc, "u3", "Wrong-Pass-1", &key).await;
        }
        let (_, _, body) = send(&svc, get("?locked_status=locked&sort_direction=asc")).await;
        assert_eq!(names(&body), ["u2", "u3"], "{}", app.backend());
        assert!(
            body["users"]
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u["is_locked"] == true)
        );
        let (_, _, body) = send(&svc, get("?locked_status=active&sort_direction=asc")).await;
        assert_eq!(names(&body), ["admin", "u1", "u4"]);

        for (query, code) in [
            ("?limit=0", "OBP-10040"),
            ("?limit=abc", "OBP-10040"),
            ("?offset=-3", "OBP-10041"),
            ("?sort_direction=sideways", "OBP-10042"),
            ("?locked_status=maybe", "OBP-10043"),
        ] {
            let (status, _, body) = send(&svc, get(query)).await;
            assert_eq!(status, 400, "{query}");
            assert!(message(&body).starts_with(code), "{query}: {body}");
        }
    }
}

backend_test! {
    #[actix_web::test]
    async fn consumers_are_registered_listed_disabled_and_enabled(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let admin = sign_up(&svc, "admin").await;
        sign_up(&svc, "felix").await;
        let token = token(&svc, "admin", &key).await;
        let create = |body: Value| {
            authed(
                TestRequest::post().uri("/obp/v5.1.0/management/consumers"),
                &token,
            )
            .set_json(body)
        };
        let app_body = json!({ "app_name": "Budget app", "description": "Helps", "developer_email": "dev@example.com", "redirect_url": "https://app.example/cb" });

        let (status, _, body) = send(&svc, create(app_body.clone())).await;
        assert_eq!(status, 403);
        assert_eq!(
            message(&body),
            "OBP-20006: User is missing one or more roles: CanCreateConsumer"
        );
        grant(&app, &admin, "CanCreateConsumer", None);
        for bad in [
            json!({ "app_name": "" }),
            json!({ "app_name": "x", "developer_email": "nope" }),
            json!({ "app_name": "x", "redirect_url": "ftp://x" }),
        ] {
            let (status, _, body) = send(&svc, create(bad)).await;
            assert_eq!(status, 400);
            assert!(message(&body).starts_with("OBP-30278"), "{body}");
        }
        let (status, _, created) = send(&svc, create(app_body)).await;
        assert_eq!(status, 201, "{}: {created}", app.backend());
        let new_key = created["key"].as_str().unwrap().to_owned();
        let consumer_id = created["consumer_id"].as_str().unwrap().to_owned();
        assert_eq!(created["created_by_user_id"], admin["user_id"]);
        assert_eq!(created["enabled"], true);
        let felix_token = crate::common::token(&svc, "felix", &new_key).await;

        let one = format!("/obp/v5.1.0/management/consumers/{consumer_id}");
        let (status, _, _) = send(&svc, authed(TestRequest::get().uri(&one), &token)).await;
        assert_eq!(status, 403);
        grant(&app, &admin, "CanGetConsumers", None);
        let (status, _, got) = send(&svc, authed(TestRequest::get().uri(&one), &token)).await;
        assert_eq!(status, 200);
        assert!(got.get("key").is_none(), "a key is shown only at creation");
        assert_eq!(got["app_name"], "Budget app");
        let (_, _, all) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/management/consumers"),
                &token,
            ),
        )
        .await;
        assert_eq!(all["consumers"].as_array().unwrap().len(), 2);
        let (_, _, mine) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/management/users/current/consumers"),
                &token,
            ),
        )
        .await;
        assert_eq!(mine["consumers"].as_array().unwrap().len(), 1);
        for uri in [
            "/obp/v5.1.0/management/consumers/not-a-uuid".to_owned(),
            format!("/obp/v5.1.0/management/consumers/{}", uuid::Uuid::new_v4()),
        ] {
            let (status, _, body) = send(&svc, authed(TestRequest::get().uri(&uri), &token)).await;
            assert_eq!(status, 404);
            assert_eq!(
                message(&body),
                "OBP-30019: Consumer not found. Please specify a valid value for CONSUMER_ID."
            );
        }

        let toggle = |enabled: bool| {
            authed(TestRequest::put().uri(&one), &token).set_json(json!({ "enabled": enabled }))
        };
        let (status, _, body) = send(&svc, toggle(false)).await;
        assert_eq!(status, 403);
        assert!(message(&body).ends_with("CanDisableConsumers"));
        grant(&app, &admin, "CanDisableConsumers", None);
        let (status, _, body) = send(&svc, toggle(false)).await;
        assert_eq!((status, &body["enabled"]), (200, &json!(false)));
        let (status, _, _) = send(&svc, current(&felix_token)).await;
        assert_eq!(
            status,
            401,
            "{}: sessions of a disabled consumer end",
            app.backend()
        );
        let (status, body) = login(&svc, "felix", PASSWORD, &new_key).await;
        assert_eq!(status, 401);
        assert!(message(&body).starts_with("OBP-20008"));

        let (status, _, _) = send(&svc, toggle(true)).await;
        assert_eq!(status, 403);
        grant(&app, &admin, "CanEnableConsumers", None);
        assert_eq!(send(&svc, toggle(true)).await.0, 200);
        assert_eq!(
            send(&svc, current(&felix_token)).await.0,
            401,
            "re-enabling does not revive ended sessions"
        );
        assert_eq!(login(&svc, "felix", PASSWORD, &new_key).await.0, 201);

        let redirect = format!("{one}/consumer/redirect_url");
        let (status, _, _) = send(
            &svc,
            authed(TestRequest::put().uri(&redirect), &token)
                .set_json(json!({ "redirect_url": "https://new.example/cb" })),
        )
        .await;
        assert_eq!(status, 403);
        grant(&app, &admin, "CanUpdateConsumerRedirectUrl", None);
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::put().uri(&redirect), &token)
                .set_json(json!({ "redirect_url": "not a url" })),
        )
        .await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-30278"));
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::put().uri(&redirect), &token)
                .set_json(json!({ "redirect_url": "https://new.example/cb" })),
        )
        .await;
        assert_eq!(
            (status, body["redirect_url"].as_str()),
            (200, Some("https://new.example/cb"))
        );
        assert_eq!(app.audit_count("consumer.disabled"), 1);
        assert_eq!(app.audit_count("consumer.enabled"), 1);
    }
}

backend_test! {
    #[actix_web::test]
    async fn call_limits_are_set_read_and_enforced(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let admin_key = app.consumer(true);
        let limited_key = app.consumer(true);
        let admin = sign_up(&svc, "admin").await;
        sign_up(&svc, "felix").await;
        let token = token(&svc, "admin", &admin_key).await;
        let felix = crate::common::token(&svc, "felix", &limited_key).await;
        let consumer_id = {
            let (_, _, me) = send(&svc, current(&felix)).await;
            assert_eq!(me["username"], "felix");
            let mut conn = app.state.pool.get().unwrap();
            let hash = app.state.secret_hasher.hash(
                assent_identity::consumer::CONSUMER_KEY_LABEL,
                &limited_key.as_str().into(),
            );
            assent_repository::consumers::find_by_key_hash(&mut conn, &hash)
                .unwrap()
                .unwrap()
                .consumer_id
        };
        let limits_uri =
            format!("/obp/v5.1.0/management/consumers/{consumer_id}/consumer/call-limits");
        let (status, _, _) = send(&svc, authed(TestRequest::get().uri(&limits_uri), &token)).await;
        assert_eq!(status, 403);
        grant(&app, &admin, "CanReadCallLimits", None);
        grant(&app, &admin, "CanSetCallLimits", None);
        let (status, _, limits) =
            send(&svc, authed(TestRequest::get().uri(&limits_uri), &token)).await;
        assert_eq!(status, 200);
        assert_eq!(limits["per_second_call_limit"], "-1");

        let set = |body: Value| authed(TestRequest::put().uri(&limits_uri), &token).set_json(body);
        let mut body = json!({
            "per_second_call_limit": "5", "per_minute_call_limit": "-1", "per_hour_call_limit": -1,
            "per_day_call_limit": "-1", "per_week_call_limit": "-1", "per_month_call_limit": "-1",
        });
        for bad in [json!("-2"), json!("lots"), json!(1.5)] {
            let mut wrong = body.clone();
            wrong["per_minute_call_limit"] = bad;
            let (status, _, answer) = send(&svc, set(wrong)).await;
            assert_eq!(status, 400, "{answer}");
        }
        body.as_object_mut().unwrap().remove("per_month_call_limit");
        assert_eq!(send(&svc, set(body.clone())).await.0, 400);
        body["per_month_call_limit"] = json!("-1");
        let (status, _, answer) = send(&svc, set(body)).await;
        assert_eq!(status, 200);
        assert_eq!(answer["per_second_call_limit"], "5");

        // Six calls within one second, from its start.
        app.advance(time::Duration::seconds(1));
        let mut burst = Vec::new();
        for _ in 0..6 {
            burst.push(send(&svc, current(&felix)).await);
        }
        let (status, headers, body) = burst.pop().unwrap();
        for (i, (status, _, _)) in burst.iter().enumerate() {
            assert_eq!(*status, 200, "{}: call {i}", app.backend());
        }
        assert_eq!(status, 429, "{}", app.backend());
        assert_eq!(
            message(&body),
            "OBP-10018: Too Many Requests. We only allow 5 requests per second for this Consumer."
        );
        assert_eq!(headers.get("x-rate-limit-limit").unwrap(), "5");
        assert_eq!(headers.get("x-rate-limit-remaining").unwrap(), "0");
        assert_eq!(headers.get("x-rate-limit-reset").unwrap(), "1");
        // Another consumer's calls are not counted against it.
        assert_eq!(
            send(&svc, authed(TestRequest::get().uri(&limits_uri), &token))
                .await
                .0,
            200
        );
        app.advance(time::Duration::seconds(1) - time::Duration::MICROSECOND);
        assert_eq!(
            send(&svc, current(&felix)).await.0,
            429,
            "the window lasts to its last instant"
        );
        app.advance(time::Duration::MICROSECOND);
        assert_eq!(
            send(&svc, current(&felix)).await.0,
            200,
            "the next window is served again"
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn auth_contexts_are_set_listed_and_deleted(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let felix = sign_up(&svc, "felix").await;
        let felix_id = felix["user_id"].as_str().unwrap().to_owned();
        let admin = sign_up(&svc, "admin").await;
        let token = token(&svc, "admin", &key).await;
        let base = format!("/obp/v5.1.0/users/{felix_id}/auth-context");
        let post = |body: Value| authed(TestRequest::post().uri(&base), &token).set_json(body);

        let (status, _, body) = send(
            &svc,
            post(json!({ "key": "CUSTOMER_NUMBER", "value": "1" })),
        )
        .await;
        assert_eq!(status, 403);
        assert!(message(&body).ends_with("CanCreateUserAuthContext"));
        for role in [
            "CanCreateUserAuthContext",
            "CanGetUserAuthContext",
            "CanDeleteUserAuthContext",
        ] {
            grant(&app, &admin, role, None);
        }
        for bad in [
            json!({ "key": "a b", "value": "1" }),
            json!({ "key": "K", "value": "" }),
            json!({ "key": "K" }),
        ] {
            let (status, _, body) = send(&svc, post(bad)).await;
            assert_eq!(status, 400, "{body}");
        }
        let (status, _, first) = send(
            &svc,
            post(json!({ "key": "CUSTOMER_NUMBER", "value": "78987432" })),
        )
        .await;
        assert_eq!(status, 201, "{}: {first}", app.backend());
        assert_eq!(
            (first["key"].as_str(), first["value"].as_str()),
            (Some("CUSTOMER_NUMBER"), Some("78987432"))
        );
        let (_, _, again) = send(
            &svc,
            post(json!({ "key": "CUSTOMER_NUMBER", "value": "11111111" })),
        )
        .await;
        assert_eq!(
            again["user_auth_context_id"], first["user_auth_context_id"],
            "one value per key"
        );
        send(&svc, post(json!({ "key": "BRANCH", "value": "7" }))).await;

        let (status, _, list) = send(&svc, authed(TestRequest::get().uri(&base), &token)).await;
        assert_eq!(status, 200);
        let pairs = list["user_auth_contexts"].as_array().unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[1]["value"], "11111111");

        let one = format!("{base}/{}", first["user_auth_context_id"].as_str().unwrap());
        assert_eq!(
            send(&svc, authed(TestRequest::delete().uri(&one), &token))
                .await
                .0,
            204
        );
        let (status, _, body) = send(&svc, authed(TestRequest::delete().uri(&one), &token)).await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-30280"));
        assert_eq!(
            send(&svc, authed(TestRequest::delete().uri(&base), &token))
                .await
                .0,
            204
        );
        let (_, _, list) = send(&svc, authed(TestRequest::get().uri(&base), &token)).await;
        assert_eq!(list["user_auth_contexts"], json!([]));

        let ghost = format!("/obp/v5.1.0/users/{}/auth-context", uuid::Uuid::new_v4());
        let (status, _, body) = send(&svc, authed(TestRequest::get().uri(&ghost), &token)).await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-20005"));
    }
}

backend_test! {
    #[actix_web::test]
    async fn entitlement_requests_and_entitlement_listings(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let felix = sign_up(&svc, "felix").await;
        let felix_id = felix["user_id"].as_str().unwrap().to_owned();
        let admin = sign_up(&svc, "admin").await;
        grant(&app, &admin, "CanCreateBank", None);
        let admin_token = token(&svc, "admin", &key).await;
        let felix_token = token(&svc, "felix", &key).await;
        send(
            &svc,
            authed(TestRequest::post().uri("/obp/v5.1.0/banks"), &admin_token)
                .set_json(json!({ "id": "gh.29.uk", "short_name": "uk", "full_name": "UK" })),
        )
        .await;

        let ask = |body: Value| {
            authed(
                TestRequest::post().uri("/obp/v5.1.0/entitlement-requests"),
                &felix_token,
            )
            .set_json(body)
        };
        for (body, status, code) in [
            (
                json!({ "bank_id": "", "role_name": "CanFly" }),
                400,
                "OBP-10007",
            ),
            (
                json!({ "bank_id": "", "role_name": "CanCreateAccount" }),
                400,
                "OBP-30205",
            ),
            (
                json!({ "bank_id": "nope", "role_name": "CanCreateAccount" }),
                404,
                "OBP-30001",
            ),
            (json!({ "role_name": "CanGetAnyUser" }), 400, "OBP-10001"),
        ] {
            let (got, _, answer) = send(&svc, ask(body)).await;
            assert_eq!(got, status, "{code}: {answer}");
            assert!(message(&answer).starts_with(code), "{code}: {answer}");
        }
        let (status, _, request) = send(
            &svc,
            ask(json!({ "bank_id": "gh.29.uk", "role_name": "CanCreateAccount" })),
        )
        .await;
        assert_eq!(status, 201, "{}: {request}", app.backend());
        assert_eq!(request["user"]["user_id"], felix["user_id"]);
        assert_eq!(request["user"]["username"], "felix");
        let (status, _, body) = send(
            &svc,
            ask(json!({ "bank_id": "gh.29.uk", "role_name": "CanCreateAccount" })),
        )
        .await;
        assert_eq!(status, 409);
        assert!(message(&body).starts_with("OBP-30214"));
        let (_, _, mine) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/my/entitlement-requests"),
                &felix_token,
            ),
        )
        .await;
        assert_eq!(mine["entitlement_requests"].as_array().unwrap().len(), 1);

        let of_felix = format!("/obp/v5.1.0/users/{felix_id}/entitlement-requests");
        for uri in [of_felix.as_str(), "/obp/v5.1.0/entitlement-requests"] {
            let (status, _, _) =
                send(&svc, authed(TestRequest::get().uri(uri), &admin_token)).await;
            assert_eq!(status, 403, "{uri}");
        }
        grant(&app, &admin, "CanGetEntitlementRequestsAtAnyBank", None);
        for uri in [of_felix.as_str(), "/obp/v5.1.0/entitlement-requests"] {
            let (status, _, body) =
                send(&svc, authed(TestRequest::get().uri(uri), &admin_token)).await;
            assert_eq!(status, 200, "{uri}");
            assert_eq!(body, mine);
        }
        let delete = format!(
            "/obp/v5.1.0/entitlement-requests/{}",
            request["entitlement_request_id"].as_str().unwrap()
        );
        assert_eq!(
            send(
                &svc,
                authed(TestRequest::delete().uri(&delete), &admin_token)
            )
            .await
            .0,
            403
        );
        grant(&app, &admin, "CanDeleteEntitlementRequestsAtAnyBank", None);
        assert_eq!(
            send(
                &svc,
                authed(TestRequest::delete().uri(&delete), &admin_token)
            )
            .await
            .0,
            204
        );
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::delete().uri(&delete), &admin_token),
        )
        .await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-30215"));

        // Listings of granted entitlements.
        grant(&app, &felix, "CanCreateAccount", Some("gh.29.uk"));
        let at_bank = format!("/obp/v5.1.0/banks/gh.29.uk/users/{felix_id}/entitlements");
        let (status, _, body) =
            send(&svc, authed(TestRequest::get().uri(&at_bank), &admin_token)).await;
        assert_eq!(status, 403);
        assert!(message(&body).ends_with("CanGetEntitlementsForAnyUserAtAnyBank or CanGetEntitlementsForAnyUserAtOneBank at bank gh.29.uk"));
        grant(
            &app,
            &admin,
            "CanGetEntitlementsForAnyUserAtOneBank",
            Some("gh.29.uk"),
        );
        let (status, _, body) =
            send(&svc, authed(TestRequest::get().uri(&at_bank), &admin_token)).await;
        assert_eq!(status, 200);
        assert_eq!(body["list"].as_array().unwrap().len(), 1);
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::get().uri(&format!(
                    "/obp/v5.1.0/banks/gh.29.uk/users/{}/entitlements",
                    uuid::Uuid::new_v4()
                )),
                &admin_token,
            ),
        )
        .await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-20005"));
        let (status, _, _) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/entitlements"),
                &admin_token,
            ),
        )
        .await;
        assert_eq!(status, 403);
        grant(&app, &admin, "CanGetEntitlementsForAnyUserAtAnyBank", None);
        let (status, _, all) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/entitlements"),
                &admin_token,
            ),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(all["list"].as_array().unwrap().len(), 6, "{all}");
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_lock_refuses_sessions_even_before_they_are_terminated(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let felix = sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;
        assert_eq!(send(&svc, current(&token)).await.0, 200);
        // The lock alone, as a login racing the lock endpoint would see it.
        let mut conn = app.state.pool.get().unwrap();
        assent_repository::lockout::lock(
            &mut conn,
            felix["user_id"].as_str().unwrap(),
            "lock_via_api",
            app.now(),
        )
        .unwrap();
        drop(conn);
        assert_eq!(
            send(&svc, current(&token)).await.0,
            401,
            "{}",
            app.backend()
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn control_characters_and_route_lookalikes_get_clear_answers(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let admin = sign_up(&svc, "admin").await;
        sign_up(&svc, "locks").await;
        let token = token(&svc, "admin", &key).await;
        // NUL and other control characters in paths or bank ids never reach a query.
        for uri in [
            "/obp/v5.1.0/banks/%00",
            "/obp/v5.1.0/users/username/a%00b",
            "/obp/v5.1.0/users/%01/lock-status",
        ] {
            let (status, _, body) = send(&svc, authed(TestRequest::get().uri(uri), &token)).await;
            assert_eq!(status, 404, "{}: {uri}: {body}", app.backend());
        }
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::post().uri("/obp/v5.1.0/entitlement-requests"),
                &token,
            )
            .set_json(
                json!({ "bank_id": "\u{0}", "role_name": "CanGetEntitlementsForAnyUserAtOneBank" }),
            ),
        )
        .await;
        assert_eq!(status, 404, "{}: {body}", app.backend());
        assert!(message(&body).starts_with("OBP-30001"));
        let (status, _, _) = send(
            &svc,
            authed(
                TestRequest::post().uri(&format!(
                    "/obp/v5.1.0/users/{}/entitlements",
                    admin["user_id"].as_str().unwrap()
                )),
                &token,
            )
            .set_json(json!({ "bank_id": "\u{0}", "role_name": "CanCreateAccount" })),
        )
        .await;
        assert_eq!(status, 403, "{}", app.backend());

        // The role check comes before input validation.
        let (status, _, _) = send(
            &svc,
            authed(TestRequest::get().uri("/obp/v5.1.0/users?limit=0"), &token),
        )
        .await;
        assert_eq!(status, 403);

        // A user called "locks" is found by username, not taken for the locks route.
        grant(&app, &admin, "CanGetAnyUser", None);
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/users/username/locks"),
                &token,
            ),
        )
        .await;
        assert_eq!(
            (status, body["users"][0]["username"].as_str()),
            (200, Some("locks"))
        );
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/users/username/lock-status"),
                &token,
            ),
        )
        .await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-20027"));
    }
}
