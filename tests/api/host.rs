//! The base URL of links, Location and fullUrl is not the client's to choose
//! (issue #15, "HTTP details"): a configured base URL is always used; without
//! one, a Host that is not the listening address (or an allowed host) gets a
//! 400 OperationOutcome (http://hl7.org/fhir/R4/http.html#2.21.0.17), and
//! forwarding headers are not trusted.

use serde_json::Value;

use crate::helpers::*;

fn port(app: &TestApp) -> u16 {
    app.base
        .trim_end_matches("/fhir")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Every URL the server wrote into a searchset and a create's Location.
async fn urls_written(app: &TestApp, host: &str, extra: &[(&str, &str)]) -> Vec<String> {
    let mut urls = Vec::new();
    let mut create = app
        .client
        .post(app.url("Patient"))
        .header("host", host)
        .header("content-type", FHIR_JSON)
        .body(patient("Hosted", "H-1").to_string());
    for (k, v) in extra {
        create = create.header(*k, *v);
    }
    let r = create.send().await.unwrap();
    assert_eq!(r.status(), 201, "{host}: {}", r.text().await.unwrap());
    urls.push(r.headers()["location"].to_str().unwrap().to_owned());
    let mut search = app
        .client
        .get(app.url("Patient?family=hosted"))
        .header("host", host);
    for (k, v) in extra {
        search = search.header(*k, *v);
    }
    let r = search.send().await.unwrap();
    assert_eq!(r.status(), 200);
    let bundle: Value = r.json().await.unwrap();
    for l in bundle["link"].as_array().unwrap() {
        urls.push(l["url"].as_str().unwrap().to_owned());
    }
    for e in bundle["entry"].as_array().unwrap() {
        urls.push(e["fullUrl"].as_str().unwrap().to_owned());
    }
    urls
}

#[tokio::test]
async fn an_unknown_host_is_refused_and_not_echoed() {
    let app = spawn_app().await;
    for path in ["Patient?family=x", "metadata", "Patient"] {
        let req = if path == "Patient" {
            app.client
                .post(app.url(path))
                .header("content-type", FHIR_JSON)
                .body(patient("Evil", "E-1").to_string())
        } else {
            app.client.get(app.url(path))
        };
        let r = req.header("host", "evil.example").send().await.unwrap();
        let oo = assert_outcome(r, 400).await;
        assert!(!oo.to_string().contains("evil"), "{oo}");
    }
    // The right port on another name, and the right name on another port, too.
    let p = port(&app);
    for host in [format!("evil.example:{p}"), format!("127.0.0.1:{}", p ^ 1)] {
        let r = app
            .client
            .get(app.url("Patient"))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_outcome(r, 400).await;
    }
    // Nothing was created under the refused Host.
    let all = app.get_value("Patient?family=evil").await;
    assert_eq!(all["total"], 0, "{all}");
}

#[tokio::test]
async fn the_listening_address_in_any_loopback_form_is_used_as_given() {
    let app = spawn_app().await;
    let p = port(&app);
    for host in [format!("127.0.0.1:{p}"), format!("localhost:{p}")] {
        // Forwarding headers are anyone's to send: not read.
        let forwarded = [
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "https"),
            ("forwarded", "host=evil.example;proto=https"),
        ];
        for url in urls_written(&app, &host, &forwarded).await {
            assert!(
                url.starts_with(&format!("http://{host}/fhir/Patient")),
                "{url}"
            );
        }
    }
}

/// A listener bound to every interface (the Docker image's `0.0.0.0:8080`):
/// the address a request came in on is the connection's, not `0.0.0.0`.
#[tokio::test]
async fn a_listener_on_every_interface_answers_to_the_address_used() {
    let app = spawn_app_with(|s| s.http_addr = "0.0.0.0:0".parse().unwrap()).await;
    let p = port(&app);
    for host in [format!("127.0.0.1:{p}"), format!("localhost:{p}")] {
        for url in urls_written(&app, &host, &[]).await {
            assert!(
                url.starts_with(&format!("http://{host}/fhir/Patient")),
                "{url}"
            );
        }
    }
    let other = app
        .client
        .get(app.url("Patient"))
        .header("host", format!("evil.example:{p}"))
        .send()
        .await
        .unwrap();
    assert_outcome(other, 400).await;
}

#[tokio::test]
async fn an_allowed_host_is_used() {
    let app = spawn_app_with(|s| {
        s.allowed_hosts = vec!["fhir.example.org".into(), "other.example:8443".into()];
    })
    .await;
    for host in [
        "fhir.example.org",
        "FHIR.example.org:1234",
        "other.example:8443",
    ] {
        let want = format!("http://{}/fhir/Patient", host.to_ascii_lowercase());
        for url in urls_written(&app, host, &[]).await {
            assert!(url.starts_with(&want), "{url}");
        }
    }
    for host in ["other.example:8444", "other.example", "evil.example"] {
        let r = app
            .client
            .get(app.url("Patient"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_outcome(r, 400).await;
    }
}

#[tokio::test]
async fn a_configured_base_url_is_used_whatever_the_host() {
    let app = spawn_app_with(|s| s.base_url = Some("https://fhir.example.com/r4/".into())).await;
    let forwarded = [("x-forwarded-host", "evil.example")];
    for url in urls_written(&app, "evil.example", &forwarded).await {
        assert!(
            url.starts_with("https://fhir.example.com/r4/Patient"),
            "{url}"
        );
    }
}
