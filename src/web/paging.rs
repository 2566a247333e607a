//! What the long lists (the collection page, the roster, the audit log) share: pages of a fixed size with
//! "51–100 of 376", and query strings rebuilt from the parsed filters, so that a link, a form action or a
//! redirect reproduces the view and never carries anything the page did not understand.

/// One page of a list of `total` rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pager {
    /// 1-based page number, within the pages there are.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
    /// Rows matching.
    pub total: i64,
}

impl Pager {
    /// The page asked for (`page=` in the query; anything else than a whole number means page 1), moved
    /// inside the pages there are.
    pub fn new(asked: Option<&str>, per_page: i64, total: i64) -> Pager {
        let asked = asked
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(1);
        let last = ((total + per_page - 1) / per_page).max(1);
        Pager {
            page: asked.clamp(1, last),
            per_page,
            total,
        }
    }

    /// Rows skipped before this page.
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    /// The last page (1 when there is nothing).
    pub fn last(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }

    /// "51–100 of 376" (or "0 of 0").
    pub fn range(&self) -> String {
        use crate::reports::text::thousands;
        if self.total == 0 {
            return "0 of 0".into();
        }
        let first = self.offset() + 1;
        let last = (self.offset() + self.per_page).min(self.total);
        format!(
            "{}–{} of {}",
            thousands(first),
            thousands(last),
            thousands(self.total)
        )
    }

    /// The query string of another page of the same view (`base` is the view's own query string).
    pub fn href(&self, base: &str, page: i64) -> String {
        let mut pairs = vec![];
        if !base.is_empty() {
            pairs.push(base.to_string());
        }
        if page > 1 {
            pairs.push(format!("page={page}"));
        }
        if pairs.is_empty() {
            "?".into()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }

    /// The previous page's query string, if there is one.
    pub fn prev(&self, base: &str) -> Option<String> {
        (self.page > 1).then(|| self.href(base, self.page - 1))
    }

    /// The next page's query string, if there is one.
    pub fn next(&self, base: &str) -> Option<String> {
        (self.page < self.last()).then(|| self.href(base, self.page + 1))
    }
}

/// `key=value&…` with every value percent-encoded; empty values are left out.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_count_from_one_and_stay_inside_the_list() {
        let p = Pager::new(Some("2"), 50, 376);
        assert_eq!((p.offset(), p.range()), (50, "51–100 of 376".to_string()));
        assert_eq!(Pager::new(Some("99"), 50, 376).range(), "351–376 of 376");
        assert_eq!(Pager::new(Some("x"), 50, 376).page, 1);
        assert_eq!(Pager::new(Some("-3"), 50, 0).range(), "0 of 0");
        assert_eq!(p.prev("q=a").as_deref(), Some("?q=a"));
        assert_eq!(p.next("").as_deref(), Some("?page=3"));
        assert_eq!(Pager::new(None, 50, 50).next(""), None);
    }

    #[test]
    fn query_strings_encode_every_value_and_skip_empty_ones() {
        assert_eq!(
            query_string(&[("q", "a b&c=d#"), ("cohort", ""), ("sort", "id")]),
            "q=a%20b%26c%3Dd%23&sort=id"
        );
    }
}
