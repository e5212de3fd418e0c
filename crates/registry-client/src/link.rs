//! Following registry-provided URLs: `Location` headers (absolute or relative) and `Link`
//! pagination headers (RFC 8288, `rel="next"`).

use reqwest::Response;
use reqwest::header::HeaderMap;
use url::Url;

use crate::error::{RegistryError, redact};
use crate::limits;

/// The `Location` of `response`, resolved against the request URL.
pub fn location(response: &Response) -> Result<Url, RegistryError> {
    let base = response.url();
    let value = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| RegistryError::Protocol {
            url: redact(base),
            message: format!(
                "the registry answered {} without a `Location` header",
                response.status()
            ),
        })?;
    base.join(value).map_err(|e| RegistryError::Protocol {
        url: redact(base),
        message: format!("invalid `Location` header `{value}`: {e}"),
    })
}

/// The `rel="next"` target of a `Link` header, resolved against `base`.
pub fn next(headers: &HeaderMap, base: &Url) -> Option<Url> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split(',') {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next
                && let Some(inner) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>'))
            {
                return base.join(inner).ok();
            }
        }
    }
    None
}

/// A paginated JSON listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `GET /v2/<name>/tags/list`.
    Tags,
    /// `GET /v2/_catalog`.
    Catalog,
    /// `GET /v2/<name>/referrers/<digest>`.
    Referrers,
    /// `GET /v2/<name>/_lineage/untagged` (`lineage serve`'s extension).
    Untagged,
}

impl Listing {
    /// The listing's name in messages.
    fn name(self) -> &'static str {
        match self {
            Listing::Tags => "tag list",
            Listing::Catalog => "catalog",
            Listing::Referrers => "referrers listing",
            Listing::Untagged => "untagged manifests listing",
        }
    }

    /// One page's name in messages.
    fn page_name(self) -> &'static str {
        match self {
            Listing::Tags => "tag list page",
            Listing::Catalog => "catalog page",
            Listing::Referrers => "referrers page",
            Listing::Untagged => "untagged manifests page",
        }
    }
}

/// Reads the pages of one listing from one registry, each at most
/// [`limits::LISTING_PAGE`] bytes and all together at most [`limits::LISTING_TOTAL`].
pub struct Pages<'a> {
    registry: &'a str,
    listing: Listing,
    read: usize,
}

impl<'a> Pages<'a> {
    /// Start reading `listing` from `registry`.
    pub fn new(registry: &'a str, listing: Listing) -> Pages<'a> {
        Pages {
            registry,
            listing,
            read: 0,
        }
    }

    /// Read the next page's body from `response`, and where the page after it is.
    pub async fn read(&mut self, response: Response) -> Result<Page, RegistryError> {
        let next = next(response.headers(), response.url());
        let url = redact(response.url());
        let body = limits::read_limited(
            response,
            &reqwest::Method::GET,
            self.registry,
            self.listing.page_name(),
            limits::LISTING_PAGE,
        )
        .await?;
        self.read = self.read.saturating_add(body.len());
        if self.read > limits::LISTING_TOTAL {
            return Err(RegistryError::TooLarge {
                registry: self.registry.to_string(),
                url,
                what: self.listing.name(),
                limit: limits::LISTING_TOTAL,
            });
        }
        Ok(Page { body, next, url })
    }
}

/// One page of a paginated JSON listing (tags, catalog, referrers).
pub struct Page {
    /// The body.
    pub body: bytes::Bytes,
    /// The next page, from the `Link` header.
    pub next: Option<Url>,
    /// The page's URL without credentials, for messages.
    pub url: String,
}

impl Page {
    /// The body as JSON of type `T`; `what` names the listing in the error.
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, RegistryError> {
        serde_json::from_slice(&self.body).map_err(|e| RegistryError::Protocol {
            url: self.url.clone(),
            message: format!("the {what} is not valid JSON: {e}"),
        })
    }
}

/// `url` with `digest=<digest>` appended to its query, keeping whatever query it has.
pub fn with_digest(mut url: Url, digest: &lineage_oci::Digest) -> Url {
    url.query_pairs_mut().append_pair("digest", digest.as_str());
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn follows_relative_and_absolute_next_links() {
        let base = Url::parse("https://r.example/v2/app/tags/list?n=2").unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static("</v2/app/tags/list?last=b&n=2>; rel=\"next\""),
        );
        assert_eq!(
            next(&h, &base).unwrap().as_str(),
            "https://r.example/v2/app/tags/list?last=b&n=2"
        );
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(
                "<https://other/x>; rel=\"prev\", <https://r.example/p2>; rel=next",
            ),
        );
        assert_eq!(next(&h, &base).unwrap().as_str(), "https://r.example/p2");
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static("<https://r.example/p2>; rel=\"prev\""),
        );
        assert!(next(&h, &base).is_none());
    }

    #[test]
    fn appends_the_digest_to_any_query() {
        let d = lineage_oci::Digest::sha256(b"{}");
        let u = with_digest(
            Url::parse("http://h/v2/a/blobs/uploads/u1?_state=abc").unwrap(),
            &d,
        );
        assert_eq!(
            u.query(),
            Some(format!("_state=abc&digest=sha256%3A{}", d.encoded()).as_str())
        );
    }
}
