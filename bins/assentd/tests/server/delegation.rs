//! Delegation that cannot outlive its revocation, and OBP's account permission routes through
//! which holders see and change who holds what; SQLite and PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_repository::banks;
use serde_json::json;

const BANK: &str = "gh.29.uk";
const ACCOUNT: &str = "acc-1";
/// The test configuration's provider, as a path segment.
const PROVIDER: &str = "http%3A%2F%2F127.0.0.1%3A8080";

fn at(path: &str) -> String {
    format!("/obp/v5.1.0/banks/{BANK}/accounts/{ACCOUNT}{path}")
}

fn permissions(path: &str) -> String {
    format!("/obp/v3.1.0/banks/{BANK}/accounts/{ACCOUNT}/permissions{path}")
}

fn grant(token: &str, user_id: &str, view: &str) -> TestRequest {
    authed(TestRequest::post().uri(&at("/account-access/grant")), token).set_json(json!({
        "user_id": user_id, "view": { "view_id": view, "is_system": !view.starts_with('_') }
    }))
}

fn revoke(token: &str, user_id: &str, view: &str) -> TestRequest {
    authed(
        TestRequest::post().uri(&at("/account-access/revoke")),
        token,
    )
    .set_json(json!({
        "user_id": user_id, "view": { "view_id": view, "is_system": !view.starts_with('_') }
    }))
}

fn define(token: &str, name: &str, actions: &[&str], delegates: bool) -> TestRequest {
    authed(TestRequest::post().uri(&at("/views")), token).set_json(json!({
        "name": name, "description": "", "which_alias_to_use": "private",
        "allowed_actions": actions,
        "can_grant_access_to_custom_views": delegates,
        "can_revoke_access_to_custom_views": delegates,
    }))
}

struct Person {
    id: String,
    name: String,
    token: String,
}

/// Signs the people up, and opens the account for the first.
async fn account_with<S: TestService>(app: &TestApp, svc: &S, names: &[&str]) -> Vec<Person> {
    {
        let mut conn = app.state.pool.get().unwrap();
        banks::insert(
            &mut conn,
            &banks::row(BANK, "uk", "UK bank", "", "", app.now()),
        )
        .unwrap();
    }
    let key = app.consumer(true);
    let mut people = Vec::new();
    for name in names {
        let user = sign_up(svc, name).await;
        people.push(Person {
            id: user["user_id"].as_str().unwrap().to_owned(),
            name: (*name).to_owned(),
            token: token(svc, name, &key).await,
        });
    }
    let holder = &people[0];
    let (status, _, body) = send(
        svc,
        authed(TestRequest::put().uri(&at("")), &holder.token).set_json(json!({
            "user_id": holder.id, "label": "Main", "product_code": "current",
            "balance": { "currency": "EUR", "amount": "0" }
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    people
}

fn views_of(app: &TestApp, user_id: &str) -> Vec<String> {
    app.views_held(BANK, ACCOUNT, user_id)
}

const BALANCE: &[&str] = &["can_see_bank_account_balance"];

backend_test! {
    #[actix_web::test]
    async fn a_delegate_neither_makes_delegates_nor_hands_on_more_than_they_have(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let p = account_with(&app, &svc, &["holder", "delegate", "second"]).await;
        let (holder, delegate, second) = (&p[0], &p[1], &p[2]);
        let (status, _, _) = send(&svc, grant(&holder.token, &delegate.id, "ManageCustomViews")).await;
        assert_eq!(status, 201);

        // The delegate cannot make a view that hands on access, nor give one.
        let (status, _, body) = send(&svc, define(&delegate.token, "_deleg", &[], true)).await;
        assert_eq!(status, 403, "{}: {body}", app.backend());
        assert!(message(&body).starts_with("OBP-30307"), "{body}");
        for view in ["ManageCustomViews", "owner"] {
            let (status, _, body) = send(&svc, grant(&delegate.token, &second.id, view)).await;
            assert_eq!(status, 403, "{view}: {body}");
        }
        // Nor hand on the holder's widest view, to themselves or to a second account.
        let all: Vec<String> = {
            let (_, _, body) = send(&svc, authed(TestRequest::get().uri(&at("/views")), &holder.token)).await;
            let owner = body["views"].as_array().unwrap().iter().find(|v| v["id"] == "owner").unwrap().clone();
            owner.as_object().unwrap().iter()
                .filter(|(k, v)| k.starts_with("can_") && !k.contains("access_to") && **v == json!(true))
                .map(|(k, _)| k.clone())
                .collect()
        };
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let (status, _, body) = send(&svc, define(&holder.token, "_cfo", &all, false)).await;
        assert_eq!(status, 201, "{body}");
        for to in [&second.id, &delegate.id] {
            let (status, _, body) = send(&svc, grant(&delegate.token, to, "_cfo")).await;
            assert_eq!(status, 403, "{}: {body}", app.backend());
        }
        assert!(views_of(&app, &second.id).is_empty());
        // The holder may.
        let (status, _, _) = send(&svc, grant(&holder.token, &second.id, "_cfo")).await;
        assert_eq!(status, 201);
    }
}

backend_test! {
    #[actix_web::test]
    async fn what_a_delegate_gave_themselves_goes_when_their_power_is_revoked(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let p = account_with(&app, &svc, &["holder", "delegate", "friend"]).await;
        let (holder, delegate, friend) = (&p[0], &p[1], &p[2]);
        for view in ["ManageCustomViews", "ReadBalances"] {
            let (status, _, _) = send(&svc, grant(&holder.token, &delegate.id, view)).await;
            assert_eq!(status, 201);
        }
        let (status, _, body) = send(&svc, define(&delegate.token, "_bal", BALANCE, false)).await;
        assert_eq!(status, 201, "within the delegate's own: {body}");
        for to in [&delegate.id, &friend.id] {
            let (status, _, body) = send(&svc, grant(&delegate.token, to, "_bal")).await;
            assert_eq!(status, 201, "{body}");
        }
        assert_eq!(views_of(&app, &delegate.id), ["ManageCustomViews", "ReadBalances", "_bal"]);

        let (status, _, _) = send(&svc, revoke(&holder.token, &delegate.id, "ManageCustomViews")).await;
        assert_eq!(status, 201);
        assert_eq!(
            views_of(&app, &delegate.id),
            ["ReadBalances"],
            "{}: the self-granted view went with the power",
            app.backend()
        );
        assert_eq!(views_of(&app, &friend.id), ["_bal"], "what they gave others stays");
        let (status, _, _) = send(&svc, grant(&delegate.token, &delegate.id, "_bal")).await;
        assert_eq!(status, 403);

        // A view the delegate gave themselves and the holder then granted is the holder's
        // grant: it stays when the delegate's power goes.
        send(&svc, grant(&holder.token, &delegate.id, "ManageCustomViews")).await;
        let (status, _, _) = send(&svc, grant(&delegate.token, &delegate.id, "_bal")).await;
        assert_eq!(status, 201);
        let (status, _, _) = send(&svc, grant(&holder.token, &delegate.id, "_bal")).await;
        assert_eq!(status, 201);
        send(&svc, revoke(&holder.token, &delegate.id, "ManageCustomViews")).await;
        assert_eq!(views_of(&app, &delegate.id), ["ReadBalances", "_bal"]);
        send(&svc, revoke(&holder.token, &delegate.id, "_bal")).await;

        // Given the power back, but not the permission: the self-grant goes the other way.
        send(&svc, grant(&holder.token, &delegate.id, "ManageCustomViews")).await;
        let (status, _, _) = send(&svc, grant(&delegate.token, &delegate.id, "_bal")).await;
        assert_eq!(status, 201);
        let (status, _, _) = send(&svc, revoke(&holder.token, &delegate.id, "ReadBalances")).await;
        assert_eq!(status, 201);
        assert_eq!(views_of(&app, &delegate.id), ["ManageCustomViews"]);
    }
}

backend_test! {
    #[actix_web::test]
    async fn holders_see_and_change_who_holds_what_through_the_permission_routes(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let p = account_with(&app, &svc, &["holder", "auditor", "stranger"]).await;
        let (holder, auditor, stranger) = (&p[0], &p[1], &p[2]);
        let user_path = |who: &Person, rest: &str| permissions(&format!("/{PROVIDER}/{}{rest}", who.name));

        let (status, _, body) = send(
            &svc,
            authed(TestRequest::post().uri(&user_path(auditor, "/views/auditor")), &holder.token),
        )
        .await;
        assert_eq!(status, 201, "{}: {body}", app.backend());
        assert_eq!(body["id"], "auditor");
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::post().uri(&user_path(auditor, "/views")), &holder.token)
                .set_json(json!({ "views": ["ReadBalances", "ReadAccountsBasic"] })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["views"].as_array().unwrap().len(), 2);
        // All or nothing: an unknown view refuses the whole list.
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::post().uri(&user_path(auditor, "/views")), &holder.token)
                .set_json(json!({ "views": ["ReadTransactionsBasic", "overlord"] })),
        )
        .await;
        assert!(status == 400 && message(&body).starts_with("OBP-30252"), "{body}");
        assert_eq!(views_of(&app, &auditor.id), ["ReadAccountsBasic", "ReadBalances", "auditor"]);

        let (status, _, body) =
            send(&svc, authed(TestRequest::get().uri(&permissions("")), &holder.token)).await;
        assert_eq!(status, 200, "{body}");
        let listed: Vec<(String, Vec<String>)> = body["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let views = p["views"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect();
                (p["user"]["display_name"].as_str().unwrap().to_owned(), views)
            })
            .collect();
        let find = |name: &str| listed.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        assert_eq!(find("holder").unwrap(), ["ManageCustomViews", "owner"]);
        assert_eq!(find("auditor").unwrap(), ["ReadAccountsBasic", "ReadBalances", "auditor"]);
        assert_eq!(find("stranger"), None);
        let entry = body["permissions"].as_array().unwrap().iter().find(|p| p["user"]["id"] == auditor.id.as_str()).unwrap();
        assert_eq!(entry["user"]["provider"], "http://127.0.0.1:8080");

        // Only holders see the account's permissions; a user sees their own.
        for who in [auditor, stranger] {
            let (status, _, _) =
                send(&svc, authed(TestRequest::get().uri(&permissions("")), &who.token)).await;
            assert_eq!(status, 403);
        }
        let (status, _, body) =
            send(&svc, authed(TestRequest::get().uri(&user_path(auditor, "")), &auditor.token)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["views"].as_array().unwrap().len(), 3);
        let (status, _, _) =
            send(&svc, authed(TestRequest::get().uri(&user_path(auditor, "")), &stranger.token)).await;
        assert_eq!(status, 403, "nobody else learns another's access");

        // Revoke one, then all; the last owner stays.
        let (status, _, _) = send(
            &svc,
            authed(TestRequest::delete().uri(&user_path(auditor, "/views/ReadBalances")), &holder.token),
        )
        .await;
        assert_eq!(status, 204);
        let (status, _, _) = send(
            &svc,
            authed(TestRequest::delete().uri(&user_path(auditor, "/views")), &holder.token),
        )
        .await;
        assert_eq!(status, 204);
        assert!(views_of(&app, &auditor.id).is_empty());
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::delete().uri(&user_path(holder, "/views")), &holder.token),
        )
        .await;
        assert!(status == 400 && message(&body).starts_with("OBP-30292"), "{body}");
        assert_eq!(views_of(&app, &holder.id), ["ManageCustomViews", "owner"], "nothing revoked");

        // The same rules as the other routes: a stranger changes nothing; unknown users are 404.
        let (status, _, _) = send(
            &svc,
            authed(TestRequest::post().uri(&user_path(stranger, "/views/auditor")), &stranger.token),
        )
        .await;
        assert_eq!(status, 403);
        let (status, _, _) = send(
            &svc,
            authed(
                TestRequest::post().uri(&permissions(&format!("/{PROVIDER}/nobody/views/auditor"))),
                &stranger.token,
            ),
        )
        .await;
        assert_eq!(status, 403, "a stranger learns nothing of who exists");
        // Usernames are unique ignoring case, here too.
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::post().uri(&permissions(&format!("/{PROVIDER}/AUDITOR/views/auditor"))),
                &holder.token,
            ),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::post().uri(&permissions(&format!("/{PROVIDER}/nobody/views/auditor"))),
                &holder.token,
            ),
        )
        .await;
        assert!(status == 404 && message(&body).starts_with("OBP-20005"), "{body}");
    }
}
