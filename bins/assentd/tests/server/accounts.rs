//! Accounts and account access over HTTP: views, the grant/revoke matrix, the last owner under
//! concurrency, all-or-nothing bulk and DAuth-user changes; SQLite and PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_repository::accounts;
use serde_json::{Value, json};

const BANK: &str = "gh.29.uk";
const ACCOUNT: &str = "acc-1";

fn at(path: &str) -> String {
    format!("/obp/v5.1.0/banks/{BANK}/accounts/{ACCOUNT}{path}")
}

fn create_account(token: &str, user_id: &str) -> TestRequest {
    authed(TestRequest::put().uri(&at("")), token).set_json(json!({
        "user_id": user_id, "label": "Main", "product_code": "current",
        "balance": { "currency": "EUR", "amount": "0" }
    }))
}

fn grant(token: &str, user_id: &str, view: &str, is_system: bool) -> TestRequest {
    authed(TestRequest::post().uri(&at("/account-access/grant")), token).set_json(json!({
        "user_id": user_id, "view": { "view_id": view, "is_system": is_system }
    }))
}

fn revoke(token: &str, user_id: &str, view: &str, is_system: bool) -> TestRequest {
    authed(
        TestRequest::post().uri(&at("/account-access/revoke")),
        token,
    )
    .set_json(json!({
        "user_id": user_id, "view": { "view_id": view, "is_system": is_system }
    }))
}

struct Person {
    id: String,
    token: String,
}

async fn people<S: TestService>(app: &TestApp, svc: &S, names: &[&str]) -> Vec<Person> {
    let key = app.consumer(true);
    let mut out = Vec::new();
    for name in names {
        let user = sign_up(svc, name).await;
        out.push(Person {
            id: user["user_id"].as_str().unwrap().to_owned(),
            token: token(svc, name, &key).await,
        });
    }
    out
}

fn views_of(app: &TestApp, user_id: &str) -> Vec<String> {
    app.views_held(BANK, ACCOUNT, user_id)
}

backend_test! {
    #[actix_web::test]
    async fn an_account_gives_its_holder_owner_and_views_list_everything(db) {
        let app = TestApp::new(db);
        app.add_bank(BANK);
        let svc = app.service().await;
        let p = people(&app, &svc, &["holder", "stranger"]).await;
        let (holder, stranger) = (&p[0], &p[1]);

        // Someone else's account needs CanCreateAccount at the bank.
        let (status, _, body) = send(&svc, create_account(&stranger.token, &holder.id)).await;
        assert_eq!(status, 403, "{body}");
        assert!(message(&body).contains("CanCreateAccount at bank gh.29.uk"));
        let (status, _, body) = send(&svc, create_account(&holder.token, &holder.id)).await;
        assert_eq!(status, 201, "{}: {body}", app.backend());
        assert_eq!(body["balance"], json!({ "currency": "EUR", "amount": "0" }));
        let (status, _, body) = send(&svc, create_account(&holder.token, &holder.id)).await;
        assert_eq!(status, 409);
        assert!(message(&body).starts_with("OBP-30208"));
        assert_eq!(views_of(&app, &holder.id), ["ManageCustomViews", "owner"]);

        let (status, _, body) = send(
            &svc,
            authed(TestRequest::get().uri(&at("/views")), &holder.token),
        )
        .await;
        assert_eq!(status, 200);
        let views = body["views"].as_array().unwrap();
        assert_eq!(views.len(), 13);
        let owner = views.iter().find(|v| v["id"] == "owner").unwrap();
        let can_fields = owner
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("can_") && !k.contains("access_to"))
            .count();
        assert_eq!(can_fields, 74, "every can_* field is present");
        assert_eq!(owner["can_create_standing_order"], true);
        let auditor = views.iter().find(|v| v["id"] == "auditor").unwrap();
        assert_eq!(auditor["can_create_standing_order"], false);
        assert_eq!(auditor["can_see_bank_account_balance"], true);
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::get().uri(&at("/views")), &stranger.token),
        )
        .await;
        assert_eq!(status, 403);
        assert!(message(&body).starts_with("OBP-20047"));

        let (status, _, body) = send(&svc, current(&holder.token)).await;
        assert_eq!(status, 200);
        let listed: Vec<&str> = body["views"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["view_id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, ["ManageCustomViews", "owner"]);

        let unknown = format!("/obp/v5.1.0/banks/{BANK}/accounts/nope/views");
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::get().uri(&unknown), &holder.token),
        )
        .await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-30018"));
    }
}

backend_test! {
    #[actix_web::test]
    async fn the_grant_and_revoke_matrix(db) {
        let app = TestApp::new(db);
        app.add_bank(BANK);
        let svc = app.service().await;
        let p = people(&app, &svc, &["holder", "auditor", "manager", "friend"]).await;
        let (holder, auditor, manager, friend) = (&p[0], &p[1], &p[2], &p[3]);
        send(&svc, create_account(&holder.token, &holder.id)).await;

        // The owner grants system views; granting twice stores one row.
        for _ in 0..2 {
            let (status, _, body) =
                send(&svc, grant(&holder.token, &auditor.id, "auditor", true)).await;
            assert_eq!(status, 201, "{body}");
            assert_eq!(body["id"], "auditor");
        }
        assert_eq!(views_of(&app, &auditor.id), ["auditor"]);
        // An auditor cannot grant.
        let (status, _, body) =
            send(&svc, grant(&auditor.token, &friend.id, "auditor", true)).await;
        assert_eq!(status, 403);
        assert!(message(&body).starts_with("OBP-20047"));

        // Custom views: created by the holder; a manager of custom views grants them only.
        let create = |token: &str, name: &str, delegates: bool| {
            authed(TestRequest::post().uri(&at("/views")), token).set_json(json!({
                "name": name, "description": "for a friend", "which_alias_to_use": "private",
                "allowed_actions": ["can_see_bank_account_balance", "can_see_transaction_amount"],
                "can_grant_access_to_custom_views": delegates,
                "can_revoke_access_to_custom_views": delegates,
            }))
        };
        let (status, _, body) = send(&svc, create(&holder.token, "_Family", false)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["id"], "_family");
        assert_eq!(body["can_see_bank_account_balance"], true);
        assert_eq!(body["can_add_comment"], false);
        let (status, _, body) = send(&svc, create(&holder.token, "family", false)).await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-20020"));
        let (status, _, body) = send(&svc, create(&holder.token, "_Family", false)).await;
        assert!(
            status == 409 && message(&body).starts_with("OBP-30295"),
            "{body}"
        );
        let (status, _, _) = send(&svc, create(&auditor.token, "_Other", false)).await;
        assert_eq!(status, 403, "an auditor cannot manage custom views");

        let (status, _, _) = send(
            &svc,
            grant(&holder.token, &manager.id, "ManageCustomViews", true),
        )
        .await;
        assert_eq!(status, 201);
        // A manager of custom views never hands on more than their own views give, to
        // themselves or to anyone else: ManageCustomViews sees nothing.
        for to in [&friend.id, &manager.id] {
            let (status, _, _) = send(&svc, grant(&manager.token, to, "_family", false)).await;
            assert_eq!(status, 403, "beyond the manager's own views");
        }
        let (status, _, _) = send(&svc, create(&manager.token, "_Mine", false)).await;
        assert_eq!(status, 403, "a view with permissions the manager lacks");
        // Given _family by the holder, the manager may hand it on.
        let (status, _, _) = send(&svc, grant(&holder.token, &manager.id, "_family", false)).await;
        assert_eq!(status, 201);
        let (status, _, _) = send(&svc, grant(&manager.token, &friend.id, "_family", false)).await;
        assert_eq!(status, 201, "a custom-view manager grants custom views within their own");
        let (status, _, _) = send(&svc, grant(&manager.token, &friend.id, "auditor", true)).await;
        assert_eq!(status, 403, "but not system views");
        let (status, _, body) = send(&svc, create(&manager.token, "_Mine", true)).await;
        assert_eq!(status, 403, "only holders define views that hand on access: {body}");
        assert!(message(&body).starts_with("OBP-30307"), "{body}");
        let (status, _, _) = send(&svc, revoke(&manager.token, &friend.id, "_family", false)).await;
        assert_eq!(status, 201);
        let (status, _, body) =
            send(&svc, revoke(&manager.token, &friend.id, "_family", false)).await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-30065"));

        // A custom view that delegates lets its holder grant custom views.
        let (status, _, _) = send(&svc, create(&holder.token, "_Delegate", true)).await;
        assert_eq!(status, 201);
        send(&svc, grant(&holder.token, &auditor.id, "_delegate", false)).await;
        let (status, _, _) = send(&svc, grant(&auditor.token, &friend.id, "_family", false)).await;
        assert_eq!(status, 201);

        // Unknown views and users.
        let (status, _, body) =
            send(&svc, grant(&holder.token, &friend.id, "overlord", true)).await;
        assert!(
            status == 400 && message(&body).starts_with("OBP-30252"),
            "{body}"
        );
        let (status, _, body) = send(&svc, grant(&holder.token, &friend.id, "_nope", false)).await;
        assert!(
            status == 400 && message(&body).starts_with("OBP-30005"),
            "{body}"
        );
        let ghost = uuid::Uuid::new_v4().to_string();
        let (status, _, body) = send(&svc, grant(&holder.token, &ghost, "auditor", true)).await;
        assert!(
            status == 404 && message(&body).starts_with("OBP-20005"),
            "{body}"
        );

        // Updating keeps what is not sent; deleting removes the grants with the view.
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::put().uri(&at("/views/_family")), &holder.token)
                .set_json(json!({ "description": "changed" })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["description"], "changed");
        assert_eq!(body["can_see_bank_account_balance"], true);
        let (status, _, _) = send(
            &svc,
            authed(
                TestRequest::delete().uri(&at("/views/owner")),
                &holder.token,
            ),
        )
        .await;
        assert_eq!(status, 400, "system views stay");
        let (status, _, _) = send(
            &svc,
            authed(
                TestRequest::delete().uri(&at("/views/_family")),
                &holder.token,
            ),
        )
        .await;
        assert_eq!(status, 204);
        assert!(!views_of(&app, &friend.id).contains(&"_family".to_owned()));

        // The last owner stays.
        let (status, _, body) = send(&svc, revoke(&holder.token, &holder.id, "owner", true)).await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-30292"), "{body}");

        // Lists of access.
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/my/account-access"),
                &auditor.token,
            ),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["accounts"][0]["account_id"], ACCOUNT);
        assert_eq!(body["accounts"][0]["views"].as_array().unwrap().len(), 2);
        let uri = format!("/obp/v5.1.0/users/{}/account-access", auditor.id);
        let (status, _, _) = send(&svc, authed(TestRequest::get().uri(&uri), &holder.token)).await;
        assert_eq!(status, 403);
        app.grant_role(&holder.id, "CanSeeAccountAccessForAnyUser", None);
        let (status, _, listed) =
            send(&svc, authed(TestRequest::get().uri(&uri), &holder.token)).await;
        assert_eq!(status, 200);
        assert_eq!(listed, body);
    }
}

backend_test! {
    #[actix_web::test]
    async fn parallel_revokes_of_the_last_two_owners_leave_one(db) {
        let app = TestApp::new(db);
        app.add_bank(BANK);
        let svc = app.service().await;
        let p = people(&app, &svc, &["first", "second"]).await;
        let (first, second) = (&p[0], &p[1]);
        send(&svc, create_account(&first.token, &first.id)).await;
        let (status, _, _) = send(&svc, grant(&first.token, &second.id, "owner", true)).await;
        assert_eq!(status, 201);
        // Each owner tries to remove the other (and themselves), many times at once.
        let requests = (0..20).map(|i| {
            let (actor, target) = match i % 4 {
                0 => (first, second),
                1 => (second, first),
                2 => (first, first),
                _ => (second, second),
            };
            send(&svc, revoke(&actor.token, &target.id, "owner", true))
        });
        let results = futures_util::future::join_all(requests).await;
        let revoked = results.iter().filter(|(s, _, _)| *s == 201).count();
        assert_eq!(revoked, 1, "{}: exactly one revoke succeeds", app.backend());
        let mut conn = app.state.pool.get().unwrap();
        let owners = accounts::holders_of_view(&mut conn, BANK, ACCOUNT, "owner").unwrap();
        assert_eq!(owners, 1, "{}", app.backend());
    }
}

backend_test! {
    #[actix_web::test]
    async fn bulk_and_dauth_changes_are_all_or_nothing(db) {
        let app = TestApp::new(db);
        app.add_bank(BANK);
        let svc = app.service().await;
        let p = people(&app, &svc, &["holder", "friend", "outsider"]).await;
        let (holder, friend, outsider) = (&p[0], &p[1], &p[2]);
        send(&svc, create_account(&holder.token, &holder.id)).await;
        send(&svc, grant(&holder.token, &friend.id, "ReadBalances", true)).await;

        let bulk = |token: &str, body: Value| {
            authed(TestRequest::put().uri(&at("/account-access")), token).set_json(body)
        };
        let mut held = views_of(&app, &holder.id);
        held.sort();
        // The change is the caller's own. The grants are fine; the revoke of a view the
        // holder does not hold fails: nothing happens.
        let (status, _, body) = send(
            &svc,
            bulk(&holder.token, json!({ "grant": ["auditor", "accountant"], "revoke": ["ReadBalances"] })),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(message(&body).starts_with("OBP-30065"));
        assert_eq!(views_of(&app, &holder.id), held, "{}", app.backend());
        // An unknown view in the middle: nothing either.
        let (status, _, _) = send(
            &svc,
            bulk(&holder.token, json!({ "grant": ["auditor", "overlord", "accountant"] })),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(views_of(&app, &holder.id), held);
        // The body names no user: one that does (the route's earlier shape) is refused, not
        // applied to the caller.
        let (status, _, body) = send(
            &svc,
            bulk(&holder.token, json!({ "user_id": friend.id, "grant": ["auditor"] })),
        )
        .await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-10001"), "{body}");
        assert_eq!(views_of(&app, &holder.id), held);
        assert_eq!(views_of(&app, &friend.id), ["ReadBalances"]);
        // All allowed: all done.
        let (status, _, body) = send(
            &svc,
            bulk(&holder.token, json!({ "grant": ["auditor", "accountant"] })),
        )
        .await;
        assert_eq!((status, body), (200, json!({ "revoked": true })));
        let (status, _, _) = send(&svc, bulk(&holder.token, json!({ "revoke": ["auditor"] }))).await;
        assert_eq!(status, 200);
        let mut expected = held.clone();
        expected.push("accountant".to_owned());
        expected.sort();
        let mut now_held = views_of(&app, &holder.id);
        now_held.sort();
        assert_eq!(now_held, expected, "{}", app.backend());
        // Who may grant what is unchanged: a view that delegates nothing lets its holder give
        // themselves nothing.
        let (status, _, body) = send(
            &svc,
            bulk(&friend.token, json!({ "grant": ["owner"], "revoke": ["ReadBalances"] })),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert!(message(&body).starts_with("OBP-20047"), "{body}");
        assert_eq!(views_of(&app, &friend.id), ["ReadBalances"]);
        // Nor may the account's last owner leave it without one.
        let (status, _, body) = send(&svc, bulk(&holder.token, json!({ "revoke": ["owner"] }))).await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-30292"), "{body}");

        // DAuth users: only holders; the provider must be dauth.*; a bad view creates no user.
        let dauth = |token: &str, body: Value| {
            authed(TestRequest::post().uri(&at("/user-account-access")), token).set_json(body)
        };
        let contract = "0xf4a8f9c6c01d9b7c4b7b8a2f9c0d1e2f3a4b5c6d";
        let (status, _, _) = send(
            &svc,
            dauth(&outsider.token, json!({ "username": contract, "provider": "dauth.example", "views": [{ "view_id": "ReadBalances", "is_system": true }] })),
        )
        .await;
        assert_eq!(status, 403);
        let (status, _, body) = send(
            &svc,
            dauth(
                &holder.token,
                json!({ "username": contract, "provider": "example", "views": [] }),
            ),
        )
        .await;
        assert!(
            status == 400 && message(&body).starts_with("OBP-20103"),
            "{body}"
        );
        let (status, _, _) = send(
            &svc,
            dauth(&holder.token, json!({ "username": contract, "provider": "dauth.example", "views": [
                { "view_id": "ReadBalances", "is_system": true }, { "view_id": "_missing", "is_system": false }
            ] })),
        )
        .await;
        assert_eq!(status, 400);
        {
            let mut conn = app.state.pool.get().unwrap();
            let made =
                assent_repository::users::find_by_username(&mut conn, "dauth.example", contract)
                    .unwrap();
            assert!(made.is_none(), "{}: no user left behind", app.backend());
        }
        let (status, _, body) = send(
            &svc,
            dauth(&holder.token, json!({ "username": contract, "provider": "dauth.example", "views": [{ "view_id": "ReadBalances", "is_system": true }] })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            body.as_array().unwrap().len(),
            1,
            "the views granted, as view JSON"
        );
        assert_eq!(body[0]["id"], "ReadBalances");
        let made = {
            let mut conn = app.state.pool.get().unwrap();
            assent_repository::users::find_by_username(&mut conn, "dauth.example", contract)
                .unwrap()
                .unwrap()
        };
        assert_eq!(views_of(&app, &made.user_id), ["ReadBalances"]);
        let (status, _, _) = send(
            &svc,
            dauth(
                &holder.token,
                json!({ "username": contract, "provider": "dauth.", "views": [] }),
            ),
        )
        .await;
        assert_eq!(status, 400, "a provider must name a network");

        // One view granted and revoked in the same change: refused, and the owner stays.
        let (status, _, body) = send(
            &svc,
            bulk(&holder.token, json!({ "grant": ["owner"], "revoke": ["owner"] })),
        )
        .await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-30298"), "{body}");
        assert!(views_of(&app, &holder.id).contains(&"owner".to_owned()));

        // Odd view ids never reach a query.
        let (status, _, body) = send(
            &svc,
            bulk(&holder.token, json!({ "grant": ["_a\u{0}b"] })),
        )
        .await;
        assert_eq!(status, 400, "{}: {body}", app.backend());
        assert!(message(&body).starts_with("OBP-30005"));
    }
}

backend_test! {
    #[actix_web::test]
    async fn refresh_gives_holders_their_default_access_back(db) {
        let app = TestApp::new(db);
        app.add_bank(BANK);
        let svc = app.service().await;
        let p = people(&app, &svc, &["holder", "admin"]).await;
        let (holder, admin) = (&p[0], &p[1]);
        send(&svc, create_account(&holder.token, &holder.id)).await;
        {
            let mut conn = app.state.pool.get().unwrap();
            assert!(
                accounts::revoke(&mut conn, BANK, ACCOUNT, &holder.id, "ManageCustomViews")
                    .unwrap()
            );
        }
        let uri = format!("/obp/v3.1.0/users/{}/refresh", holder.id);
        let (status, _, body) =
            send(&svc, authed(TestRequest::post().uri(&uri), &admin.token)).await;
        assert_eq!(status, 403);
        assert!(message(&body).contains("CanRefreshUser"));
        app.grant_role(&admin.id, "CanRefreshUser", None);
        let (status, _, body) =
            send(&svc, authed(TestRequest::post().uri(&uri), &admin.token)).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["duration_time"].as_str().unwrap().ends_with(" ms"));
        assert_eq!(body["restored_grants"], 1);
        assert_eq!(views_of(&app, &holder.id), ["ManageCustomViews", "owner"]);
        let (_, _, body) = send(&svc, authed(TestRequest::post().uri(&uri), &admin.token)).await;
        assert_eq!(
            body["restored_grants"], 0,
            "nothing missing the second time"
        );
        let ghost = format!("/obp/v5.1.0/users/{}/refresh", uuid::Uuid::new_v4());
        let (status, _, body) =
            send(&svc, authed(TestRequest::post().uri(&ghost), &admin.token)).await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-20005"));
    }
}

backend_test! {
    #[actix_web::test]
    async fn parallel_partial_updates_of_a_custom_view_keep_every_change(db) {
        let app = TestApp::new(db);
        app.add_bank(BANK);
        let svc = app.service().await;
        let p = people(&app, &svc, &["holder"]).await;
        let holder = &p[0];
        send(&svc, create_account(&holder.token, &holder.id)).await;
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::post().uri(&at("/views")), &holder.token).set_json(json!({
                "name": "_shared", "description": "before", "which_alias_to_use": "private",
                "allowed_actions": ["can_see_bank_account_balance"],
                "can_grant_access_to_custom_views": false,
                "can_revoke_access_to_custom_views": false,
            })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        // Half change the description, half the alias; each sends only its own field.
        let requests = (0..16).map(|i| {
            let change = if i % 2 == 0 {
                json!({ "description": "after" })
            } else {
                json!({ "which_alias_to_use": "public" })
            };
            send(
                &svc,
                authed(TestRequest::put().uri(&at("/views/_shared")), &holder.token)
                    .set_json(change),
            )
        });
        for (status, _, body) in futures_util::future::join_all(requests).await {
            assert_eq!(status, 200, "{body}");
        }
        let mut conn = app.state.pool.get().unwrap();
        let stored = accounts::custom_view(&mut conn, BANK, ACCOUNT, "_shared")
            .unwrap()
            .unwrap()
            .view()
            .unwrap();
        assert_eq!(
            (stored.description(), stored.alias().as_str()),
            ("after", "public"),
            "{}: no update lost another's field",
            app.backend()
        );
    }
}
