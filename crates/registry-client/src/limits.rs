//! How much of a registry's answer lineage reads, and the one place that reads it.
//!
//! A registry decides how long its answers are; a hostile or broken one can answer with a
//! body that never ends. Every body the client holds in memory is read by [`read_prefix`]:
//! either through [`read_limited`], which refuses a body over its limit with
//! [`RegistryError::TooLarge`], or directly, keeping only the start (error answers and
//! diagnostics). Blobs are not read here: they are streamed to the caller and verified
//! against their descriptor's size and digest. `docs/security.md` lists these limits.

use bytes::{Bytes, BytesMut};
use reqwest::{Method, Response};

use crate::error::{RegistryError, redact};

/// A manifest, including a referrers-tag-schema index: the limit distribution and zot
/// enforce, kept in one place by `lineage-oci`.
pub const MANIFEST: usize = lineage_oci::manifest::MAX_MANIFEST_SIZE;

/// One page of a tag list, a catalog or a referrers listing: 4 MiB. A page is an index or a
/// list of names, like a manifest, so it gets a manifest's limit; a registry with more than
/// that pages with `Link` (a page of 4 MiB holds about 40 000 tags or 15 000 descriptors).
pub const LISTING_PAGE: usize = 4 << 20;

/// All pages of one tag list, catalog or referrers listing together: 64 MiB (some 600 000
/// tags). Each page is held until the listing is complete, so a registry that keeps handing
/// out `Link`s to more pages must stop somewhere too.
pub const LISTING_TOTAL: usize = 64 << 20;

/// A token service's answer: 1 MiB. A token is a few kilobytes of JWT; the limit leaves room
/// for large claims while an endless answer stops early.
pub const TOKEN: usize = 1 << 20;

/// The start of an error answer that is kept: 64 KiB. The distribution error envelope is a
/// few hundred bytes; a longer body is cut here without failing differently, and the error
/// carries what was kept.
pub const ERROR_BODY: usize = 64 << 10;

/// The start of an answer a diagnostic exchange keeps unless asked for more
/// ([`crate::raw::RawRequest::max_body`]): 64 KiB.
pub const RAW_BODY: usize = 64 << 10;

/// A byte count for messages: `4 MiB`, `64 KiB`, or `1000 bytes`.
pub(crate) fn size_text(bytes: usize) -> String {
    const KIB: usize = 1 << 10;
    const MIB: usize = 1 << 20;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Read at most `limit` bytes of `response`'s body. The flag says whether the body went on
/// past them (the rest is never read).
pub(crate) async fn read_prefix(
    response: &mut Response,
    limit: usize,
) -> Result<(Bytes, bool), reqwest::Error> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit.saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body.freeze(), true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), false))
}

/// Read the whole body of `response`, the answer from `registry` to a `method` request for
/// `what` (`"tag list page"`), refusing one over `limit` bytes: before reading when
/// `Content-Length` announces more, else as soon as more arrives.
pub(crate) async fn read_limited(
    mut response: Response,
    method: &Method,
    registry: &str,
    what: &'static str,
    limit: usize,
) -> Result<Bytes, RegistryError> {
    let url = redact(response.url());
    let too_large = || RegistryError::TooLarge {
        registry: registry.to_string(),
        url: url.clone(),
        what,
        limit,
    };
    if response
        .content_length()
        .is_some_and(|announced| announced > limit as u64)
    {
        return Err(too_large());
    }
    match read_prefix(&mut response, limit).await {
        Ok((body, false)) => Ok(body),
        Ok((_, true)) => Err(too_large()),
        Err(e) => Err(RegistryError::Transport {
            method: method.to_string(),
            url: url.clone(),
            message: format!(
                "the {what} could not be read: {}",
                lineage_store::one_line(&e)
            ),
            retryable: true,
            source: Some(e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_named_in_the_largest_whole_unit() {
        assert_eq!(size_text(LISTING_PAGE), "4 MiB");
        assert_eq!(size_text(ERROR_BODY), "64 KiB");
        assert_eq!(size_text(TOKEN), "1 MiB");
        assert_eq!(size_text(1000), "1000 bytes");
        assert_eq!(size_text(1536), "1536 bytes");
    }
}
