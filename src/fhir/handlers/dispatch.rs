//! Dispatch of the `[base]/[type]...` paths (http://hl7.org/fhir/R4/http.html#summary)
//! by splitting the path into segments, instead of one actix route per shape.
//!
//! actix-router compiles every pattern with a `{param}` into a regex and tries
//! them in registration order: a read ran six of them before its own matched,
//! a quarter of the HTTP worker's CPU under read load (perf, docs/performance.md,
//! session 6). The static paths (`metadata`, `_history`, `Patient/$everything`,
//! the base) stay actix routes; everything else lands here.

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use percent_encoding::percent_decode_str;

use super::common::{method_not_allowed, not_found_in};
use super::{create, delete, history, operations, patch, read, search, update};

use crate::fhir::context::Site;

/// The interaction a path and method name, with the path's segments.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Search(String),
    Create(String),
    ConditionalUpdate(String),
    ConditionalDelete(String),
    SearchPost(String),
    HistoryType(String),
    Read(String, String),
    Update(String, String),
    Patch(String, String),
    Delete(String, String),
    HistoryInstance(String, String),
    Everything(String),
    Vread(String, String, String),
    MethodNotAllowed,
    NotFound,
}

/// The route of `path` (what follows `[base]`) for `method`. Segments are
/// percent-decoded like actix's path parameters; an empty segment or one that is
/// not UTF-8 matches nothing.
fn route(method: &Method, path: &str) -> Route {
    let segs: Option<Vec<String>> = path
        .strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .map(|s| {
            percent_decode_str(s)
                .decode_utf8()
                .ok()
                .filter(|d| !d.is_empty())
                .map(|d| d.into_owned())
        })
        .collect();
    let Some(segs) = segs else {
        return Route::NotFound;
    };
    let m = |want: Method, r: Route| {
        if *method == want {
            r
        } else {
            Route::MethodNotAllowed
        }
    };
    match segs.as_slice() {
        [t] => match *method {
            Method::GET => Route::Search(t.clone()),
            Method::POST => Route::Create(t.clone()),
            Method::PUT => Route::ConditionalUpdate(t.clone()),
            Method::DELETE => Route::ConditionalDelete(t.clone()),
            _ => Route::MethodNotAllowed,
        },
        [t, op] if op == "_history" => m(Method::GET, Route::HistoryType(t.clone())),
        [t, op] if op == "_search" => m(Method::POST, Route::SearchPost(t.clone())),
        [t, id] => match *method {
            Method::GET => Route::Read(t.clone(), id.clone()),
            Method::PUT => Route::Update(t.clone(), id.clone()),
            Method::PATCH => Route::Patch(t.clone(), id.clone()),
            Method::DELETE => Route::Delete(t.clone(), id.clone()),
            _ => Route::MethodNotAllowed,
        },
        [t, id, op] if op == "_history" => {
            m(Method::GET, Route::HistoryInstance(t.clone(), id.clone()))
        }
        [t, id, op] if t == "Patient" && op == "$everything" => {
            m(Method::GET, Route::Everything(id.clone()))
        }
        [t, id, op, vid] if op == "_history" => m(
            Method::GET,
            Route::Vread(t.clone(), id.clone(), vid.clone()),
        ),
        _ => Route::NotFound,
    }
}

/// The `default_service` of the FHIR scope.
pub async fn dispatch(req: HttpRequest, state: Site, payload: web::Payload) -> HttpResponse {
    let path = req.match_info().unprocessed().to_owned();
    match route(req.method(), &path) {
        Route::Search(t) => search::search_get(req, state, t).await,
        Route::Create(t) => create::create(req, state, t, payload).await,
        Route::ConditionalUpdate(t) => update::conditional_update(req, state, t, payload).await,
        Route::ConditionalDelete(t) => delete::conditional_delete(req, state, t).await,
        Route::SearchPost(t) => search::search_post(req, state, t, payload).await,
        Route::HistoryType(t) => history::type_level(req, state, t).await,
        Route::Read(t, id) => read::read(req, state, t, id).await,
        Route::Update(t, id) => update::update(req, state, t, id, payload).await,
        Route::Patch(t, id) => patch::patch(req, state, t, id, payload).await,
        Route::Delete(t, id) => delete::delete(req, state, t, id).await,
        Route::HistoryInstance(t, id) => history::instance(req, state, t, id).await,
        Route::Everything(id) => operations::everything_instance(req, state, id).await,
        Route::Vread(t, id, v) => read::vread(req, state, t, id, v).await,
        Route::MethodNotAllowed => method_not_allowed(req, state).await,
        Route::NotFound => not_found_in(req, state).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_owned()
    }

    #[test]
    fn shapes_of_http_summary() {
        let get = Method::GET;
        assert_eq!(route(&get, "/Patient"), Route::Search(s("Patient")));
        assert_eq!(
            route(&Method::POST, "/Patient"),
            Route::Create(s("Patient"))
        );
        assert_eq!(route(&get, "/Patient/1"), Route::Read(s("Patient"), s("1")));
        assert_eq!(
            route(&Method::PATCH, "/Patient/1"),
            Route::Patch(s("Patient"), s("1"))
        );
        assert_eq!(
            route(&get, "/Patient/_history"),
            Route::HistoryType(s("Patient"))
        );
        assert_eq!(route(&get, "/Patient/_search"), Route::MethodNotAllowed);
        assert_eq!(
            route(&Method::POST, "/Patient/_search"),
            Route::SearchPost(s("Patient"))
        );
        assert_eq!(
            route(&get, "/Patient/1/_history"),
            Route::HistoryInstance(s("Patient"), s("1"))
        );
        assert_eq!(
            route(&get, "/Patient/1/_history/2"),
            Route::Vread(s("Patient"), s("1"), s("2"))
        );
        assert_eq!(
            route(&Method::PUT, "/Patient/1/_history/2"),
            Route::MethodNotAllowed
        );
        assert_eq!(
            route(&get, "/Patient/1/$everything"),
            Route::Everything(s("1"))
        );
        assert_eq!(route(&get, "/Observation/1/$everything"), Route::NotFound);
        assert_eq!(route(&Method::HEAD, "/Patient/1"), Route::MethodNotAllowed);
    }

    #[test]
    fn segments_are_decoded_and_never_empty() {
        let get = Method::GET;
        assert_eq!(
            route(&get, "/Patient/a%2Db"),
            Route::Read(s("Patient"), s("a-b"))
        );
        assert_eq!(route(&get, "/Patient/1/"), Route::NotFound);
        assert_eq!(route(&get, "/Patient//1"), Route::NotFound);
        assert_eq!(route(&get, "/Patient/%FF"), Route::NotFound);
        assert_eq!(route(&get, "/a/b/c/d/e"), Route::NotFound);
    }
}
