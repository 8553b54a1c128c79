//! What the SMART App Launch tests share: users and clients made with the
//! store functions, PKCE pairs, and a small "browser" that walks the
//! authorization pages (a cookie jar of one cookie, forms posted by hand).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fhirgate::store::auth::{clients, users};
use serde_json::Value;
use sha2::Digest as _;

use crate::helpers::TestApp;

pub const REDIRECT: &str = "http://127.0.0.1:9/after-auth";
pub const PASSWORD: &str = "correct horse battery";

pub fn tenant() -> String {
    fhirgate::tenant::TenantId::default_tenant()
        .as_str()
        .to_owned()
}

pub fn add_user(app: &TestApp, username: &str, role: &str, fhir_user: Option<&str>) {
    let row = users::UserRow {
        username: username.into(),
        password_hash: fhirgate::auth::password::hash(PASSWORD).unwrap(),
        role: role.into(),
        fhir_user: fhir_user.map(str::to_owned),
        disabled: false,
        failed_logins: 0,
        locked_until: None,
    };
    users::insert(&mut app.conn(), &tenant(), &row).unwrap();
}

/// Registers a client through the CLI's own row builder; its secret if confidential.
pub fn add_client(app: &TestApp, id: &str, confidential: bool, scopes: &str) -> Option<String> {
    use fhirgate::auth_cmd::{client_row, ClientAdd, ClientKind};
    let (row, secret) = client_row(ClientAdd {
        client_id: id.into(),
        kind: if confidential {
            ClientKind::Confidential
        } else {
            ClientKind::Public
        },
        name: Some(format!("App <{id}>")),
        redirect_uris: vec![REDIRECT.into()],
        jwks: None,
        scopes: scopes.into(),
    })
    .unwrap();
    clients::insert(&mut app.conn(), &tenant(), &row).unwrap();
    secret
}

/// A PKCE pair (RFC 7636 4.1, 4.2): verifier, S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Query or form parameters of a URL.
pub fn query_of(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    serde_urlencoded::from_str(q).unwrap()
}

pub fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The value of `name="flow"` on a page.
pub fn flow_of(html: &str) -> String {
    let i = html.find("name=\"flow\" value=\"").expect("a flow field") + 19;
    html[i..].split('"').next().unwrap().to_owned()
}

/// The consent page's checkboxes: (index value, scope text).
pub fn checkboxes(html: &str) -> Vec<(String, String)> {
    html.split("<div class=\"check\">")
        .skip(1)
        .filter(|d| d.contains("name=\"grant\""))
        .map(|d| {
            let v = d
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let code = d
                .split("<code>")
                .nth(1)
                .unwrap()
                .split("</code>")
                .next()
                .unwrap();
            (v.to_owned(), code.replace("&amp;", "&"))
        })
        .collect()
}

/// An authorization request's parameters (a standalone launch by default).
pub struct AuthRequest {
    pub client_id: String,
    pub scope: String,
    pub state: String,
    pub challenge: String,
    pub verifier: String,
    pub extra: Vec<(String, String)>,
}

impl AuthRequest {
    pub fn new(client_id: &str, scope: &str) -> Self {
        let (verifier, challenge) = pkce();
        Self {
            client_id: client_id.into(),
            scope: scope.into(),
            state: uuid::Uuid::new_v4().simple().to_string(),
            challenge,
            verifier,
            extra: Vec::new(),
        }
    }

    pub fn url(&self, base: &str) -> String {
        let mut p: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", REDIRECT),
            ("scope", &self.scope),
            ("state", &self.state),
            ("aud", base),
            ("code_challenge", &self.challenge),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in &self.extra {
            if let Some(slot) = p.iter_mut().find(|(n, _)| n == k) {
                slot.1 = v;
            } else {
                p.push((k, v));
            }
        }
        p.retain(|(_, v)| !v.is_empty());
        format!(
            "{base}/auth/authorize?{}",
            serde_urlencoded::to_string(&p).unwrap()
        )
    }
}

/// A browser: no redirects followed, no bearer token, one cookie.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: Option<String>,
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookie: None,
        }
    }

    async fn answer(&mut self, resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if let Some(c) = headers.get("set-cookie") {
            let c = c.to_str().unwrap();
            self.cookie = Some(c.split(';').next().unwrap().to_owned());
        }
        Answer {
            status,
            headers,
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Answer {
        let mut r = self.http.get(url);
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let resp = r.send().await.unwrap();
        self.answer(resp).await
    }

    /// POSTs a form to `[base]/auth/{page}`.
    pub async fn post(&mut self, page: &str, fields: &[(&str, &str)]) -> Answer {
        let mut r = self
            .http
            .post(format!("{}/auth/{page}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap());
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let resp = r.send().await.unwrap();
        self.answer(resp).await
    }

    /// Signs in on a login page; answers the next page.
    pub async fn login(&mut self, page: &Answer, user: &str, password: &str) -> Answer {
        assert_eq!(page.status, 200, "{}", page.body);
        let flow = flow_of(&page.body);
        self.post(
            "login",
            &[("flow", &flow), ("username", user), ("password", password)],
        )
        .await
    }

    /// Allows on a consent page, leaving unticked the scopes in `untick`.
    pub async fn allow(&mut self, page: &Answer, untick: &[&str]) -> Answer {
        assert!(page.body.contains("Allow access?"), "{}", page.body);
        let flow = flow_of(&page.body);
        let boxes = checkboxes(&page.body);
        let mut fields: Vec<(&str, &str)> = vec![("flow", &flow), ("decision", "allow")];
        for (v, code) in &boxes {
            if !untick.contains(&code.as_str()) {
                fields.push(("grant", v));
            }
        }
        self.post("consent", &fields).await
    }

    /// Walks a flow for `user` to its redirect: login, the picker (choosing
    /// `patient` when it shows), consent with every box ticked.
    pub async fn authorize(
        &mut self,
        req: &AuthRequest,
        user: &str,
        patient: Option<&str>,
    ) -> Answer {
        let page = self.get(&req.url(&self.base.clone())).await;
        let mut next = self.login(&page, user, PASSWORD).await;
        if next.body.contains("Choose a patient") {
            let flow = flow_of(&next.body);
            let id = patient.expect("a patient to pick");
            next = self
                .post(
                    "picker",
                    &[("flow", &flow), ("action", "select"), ("patient", id)],
                )
                .await;
        }
        self.allow(&next, &[]).await
    }

    /// The code of a redirect, checking `state` came back.
    pub fn code_of(&self, answer: &Answer, req: &AuthRequest) -> String {
        assert_eq!(answer.status, 303, "{}", answer.body);
        let loc = answer.location().unwrap();
        assert!(loc.starts_with(REDIRECT), "{loc}");
        let q = query_of(&loc);
        assert_eq!(param(&q, "state").as_deref(), Some(req.state.as_str()));
        param(&q, "code").expect("a code")
    }
}

/// POSTs to the token endpoint; (status, JSON).
pub async fn token(
    app: &TestApp,
    fields: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut r = reqwest::Client::new()
        .post(format!("{}/auth/token", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(fields).unwrap());
    if let Some((id, secret)) = basic {
        let v = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        r = r.header("authorization", format!("Basic {v}"));
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// Exchanges `code` of a public client's request.
pub async fn exchange(app: &TestApp, req: &AuthRequest, code: &str) -> (u16, Value) {
    token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &req.verifier),
            ("client_id", &req.client_id),
        ],
        None,
    )
    .await
}

/// GETs a FHIR path with `token`; the status.
pub async fn fhir_status(app: &TestApp, path: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A Patient with a name (created with the operator's token); its id.
pub async fn patient(app: &TestApp, family: &str) -> String {
    let (id, _) = app
        .create(&serde_json::json!({
            "resourceType": "Patient",
            "name": [{"family": family, "given": ["Ada"]}],
            "birthDate": "1970-01-02"
        }))
        .await;
    id
}
