//! `spawn_app`: a gateway on a random port over its own fresh database.

use std::sync::{Arc, OnceLock};

use diesel::{Connection, PgConnection, RunQueryDsl};
use fhirgate::config::Settings;
use fhirgate::crypto::{KeyBytes, MasterKey};
use fhirgate::fhir::FhirModel;
use fhirgate::startup::Application;
use fhirgate::store::bootstrap::{run_migrations, with_database};
use fhirgate::store::cluster::{fnv1a, PrivateCluster};
use fhirgate::store::Db;
use serde_json::Value;

pub struct TestApp {
    pub base: String,
    /// A client whose every request carries a `system/*.cruds` bearer token.
    pub client: reqwest::Client,
    /// The gateway's authorization server (to mint tokens in tests).
    pub authority: Arc<fhirgate::auth::Authority>,
    /// The port of `--ops-addr`, when set.
    pub ops_port: Option<u16>,
    /// The tenants' registry (other clinics' sites).
    pub tenancy: Arc<fhirgate::fhir::tenancy::Tenancy>,
    pub db_url: String,
    pub master_key_hex: String,
    server_url: String,
    db_name: String,
    handle: actix_web::dev::ServerHandle,
    mllp: fhirgate::startup::Hl7Ports,
    mllp_tenants: Vec<(fhirgate::tenant::TenantId, u16)>,
    ingest: std::sync::Arc<fhirgate::hl7::ingest::Ingestor>,
}

struct Server {
    /// URL of the server's maintenance database.
    admin_url: String,
    template: String,
    _cluster: Option<PrivateCluster>,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static MODEL: OnceLock<Arc<FhirModel>> = OnceLock::new();

fn model() -> Arc<FhirModel> {
    MODEL
        .get_or_init(|| Arc::new(FhirModel::load().expect("loading the FHIR model")))
        .clone()
}

/// The database server the tests use: FHIRGATE_TEST_DATABASE_URL, else the
/// server on 127.0.0.1:5432, else a private cluster under target/ (so the suite
/// also runs where no server does; FHIRGATE_TEST_PRIVATE_PG=1 forces it).
fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let forced_private = std::env::var("FHIRGATE_TEST_PRIVATE_PG").is_ok_and(|v| v == "1");
        let mut candidates: Vec<String> = Vec::new();
        if let Ok(url) = std::env::var("FHIRGATE_TEST_DATABASE_URL") {
            candidates.push(with_database(&url, "postgres").unwrap());
        }
        if !forced_private {
            candidates.push("postgres://127.0.0.1:5432/postgres?connect_timeout=3".into());
            candidates.push("postgres://postgres@127.0.0.1:5432/postgres?connect_timeout=3".into());
        }
        fhirgate::store::init_openssl();
        let (admin_url, cluster) = match candidates
            .into_iter()
            .find(|u| PgConnection::establish(u).is_ok())
        {
            Some(u) => (u, None),
            None => {
                // Under the system temp directory, which the postgres account can
                // reach wherever the checkout lives; one cluster per checkout.
                let dir = std::env::temp_dir().join(format!(
                    "fhirgate-test-pg-{:016x}",
                    fnv1a(env!("CARGO_TARGET_TMPDIR").as_bytes())
                ));
                let cluster = PrivateCluster::start(&dir, true)
                    .expect("starting a private PostgreSQL cluster for the tests");
                (cluster.url("postgres"), Some(cluster))
            }
        };
        let template = build_template(&admin_url);
        Server {
            admin_url,
            template,
            _cluster: cluster,
        }
    })
}

/// A migrated template database, built once per migration set (its name carries a
/// hash of the migrations), under an advisory lock so parallel test binaries agree.
fn build_template(admin_url: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let contents: Vec<u8> = files
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap())
        .collect();
    let hash = fnv1a(&contents);
    let name = format!("fhirgate_tpl_{hash:016x}");
    let mut admin = PgConnection::establish(admin_url).unwrap();
    diesel::sql_query("SELECT pg_advisory_lock(74201)")
        .execute(&mut admin)
        .unwrap();
    let url = with_database(admin_url, &name).unwrap();
    if PgConnection::establish(&url).is_err() {
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
    }
    // Also on a template that exists already: one left by a build whose
    // embedded migrations were older than the files gets the rest now.
    let mut conn = PgConnection::establish(&url).unwrap();
    run_migrations(&mut conn).unwrap();
    // The serving role's grants are copied with the template.
    fhirgate::store::role::ensure(&mut conn, fhirgate::store::role::DEFAULT_ROLE, None).unwrap();
    drop(conn);
    diesel::sql_query("SELECT pg_advisory_unlock(74201)")
        .execute(&mut admin)
        .unwrap();
    name
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Settings for a gateway on a random port over `db_url`.
pub fn test_settings(db_url: &str) -> Settings {
    Settings {
        database_url: Some(db_url.to_owned()),
        embedded_postgres: false,
        data_dir: std::env::temp_dir(),
        master_key_file: None,
        log_format: fhirgate::telemetry::LogFormat::Text,
        http_addr: "127.0.0.1:0".parse().unwrap(),
        ops_addr: None,
        base_url: None,
        allowed_hosts: Vec::new(),
        max_body_bytes: fhirgate::config::DEFAULT_MAX_BODY_BYTES,
        max_bundle_entries: fhirgate::config::DEFAULT_MAX_BUNDLE_ENTRIES,
        db_pool_size: 8,
        db_read_concurrency: 6,
        db_connect_timeout: fhirgate::store::pool::DEFAULT_CONNECT_TIMEOUT,
        http_workers: 2,
        tls: None,
        tls_terminated_upstream: false,
        limits: Default::default(),
        rates: Default::default(),
        hl7: fhirgate::hl7::config::Hl7Settings {
            mllp_addr: Some("127.0.0.1:0".parse().unwrap()),
            ..Default::default()
        },
        auth: Default::default(),
        db_serving: Default::default(),
        tenant: fhirgate::tenant::TenantId::default_tenant(),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A gateway as `serve` runs it: every FHIR request is authorized by its
/// bearer token.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn(configure, None).await
}

/// A gateway whose every request (HTTP, whatever its token, and MLLP) acts
/// as `principal`: the tests of the engine's decision point.
pub async fn spawn_app_as(
    configure: impl FnOnce(&mut Settings),
    principal: fhirgate::fhir::engine::Principal,
) -> TestApp {
    spawn(configure, Some(principal)).await
}

async fn spawn(
    configure: impl FnOnce(&mut Settings),
    principal: Option<fhirgate::fhir::engine::Principal>,
) -> TestApp {
    // Quiet by default: each test drops its database under a running pool,
    // which then logs the database unreachable (lines that are not failures).
    // FHIRGATE_LOG=debug cargo test ... shows everything.
    if std::env::var("FHIRGATE_LOG").is_err() && std::env::var("RUST_LOG").is_err() {
        std::env::set_var("FHIRGATE_LOG", "error,r2d2=off,fhirgate::store::health=off");
    }
    fhirgate::telemetry::init(fhirgate::telemetry::LogFormat::Text);
    let (server, model) = tokio::task::spawn_blocking(|| (server(), model()))
        .await
        .unwrap();
    let db_name = fresh_database(server).await;
    let db_url = with_database(&server.admin_url, &db_name).unwrap();
    let mut settings = test_settings(&db_url);
    configure(&mut settings);
    let key = KeyBytes::random().unwrap();
    let master_key_hex = hex::encode(key.0);
    let db = Db::connect(&db_url, settings.db_pool_size, None)
        .unwrap()
        .with_read_limit(settings.db_read_concurrency);
    let master = MasterKey::from_bytes(key);
    let app = match principal {
        Some(p) => Application::build_as(&settings, db, model, master, p).await,
        None => Application::build(&settings, db, model, master).await,
    }
    .unwrap();
    let port = app.port();
    let authority = app.authority();
    let ops_port = app.ops_port();
    let tenancy = app.tenancy();
    let mllp = app.mllp_ports();
    let mllp_tenants = app.mllp_tenant_ports();
    let ingest = app.ingestor();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let server_url = format!("http://127.0.0.1:{port}");
    TestApp {
        base: format!("{server_url}/fhir"),
        // Every request carries an operator's token that may do everything
        // (`system/*.cruds`); tests/api/smart*.rs test the tokens themselves.
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(bearer_headers(&system_token(&authority, "system/*.cruds")))
            .build()
            .unwrap(),
        authority,
        ops_port,
        tenancy,
        db_url,
        master_key_hex,
        server_url,
        db_name,
        handle,
        mllp,
        mllp_tenants,
        ingest,
    }
}

/// A clinic of a test gateway: its base and a client carrying a
/// `system/*.cruds` token of its own authorization server.
pub struct Clinic {
    pub slug: String,
    pub base: String,
    pub client: reqwest::Client,
    /// Its authorization server, for tests that mint other tokens (not every
    /// build of this test binary has one).
    #[allow(dead_code)]
    pub authority: Arc<fhirgate::auth::Authority>,
}

impl Clinic {
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        post_json_to(&self.client, self.url(path), body).await
    }

    /// Creates a resource at this clinic's base; its id.
    pub async fn create(&self, resource: &Value) -> String {
        created(self.post_json(resource_type(resource), resource).await)
            .await
            .0
    }
}

fn resource_type(resource: &Value) -> &str {
    resource["resourceType"].as_str().unwrap()
}

async fn post_json_to(client: &reqwest::Client, url: String, body: &Value) -> reqwest::Response {
    client
        .post(url)
        .header("content-type", FHIR_JSON)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// The (id, body) of a create's 201 answer.
async fn created(resp: reqwest::Response) -> (String, Value) {
    assert_eq!(resp.status(), 201, "create: {}", resp.text().await.unwrap());
    let body: Value = resp.json().await.unwrap();
    (body["id"].as_str().unwrap().to_owned(), body)
}

impl TestApp {
    /// Adds the clinic `slug` (as `fhirgate tenants add` does: a row of the
    /// tenants table) and waits until the gateway serves it.
    pub async fn add_clinic(&self, slug: &str) -> Clinic {
        let (url, id) = (self.db_url.clone(), slug.to_owned());
        tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&url).unwrap();
            diesel::sql_query("INSERT INTO tenants (id, name) VALUES ($1, $1)")
                .bind::<diesel::sql_types::Text, _>(&id)
                .execute(&mut conn)
                .unwrap();
        })
        .await
        .unwrap();
        self.tenancy.refresh().await.unwrap();
        self.clinic(slug).await
    }

    /// A clinic already served.
    pub async fn clinic(&self, slug: &str) -> Clinic {
        let tenant = fhirgate::tenant::TenantId::parse_slug(slug).unwrap();
        let site = self.tenancy.site(&tenant).await.unwrap();
        let authority = site.authority.clone();
        Clinic {
            slug: slug.to_owned(),
            base: format!("{}/t/{slug}/fhir", self.server_url),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(bearer_headers(&system_token(&authority, "system/*.cruds")))
                .build()
                .unwrap(),
            authority,
        }
    }
}

/// An operator token (`client_id` "test") with `scope`.
pub fn system_token(authority: &fhirgate::auth::Authority, scope: &str) -> String {
    authority
        .issue(fhirgate::auth::TokenSpec {
            sub: "test".into(),
            client_id: "test".into(),
            scope: scope.into(),
            ..Default::default()
        })
        .unwrap()
        .0
}

pub fn bearer_headers(token: &str) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    h
}

/// A new database cloned from the migrated template; its name.
async fn fresh_database(server: &'static Server) -> String {
    let db_name = format!("fhirgate_test_{}", uuid::Uuid::new_v4().simple());
    {
        let admin_url = server.admin_url.clone();
        let (template, name) = (server.template.clone(), db_name.clone());
        tokio::task::spawn_blocking(move || {
            let mut admin = PgConnection::establish(&admin_url).unwrap();
            // Two CREATE DATABASE .. TEMPLATE on one template at once can collide
            // ("source database is being accessed"); retry briefly.
            for attempt in 0.. {
                match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
                    .execute(&mut admin)
                {
                    Ok(_) => break,
                    Err(e) if attempt < 50 => {
                        let _ = e;
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    Err(e) => panic!("creating the test database: {e}"),
                }
            }
        })
        .await
        .unwrap();
    }
    db_name
}

/// The FHIR engine alone, over a fresh database: no HTTP server, no MLLP
/// listener (the engine's own tests). Dropping it drops the database.
pub struct TestEngine {
    pub engine: Arc<fhirgate::fhir::engine::Engine>,
    db_name: String,
    _writer: fhirgate::audit::AuditWriter,
}

impl Drop for TestEngine {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&server().admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.db_name
            ))
            .execute(&mut admin);
        }
    }
}

pub async fn spawn_engine() -> TestEngine {
    let (server, model) = tokio::task::spawn_blocking(|| (server(), model()))
        .await
        .unwrap();
    let db_name = fresh_database(server).await;
    let db_url = with_database(&server.admin_url, &db_name).unwrap();
    let db = Db::connect(&db_url, 4, None).unwrap();
    let keyring = Arc::new(fhirgate::crypto::Keyring::new(MasterKey::from_bytes(
        KeyBytes::random().unwrap(),
    )));
    let tenant = fhirgate::tenant::TenantId::default_tenant();
    {
        let (k, t) = (keyring.clone(), tenant.clone());
        db.run(move |conn| k.ensure_tenant(conn, t.as_str()))
            .await
            .unwrap();
    }
    let (audit, writer) = fhirgate::audit::AuditSink::start(db.clone(), keyring.clone(), tenant);
    let engine = fhirgate::fhir::engine::Engine::new(
        db,
        keyring,
        model,
        audit,
        fhirgate::fhir::engine::EngineLimits {
            max_bundle_entries: fhirgate::config::DEFAULT_MAX_BUNDLE_ENTRIES,
            max_json_nodes: fhirgate_validate::DEFAULT_MAX_NODES,
            rates: Default::default(),
        },
    );
    TestEngine {
        engine: Arc::new(engine),
        db_name,
        _writer: writer,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server (the command is sent at once; the future need not be
        // awaited), then drop the database here and now: work left on detached
        // threads can still be inside libpq when the test process exits.
        drop(self.handle.stop(false));
        if let Ok(mut admin) = PgConnection::establish(&server().admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.db_name
            ))
            .execute(&mut admin);
        }
    }
}

pub const FHIR_JSON: &str = "application/fhir+json";

impl TestApp {
    /// The plain MLLP listener's port.
    pub fn mllp_port(&self) -> u16 {
        self.mllp.plain.expect("the MLLP listener is on")
    }

    /// The HL7 ingest the listeners feed (for replay).
    pub fn ingestor(&self) -> std::sync::Arc<fhirgate::hl7::ingest::Ingestor> {
        self.ingest.clone()
    }

    /// The HTTP listener's port.
    pub fn http_port(&self) -> u16 {
        self.server_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port in the server URL")
    }

    /// The port of the MLLP listener of the tenant `slug` (`--mllp-tenant-addr`).
    pub fn mllp_tenant_port(&self, slug: &str) -> u16 {
        self.mllp_tenants
            .iter()
            .find(|(t, _)| t.as_str() == slug)
            .map(|(_, p)| *p)
            .expect("a listener for the tenant")
    }

    pub fn mllp_tls_port(&self) -> u16 {
        self.mllp.tls.expect("the MLLP TLS listener is on")
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') && !path.starts_with("/fhir") {
            format!("{}{path}", self.server_url)
        } else {
            format!(
                "{}/{}",
                self.base,
                path.trim_start_matches('/').trim_start_matches("fhir/")
            )
        }
    }

    /// GETs an absolute URL (a Bundle link) and parses the JSON body.
    pub async fn follow(&self, url: &str) -> Value {
        self.client
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// The JSON body of `GET path`, whatever the status.
    pub async fn get_value(&self, path: &str) -> Value {
        self.get(path).await.json().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        post_json_to(&self.client, self.url(path), body).await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .header("content-type", FHIR_JSON)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client.delete(self.url(path)).send().await.unwrap()
    }

    /// Creates a resource and returns (id, body).
    pub async fn create(&self, resource: &Value) -> (String, Value) {
        created(self.post_json(resource_type(resource), resource).await).await
    }

    /// A direct connection to this test's database.
    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.db_url).unwrap()
    }
}

/// The URL of a Bundle's `next` link.
pub fn next_link(bundle: &Value) -> String {
    bundle["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .expect("a next link")["url"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Asserts an OperationOutcome with the given status and returns it.
pub async fn assert_outcome(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status, "unexpected status");
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = resp.text().await.unwrap();
    assert!(
        ct.starts_with("application/fhir+json"),
        "content-type {ct} for {text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(v["resourceType"], "OperationOutcome", "{text}");
    assert!(
        v["issue"].as_array().is_some_and(|i| !i.is_empty()),
        "{text}"
    );
    v
}

pub fn patient(family: &str, mrn: &str) -> Value {
    serde_json::json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": mrn}],
        "name": [{"family": family, "given": ["Ada", "Marie"]}],
        "gender": "female",
        "birthDate": "1974-12-25",
        "telecom": [{"system": "phone", "value": "+61 3 5555 0142", "use": "home"}],
        "address": [{"line": ["534 Erewhon St"], "city": "PleasantVille", "postalCode": "3999"}]
    })
}
