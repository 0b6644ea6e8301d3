//! The Resident Portal: server-rendered pages (askama) on GOV.UK Frontend's styles, in English, French
//! and Arabic (right to left), every text from the Fluent catalogues in `locales/`. Every action works
//! without JavaScript (there is none). Sessions live in the database (any replica serves any request);
//! every form carries a CSRF token; the pages send a strict Content-Security-Policy.

mod pages;

pub(crate) use pages::throttled_page;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use fluent_templates::{Loader, static_loader};
use resident_domain::audit::AuditContext;
use resident_domain::ports::{PortalSession, Resolved};
use unic_langid::LanguageIdentifier;

use crate::AppState;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // the Unicode isolation marks Fluent puts around arguments are left out: our arguments are
        // numbers and names the page already isolates where it matters
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// What the deployment sets for the portal.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    /// The issuing authority's name per MOSIP language code, shown in the header.
    pub authority: BTreeMap<String, String>,
    /// `#rrggbb`, the header colour.
    pub colour: String,
    /// Send cookies with `Secure` (leave on behind TLS; off only for plain-HTTP testing on a LAN).
    pub secure_cookie: bool,
    pub idle: Duration,
    pub absolute: Duration,
    /// The authority's logo (PNG, JPEG or SVG) and its content type, shown in the header.
    pub logo: Option<(Vec<u8>, &'static str)>,
    /// Arabic pages write numbers with Arabic-Indic digits (٠١٢…, CLDR's default for `ar`); off for
    /// countries that write Arabic with Western digits (the Maghreb).
    pub arabic_digits: bool,
}

/// What a resident typed into a number field, as ASCII digits: spaces dropped, and Arabic-Indic
/// (٠–٩) or Persian (۰–۹) digits, which an Arabic phone keyboard types, read as 0–9.
pub(crate) fn typed_digits(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06f0}'..='\u{06f9}' => char::from(b'0' + (c as u32 - 0x06f0) as u8),
            other => other,
        })
        .collect()
}

/// The calendar day of a moment in the residents' time zone.
pub(crate) fn local_day(tz: &jiff::tz::TimeZone, at: time::OffsetDateTime) -> Option<time::Date> {
    let d = resident_domain::clock::local(tz, at)?.date();
    let month = time::Month::try_from(u8::try_from(d.month()).ok()?).ok()?;
    time::Date::from_calendar_date(i32::from(d.year()), month, u8::try_from(d.day()).ok()?).ok()
}

/// The resident logged in to the portal with this request's session cookie, if any.
pub(crate) async fn session_resident(state: &AppState, headers: &HeaderMap) -> Option<Resolved> {
    Visit::new(state, headers, None).await.who(state).await
}

/// The first moment of a calendar day in the residents' time zone.
pub(crate) fn day_start(tz: &jiff::tz::TimeZone, day: time::Date) -> Option<time::OffsetDateTime> {
    let d = jiff::civil::Date::new(i16::try_from(day.year()).ok()?, day.month() as i8, day.day() as i8).ok()?;
    let ts = tz.to_timestamp(d.to_datetime(jiff::civil::Time::midnight())).ok()?;
    time::OffsetDateTime::from_unix_timestamp(ts.as_second()).ok()
}

/// An IANA time zone (`Africa/Casablanca`, `UTC`), or `None` if there is no such zone.
pub fn time_zone(name: &str) -> Option<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name).ok()
}

/// A logo file's content type, judged by its bytes: PNG, JPEG or SVG; anything else is refused.
pub fn logo_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
        (head.contains("<svg")).then_some("image/svg+xml")
    }
}

impl Default for PortalSettings {
    fn default() -> Self {
        PortalSettings {
            authority: BTreeMap::from([("eng".into(), "Resident Services".into())]),
            colour: "#14467a".into(),
            secure_cookie: true,
            idle: Duration::from_secs(15 * 60),
            absolute: Duration::from_secs(8 * 3600),
            logo: None,
            arabic_digits: true,
        }
    }
}

/// A portal language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
    Ar,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Ar];

    pub fn html(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Ar => "ar",
        }
    }

    /// MOSIP's code (`eng`, `fra`, `ara`).
    pub fn mosip(self) -> &'static str {
        match self {
            Lang::En => "eng",
            Lang::Fr => "fra",
            Lang::Ar => "ara",
        }
    }

    pub fn dir(self) -> &'static str {
        if self == Lang::Ar { "rtl" } else { "ltr" }
    }

    fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Ar => "العربية",
        }
    }

    fn parse(code: &str) -> Option<Lang> {
        let code = code.trim().to_ascii_lowercase();
        let primary = code.split(['-', '_']).next().unwrap_or_default();
        match primary {
            "en" | "eng" => Some(Lang::En),
            "fr" | "fra" | "fre" => Some(Lang::Fr),
            "ar" | "ara" => Some(Lang::Ar),
            _ => None,
        }
    }

    fn langid(self) -> LanguageIdentifier {
        match self {
            Lang::En => unic_langid::langid!("en"),
            Lang::Fr => unic_langid::langid!("fr"),
            Lang::Ar => unic_langid::langid!("ar"),
        }
    }
}

/// Everything the layout needs, and the translator.
pub struct Page {
    pub lang: Lang,
    pub csrf: String,
    pub logged_in: bool,
    pub authority: String,
    /// The notifications link, with the number of unseen ones.
    pub bell: String,
    pub has_logo: bool,
    pub time_zone: jiff::tz::TimeZone,
    /// Digits in the language's own script (Arabic-Indic on Arabic pages, unless configured off).
    pub native_digits: bool,
}

impl Page {
    pub fn t(&self, key: &str) -> String {
        LOCALES.lookup(&self.lang.langid(), key)
    }

    pub fn ta(&self, key: &str, args: &[(&'static str, String)]) -> String {
        self.tc(key, args, &[])
    }

    /// `ta` with counts: each count is shown as `$name` (written as the language writes numbers) and
    /// given as the number `$nameCount` for the catalogue's plural choice (Arabic has six forms).
    pub fn tc(&self, key: &str, args: &[(&'static str, String)], counts: &[(&'static str, i64)]) -> String {
        use fluent_templates::fluent_bundle::FluentValue;
        let mut map: HashMap<std::borrow::Cow<'static, str>, FluentValue> =
            args.iter().map(|(k, v)| (std::borrow::Cow::Borrowed(*k), FluentValue::from(v.clone()))).collect();
        for (name, n) in counts {
            map.insert(std::borrow::Cow::Borrowed(*name), FluentValue::from(self.number(*n)));
            map.insert(std::borrow::Cow::Owned(format!("{name}Count")), FluentValue::from(*n));
        }
        LOCALES.lookup_with_args(&self.lang.langid(), key, &map)
    }

    /// Digits as the language writes them (identifiers such as UINs and RIDs are not passed
    /// through this: they stay as typed).
    pub fn digits(&self, text: &str) -> String {
        if !self.native_digits {
            return text.to_owned();
        }
        text.chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => char::from_u32(0x0660 + d).unwrap_or(c),
                None => c,
            })
            .collect()
    }

    /// A count with the language's digit grouping: 12,345 · 12 345 · ١٢٬٣٤٥.
    pub fn number(&self, n: i64) -> String {
        let separator = match (self.lang, self.native_digits) {
            (Lang::En, _) | (Lang::Ar, false) => ",",
            (Lang::Fr, _) => "\u{202f}",
            (Lang::Ar, true) => "\u{066c}",
        };
        let raw = n.unsigned_abs().to_string();
        let mut grouped = String::with_capacity(raw.len() + raw.len() / 3 * 3 + 1);
        if n < 0 {
            grouped.push('-');
        }
        for (i, c) in raw.chars().enumerate() {
            if i > 0 && (raw.len() - i).is_multiple_of(3) {
                grouped.push_str(separator);
            }
            grouped.push(c);
        }
        self.digits(&grouped)
    }

    /// A moment in the residents' time zone, as the language writes dates: 26 November 2026, 09:15.
    pub fn date(&self, at: time::OffsetDateTime, with_time: bool) -> String {
        let Some(local) = resident_domain::clock::local(&self.time_zone, at) else { return String::new() };
        let month = self.t(&format!("month-{}", local.month()));
        let day =
            format!("{} {month} {}", self.digits(&local.day().to_string()), self.digits(&local.year().to_string()));
        if with_time {
            let clock = self.digits(&format!("{:02}:{:02}", local.hour(), local.minute()));
            self.ta("date-with-time", &[("date", day), ("time", clock)])
        } else {
            day
        }
    }

    pub fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL.iter().map(|l| (l.html(), l.name(), *l == self.lang)).collect()
    }
}

pub(crate) const SESSION_COOKIE: &str = "rs_session";
const CSRF_COOKIE: &str = "rs_csrf";
const LANG_COOKIE: &str = "rs_lang";

/// The value of the request's cookie `name`, if it sent one.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

/// A text of the portal's catalogues in a MOSIP language (`eng`, `fra`, `ara`; anything else: English).
pub(crate) fn translate(mosip_lang: &str, key: &str) -> String {
    LOCALES.lookup(&Lang::parse(mosip_lang).unwrap_or(Lang::En).langid(), key)
}

/// `translate` with arguments, each a text.
pub(crate) fn translate_with(mosip_lang: &str, key: &str, args: &[(&'static str, String)]) -> String {
    use fluent_templates::fluent_bundle::FluentValue;
    let map: HashMap<std::borrow::Cow<'static, str>, FluentValue> =
        args.iter().map(|(k, v)| (std::borrow::Cow::Borrowed(*k), FluentValue::from(v.clone()))).collect();
    LOCALES.lookup_with_args(&Lang::parse(mosip_lang).unwrap_or(Lang::En).langid(), key, &map)
}

/// A value for a URL's query: letters, digits and `-` as they are, every other byte %-encoded.
pub(crate) fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::RngCore::fill_bytes(&mut resident_domain::clock::rng(), &mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The request as the portal sees it: language, session, CSRF token, and cookies to set.
pub(crate) struct Visit {
    pub lang: Lang,
    pub session: Option<PortalSession>,
    pub csrf: String,
    pub set_cookies: Vec<String>,
    pub audit: AuditContext,
    pub now: time::OffsetDateTime,
    /// `X-Request-Id`, shown on error pages.
    pub request_id: String,
    /// Notifications not seen yet.
    pub unread: i64,
    /// Another origin this page's forms may end up at (the MOSIP portal app a login returns to: the
    /// browser checks `form-action` on each redirect after a form is sent).
    pub form_target: Option<String>,
}

/// The request types whose progress the resident is told about in the portal (MOSIP's ASYNC types).
pub const NOTIFIED_TYPES: [&str; 4] =
    ["UPDATE_MY_UIN", "ORDER_PHYSICAL_CARD", "SHARE_CRED_WITH_PARTNER", "VID_CARD_DOWNLOAD"];

impl Visit {
    pub(crate) async fn new(state: &AppState, headers: &HeaderMap, lang_query: Option<&str>) -> Visit {
        let now = state.clock.now();
        let settings = &state.portal;
        let mut set_cookies = Vec::new();
        let secure = if settings.secure_cookie { "; Secure" } else { "" };
        // language: the link the resident chose, else the one remembered, else the browser's
        let lang = match lang_query.and_then(Lang::parse) {
            Some(l) => {
                set_cookies.push(format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}", l.html()));
                l
            }
            None => cookie(headers, LANG_COOKIE)
                .and_then(Lang::parse)
                .or_else(|| {
                    headers
                        .get(header::ACCEPT_LANGUAGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.split(',').find_map(|part| Lang::parse(part.split(';').next().unwrap_or(""))))
                })
                .unwrap_or(Lang::En),
        };
        let request_id: String =
            headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").chars().take(64).collect();
        let request_audit = AuditContext {
            host_name: state.host.name.clone(),
            host_ip: state.host.ip.clone(),
            session_user: "portal-resident".into(),
            request_id: Some(request_id.clone()).filter(|r: &String| r != "-"),
        };
        let mut session = None;
        if let Some(raw) = cookie(headers, SESSION_COOKIE) {
            match state.session_cases(&request_audit, now).current(raw).await {
                Ok(Some(s)) => session = Some(s),
                // gone, idle or past its end: the cookie is worth nothing now
                Ok(None) => set_cookies.push(clear_cookie(SESSION_COOKIE, secure)),
                Err(e) => tracing::warn!(code = e.code(), "reading a portal session failed"),
            }
        }
        let csrf = match &session {
            Some(s) => s.csrf.clone(),
            None => match cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 43) {
                Some(c) => c.to_owned(),
                None => {
                    let t = random_token();
                    set_cookies.push(format!("{CSRF_COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict{secure}"));
                    t
                }
            },
        };
        let audit = if session.is_some() {
            request_audit
        } else {
            AuditContext { session_user: "anonymous".into(), ..request_audit }
        };
        let unread = match &session {
            Some(s) => {
                state.history.unread_count(&s.token, &NOTIFIED_TYPES).await.unwrap_or(0)
                    + state.accesses.unread_accesses(&s.token).await.unwrap_or(0)
            }
            None => 0,
        };
        Visit { lang, session, csrf, set_cookies, audit, now, request_id, unread, form_target: None }
    }

    pub(crate) fn page(&self, state: &AppState) -> Page {
        let authority = state
            .portal
            .authority
            .get(self.lang.mosip())
            .or_else(|| state.portal.authority.values().next())
            .cloned()
            .unwrap_or_default();
        let mut page = Page {
            lang: self.lang,
            csrf: self.csrf.clone(),
            logged_in: self.session.is_some(),
            authority,
            bell: String::new(),
            has_logo: state.portal.logo.is_some(),
            // the residents' zone is the notifications' one
            time_zone: state.templates.time_zone.clone(),
            native_digits: self.lang == Lang::Ar && state.portal.arabic_digits,
        };
        page.bell = if self.unread > 0 {
            page.ta("nav-notifications-count", &[("count", page.number(self.unread))])
        } else {
            page.t("nav-notifications")
        };
        page
    }

    /// The form's token matches the session's (or, before login, the CSRF cookie's).
    pub(crate) fn csrf_ok(&self, form_token: Option<&str>) -> bool {
        form_token.is_some_and(|t| same(t, &self.csrf))
    }

    /// The logged-in identity, as the ID Repository has it now.
    pub(crate) async fn who(&self, state: &AppState) -> Option<Resolved> {
        let s = self.session.as_ref()?;
        match resident_domain::session::identity_of(state.idrepo.as_ref(), s, self.now).await {
            Ok(who) => who,
            Err(e) => {
                tracing::warn!(error = %e, "the ID Repository did not give the session's identity");
                None
            }
        }
    }

    /// Adds the cookies and the portal's headers to a response.
    pub(crate) fn finish(&self, mut res: Response) -> Response {
        let h = res.headers_mut();
        for c in &self.set_cookies {
            if let Ok(v) = HeaderValue::from_str(c) {
                h.append(header::SET_COOKIE, v);
            }
        }
        let form_action = match &self.form_target {
            Some(origin) => format!("'self' {origin}"),
            None => "'self'".to_owned(),
        };
        let csp = format!(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        h.insert(header::VARY, HeaderValue::from_static("Cookie, Accept-Language"));
        res
    }
}

fn clear_cookie(name: &str, secure: &str) -> String {
    format!("{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
}

/// Sets `Strict-Transport-Security` when the request came over TLS (directly or through a proxy).
async fn hsts(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let tls = req.uri().scheme_str() == Some("https")
        || req.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    let mut res = next.run(req).await;
    if tls {
        res.headers_mut()
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    res
}

const GOVUK_CSS: &str = include_str!("../../assets/vendor/govuk-frontend.css");
const PORTAL_CSS: &str = include_str!("../../assets/portal.css");

fn css(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        body,
    )
        .into_response()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/status", get(pages::status))
        .route("/login", get(pages::login_form).post(pages::login_send))
        .route("/login/otp", post(pages::login_verify))
        .route("/logout", post(pages::logout))
        .route("/account", get(pages::account))
        .route("/account/locks", get(pages::locks).post(pages::locks_change))
        .route("/account/vids", get(pages::vids).post(pages::vids_generate))
        .route("/account/vids/revoke", get(pages::revoke_confirm).post(pages::revoke))
        .route("/account/card", get(pages::card).post(pages::card_download))
        .route("/account/history", get(pages::history))
        .route("/account/auth-history", get(pages::auth_history))
        .route("/account/auth-history.csv", get(pages::auth_history_csv))
        .route("/account/auth-history.pdf", get(pages::auth_history_pdf))
        .route("/account/data-access", get(pages::data_access))
        .route("/account/data-access.csv", get(pages::data_access_csv))
        .route("/account/data-access.pdf", get(pages::data_access_pdf))
        .route("/account/data-access/notice", post(pages::data_access_notice))
        .route("/account/update/acknowledgement", get(pages::update_acknowledgement))
        .route("/account/share", get(pages::share).post(pages::share_send))
        .route("/account/notifications", get(pages::notifications).post(pages::notifications_seen))
        .route("/account/grievance", get(pages::grievance).post(pages::grievance_send))
        .route("/account/print", get(pages::print).post(pages::print_order))
        .route(
            "/account/update",
            get(pages::update)
                .post(pages::update_submit)
                .layer(axum::extract::DefaultBodyLimit::max(crate::UPDATE_BODY_LIMIT)),
        )
        .route("/account/update/check", get(pages::update_check))
        .route("/account/update/confirm", post(pages::update_confirm))
        .route("/assets/govuk-frontend.css", get(|| async { css(GOVUK_CSS.to_owned()) }))
        .route("/assets/portal.css", get(|| async { css(PORTAL_CSS.to_owned()) }))
        .route(
            "/assets/logo",
            get(|axum::extract::State(state): axum::extract::State<AppState>| async move {
                match &state.portal.logo {
                    Some((bytes, kind)) => (
                        StatusCode::OK,
                        [
                            (header::CONTENT_TYPE, *kind),
                            (header::CACHE_CONTROL, "public, max-age=3600"),
                            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
                        ],
                        bytes.clone(),
                    )
                        .into_response(),
                    None => StatusCode::NOT_FOUND.into_response(),
                }
            }),
        )
        .route(
            "/assets/theme.css",
            get(|axum::extract::State(state): axum::extract::State<AppState>| async move {
                let colour = state.portal.colour.clone();
                css(format!(
                    ".govuk-header.rs-header {{ background-color: {colour}; border-bottom-color: {colour}; }}\n\
                     .rs-header .govuk-header__container {{ border-bottom-color: {colour}; }}\n\
                     .govuk-footer {{ border-top-color: {colour}; }}\n"
                ))
            }),
        )
        .layer(axum::middleware::from_fn(hsts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ftl: &str) -> std::collections::BTreeSet<String> {
        ftl.lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_owned()))
            .filter(|k| !k.is_empty())
            .collect()
    }

    #[test]
    fn every_key_exists_in_every_language() {
        let en = keys(include_str!("../../locales/en/portal.ftl"));
        assert!(en.len() > 80, "{}", en.len());
        assert_eq!(keys(include_str!("../../locales/fr/portal.ftl")), en, "French");
        assert_eq!(keys(include_str!("../../locales/ar/portal.ftl")), en, "Arabic");
        let page = page(Lang::Ar, true, jiff::tz::TimeZone::UTC);
        assert_eq!(page.t("nav-home"), "الرئيسية");
        assert_eq!(page.ta("vids-created", &[("vid", "1234".into())]), "رقمك الافتراضي الجديد هو 1234.");
    }

    fn page(lang: Lang, native_digits: bool, time_zone: jiff::tz::TimeZone) -> Page {
        Page {
            lang,
            csrf: String::new(),
            logged_in: false,
            authority: String::new(),
            bell: String::new(),
            has_logo: false,
            time_zone,
            native_digits,
        }
    }

    #[test]
    fn numbers_are_grouped_and_written_as_the_language_does() {
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(page(Lang::En, false, utc.clone()).number(1_234_567), "1,234,567");
        assert_eq!(page(Lang::Fr, false, utc.clone()).number(12_345), "12\u{202f}345");
        assert_eq!(page(Lang::Ar, true, utc.clone()).number(12_345), "١٢٬٣٤٥");
        assert_eq!(page(Lang::Ar, false, utc.clone()).number(12_345), "12,345");
        assert_eq!(page(Lang::En, false, utc.clone()).number(-1_000), "-1,000");
        assert_eq!(page(Lang::En, false, utc).number(999), "999");
    }

    #[test]
    fn dates_are_in_the_residents_time_zone_and_language() {
        // 23:30 UTC on 31 December is already 1 January in Dubai (UTC+4)
        let at = time::macros::datetime!(2026-12-31 23:30 UTC);
        let dubai = time_zone("Asia/Dubai").unwrap();
        assert_eq!(page(Lang::En, false, jiff::tz::TimeZone::UTC).date(at, true), "31 December 2026, 23:30");
        assert_eq!(page(Lang::En, false, dubai.clone()).date(at, true), "1 January 2027, 03:30");
        assert_eq!(page(Lang::Fr, false, dubai.clone()).date(at, false), "1 janvier 2027");
        assert_eq!(page(Lang::Fr, false, dubai.clone()).date(at, true), "1 janvier 2027 à 03:30");
        assert_eq!(page(Lang::Ar, true, dubai.clone()).date(at, true), "١ يناير ٢٠٢٧، ٠٣:٣٠");
        assert_eq!(local_day(&dubai, at), Some(time::macros::date!(2027 - 01 - 01)));
        // a zone with summer time: Paris is UTC+2 in July, UTC+1 in January
        let paris = time_zone("Europe/Paris").unwrap();
        assert_eq!(
            page(Lang::En, false, paris.clone()).date(time::macros::datetime!(2026-07-01 12:00 UTC), true),
            "1 July 2026, 14:00"
        );
        assert_eq!(
            page(Lang::En, false, paris).date(time::macros::datetime!(2026-01-01 12:00 UTC), true),
            "1 January 2026, 13:00"
        );
        assert!(time_zone("Mars/Olympus_Mons").is_none());
    }

    #[test]
    fn counts_choose_the_plural_and_are_written_in_the_languages_digits() {
        let utc = jiff::tz::TimeZone::UTC;
        let sent = |lang, native, digits: i64, minutes: i64| {
            page(lang, native, utc.clone()).tc(
                "otp-sent",
                &[("contact", "j***@example.org".into())],
                &[("digits", digits), ("minutes", minutes)],
            )
        };
        assert_eq!(
            sent(Lang::En, false, 6, 3),
            "We sent a 6-digit code to j***@example.org. It is valid for 3 minutes and can be used once."
        );
        assert!(
            sent(Lang::En, false, 4, 1).contains("4-digit code")
                && sent(Lang::En, false, 4, 1).contains("1 minute and")
        );
        assert!(
            sent(Lang::Fr, false, 8, 1).contains("8 chiffres") && sent(Lang::Fr, false, 8, 1).contains("1 minute et")
        );
        assert!(sent(Lang::Ar, true, 6, 1).contains("دقيقة واحدة"), "{}", sent(Lang::Ar, true, 6, 1));
        assert!(sent(Lang::Ar, true, 6, 2).contains("دقيقتين"));
        assert!(sent(Lang::Ar, true, 6, 3).contains("٦ أرقام") && sent(Lang::Ar, true, 6, 3).contains("٣ دقائق"));
        assert!(sent(Lang::Ar, true, 6, 15).contains("١٥ دقيقة"), "{}", sent(Lang::Ar, true, 6, 15));
    }

    #[test]
    fn digits_typed_on_an_arabic_keyboard_are_read() {
        assert_eq!(typed_digits(" ٥٠٧٥ ٢٩١٧٠٨ "), "5075291708");
        assert_eq!(typed_digits("۱۲۳"), "123");
        assert_eq!(typed_digits("٢٠٢٦-١١-٢٦"), "2026-11-26");
        assert_eq!(typed_digits("12a"), "12a");
    }

    #[test]
    fn csv_cells_are_never_formulas() {
        assert_eq!(pages::csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(pages::csv_cell("bank-01"), "\"bank-01\"");
        assert_eq!(pages::csv_cell("-1+1"), "\"'-1+1\"");
    }

    #[test]
    fn languages_parse_from_codes_and_headers() {
        assert_eq!(Lang::parse("ar-MA"), Some(Lang::Ar));
        assert_eq!(Lang::parse("fra"), Some(Lang::Fr));
        assert_eq!(Lang::parse("de"), None);
        assert_eq!(Lang::Ar.dir(), "rtl");
    }
}
