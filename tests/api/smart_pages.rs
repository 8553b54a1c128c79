//! The authorization request's checks (RFC 6749 4.1.2.1: which faults are
//! shown and which are redirected; SMART: PKCE S256 only, `aud`), and the
//! pages themselves: security headers, CSRF, escaping, consent choices and
//! login throttling.

use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use crate::smart_support::*;

async fn setup() -> TestApp {
    let app = spawn_app().await;
    add_user(&app, "doc", "doctor", None);
    add_client(
        &app,
        "app1",
        false,
        "offline_access user/Patient.rs user/Observation.rs",
    );
    app
}

/// The redirect of a refused authorization request: (error, state).
fn redirected(a: &Answer) -> (Option<String>, Option<String>) {
    assert_eq!(a.status, 302, "{}", a.body);
    let loc = a.location().unwrap();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    let q = query_of(&loc);
    (param(&q, "error"), param(&q, "state"))
}

#[tokio::test]
async fn smart_bad_client_or_redirect_uri_is_shown_never_redirected() {
    let app = setup().await;
    let mut b = Browser::new(&app);
    let mut req = AuthRequest::new("app1", "user/Patient.rs");
    req.extra
        .push(("redirect_uri".into(), "http://127.0.0.1:9/evil".into()));
    let r = b.get(&req.url(&app.base)).await;
    assert_eq!(r.status, 400);
    assert!(r.location().is_none(), "never redirected");
    assert!(r.body.contains("not one registered"), "{}", r.body);
    let r = b
        .get(&AuthRequest::new("nobody", "user/Patient.rs").url(&app.base))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.location().is_none());
    // A repeated client_id is as untrustworthy.
    let url = AuthRequest::new("app1", "user/Patient.rs").url(&app.base) + "&client_id=app1";
    let r = b.get(&url).await;
    assert_eq!(r.status, 400);
    assert!(r.location().is_none());
}

#[tokio::test]
async fn smart_other_faults_are_redirected_with_state() {
    let app = setup().await;
    let mut b = Browser::new(&app);
    let cases: Vec<(&str, &str, &str)> = vec![
        // SMART: `plain` SHALL NOT be supported; PKCE is required.
        ("code_challenge_method", "plain", "invalid_request"),
        ("code_challenge_method", "", "invalid_request"),
        ("code_challenge", "", "invalid_request"),
        ("aud", "https://counterfeit.example/fhir", "invalid_request"),
        ("aud", "", "invalid_request"),
        ("response_type", "token", "unsupported_response_type"),
        ("scope", "", "invalid_scope"),
        ("prompt", "none", "login_required"),
    ];
    for (k, v, error) in cases {
        let mut req = AuthRequest::new("app1", "user/Patient.rs");
        req.extra.push((k.into(), v.into()));
        let r = b.get(&req.url(&app.base)).await;
        let (e, s) = redirected(&r);
        assert_eq!(e.as_deref(), Some(error), "{k}={v}");
        assert_eq!(
            s.as_deref(),
            Some(req.state.as_str()),
            "state echoed for {k}={v}"
        );
    }
    // No state: still refused (SMART requires it), none to echo.
    let mut req = AuthRequest::new("app1", "user/Patient.rs");
    req.extra.push(("state".into(), String::new()));
    let (e, s) = redirected(&b.get(&req.url(&app.base)).await);
    assert_eq!((e.as_deref(), s), (Some("invalid_request"), None));
}

#[tokio::test]
async fn smart_authorize_accepts_post_and_pages_carry_security_headers() {
    let app = setup().await;
    let req = AuthRequest::new("app1", "user/Patient.rs");
    let url = req.url(&app.base);
    let (_, query) = url.split_once('?').unwrap();
    // OIDC Core 3.1.2.1 / SMART authorize-post: the same request as a form.
    let resp = reqwest::Client::new()
        .post(format!("{}/auth/authorize", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:9"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let html = resp.text().await.unwrap();
    // Keyboard use: labelled fields, the first focused, a real submit button.
    assert!(html.contains("<label for=\"username\">") && html.contains("<label for=\"password\">"));
    assert!(html.contains("autofocus"));
    assert!(html.contains("<button type=\"submit\">"));
    assert!(!html.contains("<script"));
    // The client's name is escaped.
    assert!(html.contains("App &lt;app1&gt;"), "{html}");
}

#[tokio::test]
async fn smart_forms_without_the_csrf_cookie_are_refused() {
    let app = setup().await;
    let req = AuthRequest::new("app1", "user/Patient.rs");
    let mut b = Browser::new(&app);
    let page = b.get(&req.url(&app.base)).await;
    let flow = flow_of(&page.body);
    let fields = [
        ("flow", flow.as_str()),
        ("username", "doc"),
        ("password", PASSWORD),
    ];
    // No cookie: refused.
    let mut cookieless = Browser::new(&app);
    let r = cookieless.post("login", &fields).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Another browser's cookie (another flow's): refused.
    let mut other = Browser::new(&app);
    other.get(&req.url(&app.base)).await;
    let r = other.post("login", &fields).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A flow altered by the browser does not open.
    let mut tampered = flow.clone();
    tampered.replace_range(10..11, if &flow[10..11] == "A" { "B" } else { "A" });
    let r = b
        .post(
            "login",
            &[
                ("flow", &tampered),
                ("username", "doc"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // A consent form without a signed-in flow is refused too.
    let r = b
        .post("consent", &[("flow", &flow), ("decision", "allow")])
        .await;
    assert_eq!(r.status, 400);
    // The right cookie: accepted.
    let r = b.post("login", &fields).await;
    assert!(r.body.contains("Allow access?"), "{}", r.body);
}

#[tokio::test]
async fn smart_consent_lets_the_user_untick_or_deny() {
    let app = setup().await;
    let req = AuthRequest::new("app1", "offline_access user/Patient.rs user/Observation.rs");
    let mut b = Browser::new(&app);
    let login = b.get(&req.url(&app.base)).await;
    let consent = b.login(&login, "doc", PASSWORD).await;
    // In plain words, each with its scope.
    assert!(
        consent
            .body
            .contains("Read and search the Patients in records you can access"),
        "{}",
        consent.body
    );
    assert!(consent.body.contains("offline access"));
    let done = b
        .allow(&consent, &["user/Observation.rs", "offline_access"])
        .await;
    let code = b.code_of(&done, &req);
    let (s, t) = exchange(&app, &req, &code).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["scope"], "user/Patient.rs");
    assert!(t.get("refresh_token").is_none());
    // Deny: access_denied with the state.
    let req = AuthRequest::new("app1", "user/Patient.rs");
    let login = b.get(&req.url(&app.base)).await;
    let consent = b.login(&login, "doc", PASSWORD).await;
    let r = b
        .post(
            "consent",
            &[("flow", &flow_of(&consent.body)), ("decision", "deny")],
        )
        .await;
    assert_eq!(r.status, 303);
    let q = query_of(&r.location().unwrap());
    assert_eq!(param(&q, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&q, "state").as_deref(), Some(req.state.as_str()));
    // Nothing the role allows: access_denied at once.
    add_user(&app, "admin", "administrator", None);
    let req = AuthRequest::new("app1", "user/Observation.rs");
    let login = b.get(&req.url(&app.base)).await;
    let r = b.login(&login, "admin", PASSWORD).await;
    assert_eq!(r.status, 303);
    let q = query_of(&r.location().unwrap());
    assert_eq!(param(&q, "error").as_deref(), Some("access_denied"));
}

#[tokio::test]
async fn smart_failed_logins_lock_the_account_and_the_address() {
    let app = spawn_app_with(|s| s.auth.login_max_failures = 2).await;
    add_user(&app, "doc", "doctor", None);
    add_user(&app, "nurse", "nurse", None);
    add_client(&app, "app1", false, "user/Patient.rs");
    let req = AuthRequest::new("app1", "user/Patient.rs");
    let mut b = Browser::new(&app);
    let mut page = b.get(&req.url(&app.base)).await;
    let started = std::time::Instant::now();
    for _ in 0..2 {
        page = b.login(&page, "doc", "wrong password").await;
        assert!(page.body.contains("not right"), "{}", page.body);
    }
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "failures are slowed"
    );
    // Locked: even the right password is refused now.
    let r = b.login(&page, "doc", PASSWORD).await;
    assert_eq!(r.status, 429, "{}", r.body);
    // Unknown users count against the address: 4 x 2 failures lock it.
    let mut page = b.get(&req.url(&app.base)).await;
    for i in 0..6 {
        page = b.login(&page, &format!("ghost{i}"), "x").await;
    }
    let r = b.login(&page, "nurse", PASSWORD).await;
    assert_eq!(r.status, 429, "the address is locked: {}", r.body);
}

#[tokio::test]
async fn smart_disabled_user_cannot_sign_in() {
    let app = setup().await;
    let t = tenant();
    fhirgate::store::auth::users::disable(&mut app.conn(), &t, "doc").unwrap();
    let req = AuthRequest::new("app1", "user/Patient.rs");
    let mut b = Browser::new(&app);
    let page = b.get(&req.url(&app.base)).await;
    let r = b.login(&page, "doc", PASSWORD).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("not right"), "{}", r.body);
}
