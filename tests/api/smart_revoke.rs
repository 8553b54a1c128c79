//! Token revocation (RFC 7009): revoking an access token ends it on the
//! FHIR API; revoking a refresh token ends its grant and every token issued
//! under it; an unknown token is answered 200; another client's token is
//! refused; the client must authenticate (a public one by its client_id).

use fhirgate::store::auth::{grants, users};
use serde_json::Value;

use crate::helpers::*;
use crate::smart_introspect::{form, public_app, refresh_token, revoke_url, user_token};
use crate::smart_keys::{backend_token, claims, get_with, register, rsa_key, sign, JWT_BEARER};
use crate::smart_tokens::user_row;

#[tokio::test]
async fn smart_revoke_ends_access_and_refresh_tokens() {
    let app = spawn_app().await;
    public_app(&app);
    users::insert(&mut app.conn(), "default", &user_row("doc")).unwrap();
    let key = rsa_key("k1");
    register(&app, "svc", &[&key], "system/*.rs");
    let url = revoke_url(&app);
    let by_svc = |t: String| {
        let (url, a) = (
            url.clone(),
            sign(&key, &claims("svc", &format!("{}/auth/revoke", app.base))),
        );
        async move {
            form(
                &url,
                &[
                    ("token", &t),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", &a),
                ],
            )
            .await
        }
    };

    // An access token, revoked by its client: 401 on the FHIR API from now on.
    let t = backend_token(&app, &key, "svc", "system/Patient.rs").await;
    assert_eq!(get_with(&app, "Patient", &t).await.status(), 200);
    assert_eq!(by_svc(t.clone()).await, (200, String::new()));
    let r = get_with(&app, "Patient", &t).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    // Again, and unknown or garbage tokens: 200 all the same (RFC 7009 2.2).
    assert_eq!(by_svc(t).await.0, 200);
    assert_eq!(by_svc("no-such-token".into()).await.0, 200);
    assert_eq!(by_svc("a.b.c".into()).await.0, 200);
    // Another client's token is not this client's to revoke, and stays valid.
    let (user_t, _) = user_token(&app);
    let (status, body) = by_svc(user_t.clone()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "unauthorized_client"
    );
    assert_eq!(get_with(&app, "Patient", &user_t).await.status(), 200);

    // A refresh token, revoked by its (public) client: its grant ends, and
    // with it the access tokens issued under it.
    let rt = refresh_token(&app, "g1", 3600);
    let (status, _) = form(
        &url,
        &[
            ("token", &rt),
            ("client_id", "app"),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(get_with(&app, "Patient", &user_t).await.status(), 401);
    let g = grants::grant(&mut app.conn(), "default", "g1")
        .unwrap()
        .unwrap();
    assert!(g.revoked_at.is_some());

    // Without client authentication, or without a token: refused.
    // RFC 6749 5.2 (RFC 7009 2.2.1): invalid_client is 400 unless the
    // client tried HTTP Basic.
    assert_eq!(form(&url, &[("token", "x")]).await.0, 400);
    assert_eq!(form(&url, &[("client_id", "app")]).await.0, 400);
    // Each request was audited: the five revocations answered 200 and the
    // token request (outcome 0), the three refusals (outcome 4).
    let audited = crate::smart_keys::audited;
    assert_eq!(audited(&app, "subtype=operation&outcome=0", 6).await, 6);
    assert_eq!(audited(&app, "subtype=operation&outcome=4", 3).await, 3);
}
