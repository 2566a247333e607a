//! Refuses a state-changing request that another site sent, judged by its `Origin` header (or, without
//! one, its `Referer`), before any handler or CSRF check runs. Requests that name no site fall through to
//! the CSRF check: browsers send `Origin: null` for this app's own forms, because every page says
//! `Referrer-Policy: no-referrer`, and tools send neither header.
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The middleware: GET, HEAD, OPTIONS and TRACE pass; anything else must not name another site.
pub async fn same_site_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if !safe
        && let Some(claimed) = claimed_site(req.headers())
        && !is_this_site(&state, req.headers(), claimed.as_deref())
    {
        tracing::info!(method = %req.method(), "refused a request sent from another site");
        return AppError::CrossSite.into_response();
    }
    next.run(req).await
}

/// The site the request says it came from: `Some(None)` when the header is there but unreadable (a
/// browser never sends that, so it is treated as foreign); `None` when it names no site.
fn claimed_site(headers: &HeaderMap) -> Option<Option<String>> {
    let value = |name| {
        headers
            .get(name)
            .map(|v| v.to_str().map(str::trim).unwrap_or("\u{0}"))
    };
    let named = match value(header::ORIGIN) {
        Some(origin) if !origin.is_empty() && origin != "null" => origin,
        _ => value(header::REFERER).filter(|r| !r.is_empty())?,
    };
    Some(site_of(named))
}

/// `scheme://host[:port]` of a URL, lower-cased, without the scheme's default port.
fn site_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => "",
    };
    let authority = match authority.strip_suffix(default_port) {
        Some(host) if !default_port.is_empty() => host,
        _ => authority.as_str(),
    };
    Some(format!("{scheme}://{authority}"))
}

/// Whether `claimed` is this server: the scheme and `Host` the request arrived with (the scheme from the
/// proxy's `X-Forwarded-Proto` when `behind_proxy` is set, its last entry as for `X-Forwarded-For`), or
/// the configured `public_url`.
fn is_this_site(state: &AppState, headers: &HeaderMap, claimed: Option<&str>) -> bool {
    let Some(claimed) = claimed else {
        return false;
    };
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .filter(|_| state.config.behind_proxy);
    let scheme = forwarded.unwrap_or("http");
    let requested = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|host| site_of(&format!("{scheme}://{host}")));
    let public = site_of(&state.config.public_url);
    [requested, public]
        .iter()
        .flatten()
        .any(|ours| ours == claimed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_are_scheme_host_and_port_without_the_default_port() {
        assert_eq!(
            site_of("HTTPS://Study.Example.org:443/login?x=1").as_deref(),
            Some("https://study.example.org")
        );
        assert_eq!(
            site_of("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            site_of("http://example.org:80").as_deref(),
            Some("http://example.org")
        );
        assert_ne!(
            site_of("https://example.org"),
            site_of("http://example.org")
        );
        assert_eq!(site_of("not a url"), None);
        assert_eq!(site_of("http://user@evil.example/"), None);
    }

    #[test]
    fn null_or_missing_origins_name_no_site_and_a_referer_stands_in() {
        let mut h = HeaderMap::new();
        assert_eq!(claimed_site(&h), None);
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert_eq!(claimed_site(&h), None);
        h.insert(
            header::REFERER,
            "https://evil.example/page".parse().unwrap(),
        );
        assert_eq!(
            claimed_site(&h),
            Some(Some("https://evil.example".to_string()))
        );
        h.insert(header::ORIGIN, "https://other.example".parse().unwrap());
        assert_eq!(
            claimed_site(&h),
            Some(Some("https://other.example".to_string()))
        );
    }
}
