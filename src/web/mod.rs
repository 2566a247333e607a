//! The only layer that knows HTTP: the router, page contexts, flash messages and security headers.
pub mod admin;
pub mod analysis;
pub mod auth;
pub mod baseline;
pub mod cohorts;
pub mod collection;
pub mod export;
pub mod extract;
pub mod messages;
pub mod origin;
pub mod paging;
pub mod participant;
pub mod privacy;
pub mod report;
pub mod roster;
pub mod sample;
pub mod staff;
pub mod studies;
pub mod tco;
pub mod usage;
pub mod waves;

use crate::auth::extract::Staff;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use tower_http::set_header::SetResponseHeaderLayer;

/// Largest ordinary form body.
pub const FORM_LIMIT: usize = 64 * 1024;
/// Largest upload (a 100,000-row roster is about 8 MB).
pub const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

/// Every route of the application.
pub fn router(state: AppState) -> Router {
    let uploads = Router::new()
        .route("/studies/{id}/roster", post(roster::roster_import))
        .route("/studies/{id}/usage", post(usage::usage_import))
        .route("/studies/{id}/usage/preview", post(usage::usage_preview))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT));
    // Every route of one study: the gate settles the study and the caller's grant first (404 without one).
    let study = Router::new()
        .route("/studies/{id}", get(studies::show))
        .route(
            "/studies/{id}/edit",
            get(studies::edit_page).post(studies::update),
        )
        .route("/studies/{id}/phases", post(studies::phases))
        .route("/studies/{id}/status", post(studies::status))
        .route("/studies/{id}/approvals", post(studies::add_approval))
        .route(
            "/studies/{id}/approvals/{item}",
            post(studies::record_approval),
        )
        .route(
            "/studies/{id}/access",
            get(staff::access_page).post(staff::grant),
        )
        .route("/studies/{id}/access/revoke", post(staff::revoke))
        .route(
            "/studies/{id}/privacy",
            get(privacy::page).post(privacy::save),
        )
        .route("/studies/{id}/privacy/purge", post(privacy::purge))
        .route("/studies/{id}/roster", get(roster::roster_page))
        // ---- import templates (issue 14) ----
        .route(
            "/studies/{id}/roster/template.csv",
            get(roster::roster_template),
        )
        .route(
            "/studies/{id}/usage/template.csv",
            get(usage::usage_template),
        )
        .route("/studies/{id}/usage", get(usage::usage_page))
        .route("/studies/{id}/usage/conversion", post(usage::conversion))
        .route("/studies/{id}/usage/confirm", post(usage::usage_confirm))
        .route(
            "/studies/{id}/cohorts",
            get(cohorts::cohorts_page).post(cohorts::cohort_settings),
        )
        .route(
            "/studies/{id}/sample",
            get(sample::sample_page).post(sample::draw),
        )
        .route("/studies/{id}/sample/discard", post(sample::discard))
        .route("/studies/{id}/invitations", post(studies::invite))
        .route("/studies/{id}/collection", get(collection::dashboard))
        .route("/studies/{id}/baseline", get(baseline::page))
        .route("/studies/{id}/analysis", get(analysis::page))
        .route(
            "/studies/{id}/export",
            get(export::page).post(export::download),
        )
        .route("/studies/{id}/report", get(report::page))
        .route("/studies/{id}/readout", get(report::readout))
        .route("/studies/{id}/economics", post(report::economics))
        .route("/studies/{id}/releases", post(report::release))
        .route("/studies/{id}/tco", get(tco::page))
        .route("/studies/{id}/tco/unit", post(tco::unit))
        .route("/studies/{id}/tco/line", post(tco::line))
        .route("/studies/{id}/tco/class", post(tco::class))
        .route(
            "/studies/{id}/baseline/historical",
            post(baseline::historical),
        )
        .route("/studies/{id}/baseline/expert", post(baseline::expert))
        .route("/studies/{id}/baseline/delete", post(baseline::delete))
        .route("/studies/{id}/baseline/control", post(baseline::control))
        .route(
            "/studies/{id}/collection/settings",
            post(collection::edit_settings),
        )
        .route(
            "/studies/{id}/instrument",
            get(collection::instrument_page).post(collection::edit_instrument),
        )
        // ---- dashboard: nudges, and removal and erasure each behind its confirmation page ----
        .route(
            "/studies/{id}/participants/{pid}/nudge",
            post(collection::nudge),
        )
        .route(
            "/studies/{id}/participants/{pid}/remove",
            get(collection::confirm_page::<false>).post(collection::remove),
        )
        .route(
            "/studies/{id}/participants/{pid}/erase",
            get(collection::confirm_page::<true>).post(collection::erase),
        )
        // ---- messages ----
        .route("/studies/{id}/messages", get(messages::page))
        .route("/studies/{id}/messages/sender", post(messages::sender))
        .route("/studies/{id}/messages/{message}", post(messages::save))
        .route(
            "/studies/{id}/messages/{message}/preview",
            get(messages::preview),
        )
        .route(
            "/studies/{id}/messages/{message}/test",
            post(messages::test_send),
        )
        .route("/studies/{id}/preview/{page}", get(messages::participant))
        // ---- guards ----
        // Every irreversible step has a confirmation page (GET) in front of its form (POST).
        .route("/studies/{id}/status", get(studies::status_page))
        .route("/studies/{id}/invitations", get(studies::invite_page))
        .route("/studies/{id}/privacy/purge", get(privacy::purge_page))
        .route(
            "/studies/{id}/back",
            get(studies::back_page).post(studies::back),
        )
        .route(
            "/studies/{id}/extend",
            get(studies::extend_page).post(studies::extend),
        )
        .route(
            "/studies/{id}/close-early",
            get(studies::close_early_page).post(studies::close_early),
        )
        .route(
            "/studies/{id}/cancel",
            get(studies::cancel_page).post(studies::cancel),
        )
        .route(
            "/studies/{id}/archive",
            get(studies::archive_page).post(studies::archive),
        )
        // ---- end guards ----
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .merge(uploads)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            extract::study_gate,
        ));
    Router::new()
        .route("/", get(|| async { Redirect::to("/studies") }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/setup/{token}", get(auth::setup_page).post(auth::setup))
        .route("/welcome/{token}", get(staff::welcome_page).post(staff::welcome))
        .route("/studies", get(studies::list).post(studies::create))
        .route("/studies/new", get(studies::new_page))
        .route("/p/{token}", get(participant::open))
        .route("/p/{token}/consent", post(participant::consent))
        .route("/p/{token}/withdraw", get(participant::withdraw_page).post(participant::withdraw))
        .route("/p/{token}/diary", post(participant::diary_add))
        .route("/p/{token}/diary/{id}", post(participant::diary_edit))
        .route("/p/{token}/diary/{id}/edit", get(participant::diary_edit_page))
        .route("/p/{token}/ping/{ping}", post(participant::answer))
        .route("/waves", get(waves::page))
        // ---- dashboard: the audit log and its CSV ----
        .route("/admin/audit", get(admin::audit))
        .route("/admin/audit.csv", get(admin::audit_csv))
        .route("/admin/users", get(staff::users).post(staff::invite))
        .route("/admin/users/{user}/role", post(staff::role))
        .route("/admin/users/{user}/disable", post(staff::disable))
        .route("/admin/users/{user}/enable", post(staff::enable))
        .route("/admin/users/{user}/delete", post(staff::delete))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .merge(study)
        .route("/static/style.css", get(stylesheet))
        .route("/static/print.css", get(print_stylesheet))
        .fallback(|| async { crate::error::AppError::NotFound })
        .layer(axum::middleware::from_fn_with_state(state.clone(), origin::same_site_only))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .with_state(state)
}

/// The stylesheet, built into the binary so it runs from any folder.
async fn stylesheet() -> impl axum::response::IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/style.css"),
    )
}

/// The executive readout's print stylesheet.
async fn print_stylesheet() -> impl axum::response::IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/print.css"),
    )
}

/// A form's refusals, each tied to the field to mark (`""` for the form as a whole): the summary lists them
/// with links to their fields, and each field carries its own message (`aria-describedby`, WCAG 3.3.1).
#[derive(Clone, Debug, Default)]
pub(crate) struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    /// No refusal.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The message for `field`, or `""`.
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .unwrap_or("")
    }
    /// All (field, message) pairs, in the form's order.
    pub fn all(&self) -> &[(String, String)] {
        &self.0
    }
}

/// A message shown once on the next page.
#[derive(Clone, Debug)]
pub struct Flash {
    /// `notice` or `error` (a CSS class).
    pub kind: &'static str,
    /// The text (escaped when shown).
    pub text: String,
    /// The form control an error is about (its `id`), or `""`: the message links to it and the control
    /// is marked on the page (`aria-invalid`, `aria-describedby`).
    pub field: String,
}

/// What the base template needs on every page.
pub struct PageCtx {
    /// The signed-in person's email, if any.
    pub email: String,
    /// Whether someone is signed in.
    pub signed_in: bool,
    /// Whether they are an admin.
    pub is_admin: bool,
    /// Their role's name.
    pub role: &'static str,
    /// The CSRF token for the page's forms.
    pub csrf: String,
    /// A one-time message.
    pub flash: Option<Flash>,
}

const FLASH_COOKIE: &str = "layer2_flash";

impl PageCtx {
    /// The context for a staff page; takes (and clears) the flash message.
    pub fn staff(staff: &Staff, jar: CookieJar) -> (CookieJar, PageCtx) {
        let (jar, flash) = take_flash(jar);
        let ctx = PageCtx {
            email: staff.email.clone(),
            signed_in: true,
            is_admin: staff.is_admin(),
            role: staff.role.as_str(),
            csrf: staff.csrf.clone(),
            flash,
        };
        (jar, ctx)
    }

    /// The context for a page seen before signing in.
    pub fn anonymous(csrf: String, flash: Option<Flash>) -> PageCtx {
        PageCtx {
            email: String::new(),
            signed_in: false,
            is_admin: false,
            role: "",
            csrf,
            flash,
        }
    }

    /// The error message about the numbered control `{prefix}{n}` (rows of a form made in a loop), or `""`.
    pub fn err_at(&self, prefix: &str, n: usize) -> &str {
        self.err_of(prefix, &n.to_string())
    }

    /// The error message about the control whose id is `{a}{b}` (ids made in a template), or `""`.
    pub fn err_of(&self, a: &str, b: &str) -> &str {
        match &self.flash {
            Some(f) if f.field.strip_prefix(a) == Some(b) => self.err(&f.field),
            _ => "",
        }
    }

    /// The error message about the form control `field`, or `""` (templates mark the control with it).
    pub fn err(&self, field: &str) -> &str {
        match &self.flash {
            Some(f) if f.kind == "error" && !f.field.is_empty() && f.field == field => &f.text,
            _ => "",
        }
    }
}

fn hex_decode(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) || s.len() > 4000 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// Sets a one-time message for the next page (hex-encoded: cookie values cannot hold arbitrary text).
pub fn set_flash(jar: CookieJar, kind: &'static str, text: impl AsRef<str>) -> CookieJar {
    let value = format!(
        "{}{}",
        if kind == "error" { "e" } else { "n" },
        crate::auth::token::hex(text.as_ref().as_bytes())
    );
    put_flash(jar, value)
}

/// Sets a one-time error about the form control `field` (an identifier: letters, digits, `_`, `-`).
pub fn set_field_flash(jar: CookieJar, field: &str, text: impl AsRef<str>) -> CookieJar {
    let value = format!(
        "f{}.{}",
        crate::auth::token::hex(field.as_bytes()),
        crate::auth::token::hex(text.as_ref().as_bytes())
    );
    put_flash(jar, value)
}

fn put_flash(jar: CookieJar, value: String) -> CookieJar {
    jar.add(
        Cookie::build((FLASH_COOKIE, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .build(),
    )
}

pub(crate) fn take_flash(jar: CookieJar) -> (CookieJar, Option<Flash>) {
    let Some(c) = jar.get(FLASH_COOKIE) else {
        return (jar, None);
    };
    let v = c.value();
    let flash = match v.split_at_checked(1) {
        Some(("e", rest)) => hex_decode(rest).map(|text| Flash {
            kind: "error",
            text,
            field: String::new(),
        }),
        Some(("f", rest)) => rest.split_once('.').and_then(|(field, text)| {
            let field = hex_decode(field).filter(|f| {
                f.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })?;
            Some(Flash {
                kind: "error",
                text: hex_decode(text)?,
                field,
            })
        }),
        Some(("n", rest)) => hex_decode(rest).map(|text| Flash {
            kind: "notice",
            text,
            field: String::new(),
        }),
        _ => None,
    };
    let mut removal = Cookie::build((FLASH_COOKIE, "")).path("/").build();
    removal.make_removal();
    (jar.add(removal), flash)
}

/// Redirects (303) with a notice.
pub fn notice(jar: CookieJar, to: &str, text: impl AsRef<str>) -> (CookieJar, Redirect) {
    (set_flash(jar, "notice", text), Redirect::to(to))
}

/// Number formats for tables live with the reports; pages use the same ones.
pub use crate::reports::text::{pct, thousands};

/// After a form action: a notice on success; the user-facing refusal as an error flash (nothing changed);
/// internal errors go up to the error page.
pub fn outcome(
    result: crate::error::Result<()>,
    jar: CookieJar,
    back: &str,
    ok: impl AsRef<str>,
) -> crate::error::Result<axum::response::Response> {
    use crate::error::AppError;
    use axum::response::IntoResponse;
    match result {
        Ok(()) => Ok(notice(jar, back, ok).into_response()),
        Err(AppError::BadRequest(m) | AppError::Conflict(m)) => {
            Ok((set_flash(jar, "error", m), Redirect::to(back)).into_response())
        }
        Err(AppError::Field { field, message }) => {
            Ok((set_field_flash(jar, field, message), Redirect::to(back)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_text_survives_the_cookie_round_trip() {
        let text = "Imported 3 employees; <b>é</b>";
        assert_eq!(
            hex_decode(&crate::auth::token::hex(text.as_bytes())).as_deref(),
            Some(text)
        );
        assert_eq!(hex_decode("zz"), None);
    }

    #[test]
    fn a_field_error_names_its_control_after_the_round_trip_and_a_forged_field_is_dropped() {
        let jar = set_field_flash(
            CookieJar::new(),
            "seat_price",
            "The seat price: enter a number.",
        );
        let (_, flash) = take_flash(jar);
        let f = flash.unwrap();
        assert_eq!((f.kind, f.field.as_str()), ("error", "seat_price"));
        let ctx = PageCtx::anonymous(String::new(), Some(f));
        assert_eq!(ctx.err("seat_price"), "The seat price: enter a number.");
        assert_eq!(ctx.err("seats"), "");
        // A cookie edited to carry markup as the field name is not trusted as an id.
        let jar = set_field_flash(CookieJar::new(), "x\"><b", "text");
        assert!(take_flash(jar).1.is_none());
    }

    /// WCAG 2.1 relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let c = |i: usize| {
            let v = u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap() as f64 / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * c(0) + 0.7152 * c(1) + 0.0722 * c(2)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (a, b) = (luminance(a), luminance(b));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// WCAG 1.4.11: field borders and every focus ring stand out 3:1 from the white cards and the grey page.
    #[test]
    fn field_borders_and_focus_rings_have_three_to_one_contrast() {
        let css = include_str!("../../static/style.css");
        let colour = |rule: &str, prop: &str| -> Vec<String> {
            css.lines()
                .filter(|l| l.contains(rule) && l.contains(prop))
                .filter_map(|l| {
                    let at = l.find(prop)? + prop.len();
                    let hex = l[at..].split([';', ' ']).find(|w| w.starts_with('#'))?;
                    Some(hex.to_string())
                })
                .collect()
        };
        let borders = colour("input, select, textarea", "border: 1px solid");
        let rings = colour(":focus", "outline: 3px solid");
        assert!(
            !borders.is_empty() && rings.len() >= 2,
            "{borders:?} {rings:?}"
        );
        for c in borders.iter().chain(&rings) {
            for bg in ["#ffffff", "#f6f7f9"] {
                let r = contrast(c, bg);
                assert!(r >= 3.0, "{c} on {bg}: {r:.2}:1");
            }
        }
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(100000), "100,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(-1234), "-1,234");
    }
}
