//! Blob content as a stream of chunks, verified against its descriptor as it flows.
//!
//! Blobs are never buffered whole (DESIGN §2.1 rule 6). Every stream a store hands out from
//! `blob_get` is wrapped in [`verified`], so a reader that reaches the end has seen content
//! that matches the digest and size, or has received an error instead of the last chunk.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use lineage_oci::{Descriptor, Verifier};

use crate::error::StoreError;

/// A stream of blob chunks.
pub type BlobStream = BoxStream<'static, Result<Bytes, StoreError>>;

/// A stream over bytes already in memory (small blobs such as the `{}` config).
pub fn from_bytes(data: Bytes) -> BlobStream {
    futures_util::stream::once(async move { Ok(data) }).boxed()
}

/// Wrap `inner` so it fails unless the content matches `desc`'s digest and size. `store`
/// names where the content came from, for the error.
pub fn verified(inner: BlobStream, desc: &Descriptor, store: &str) -> BlobStream {
    VerifiedStream {
        inner,
        verifier: Some(Verifier::new(desc.digest.clone(), Some(desc.size))),
        store: store.to_string(),
    }
    .boxed()
}

struct VerifiedStream {
    inner: BlobStream,
    verifier: Option<Verifier>,
    store: String,
}

impl Stream for VerifiedStream {
    type Item = Result<Bytes, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(verifier) = this.verifier.as_mut() else {
            return Poll::Ready(None);
        };
        match this.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => match verifier.update(&chunk) {
                Ok(()) => Poll::Ready(Some(Ok(chunk))),
                Err(source) => {
                    this.verifier = None;
                    Poll::Ready(Some(Err(StoreError::Verify {
                        store: this.store.clone(),
                        source,
                    })))
                }
            },
            Poll::Ready(Some(Err(e))) => {
                this.verifier = None;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                let verifier = this.verifier.take();
                match verifier.map(Verifier::finish) {
                    Some(Err(source)) => Poll::Ready(Some(Err(StoreError::Verify {
                        store: this.store.clone(),
                        source,
                    }))),
                    _ => Poll::Ready(None),
                }
            }
        }
    }
}

/// Read a whole (small) blob into memory, refusing more than `limit` bytes.
pub async fn read_all(mut stream: BlobStream, limit: usize) -> Result<Bytes, StoreError> {
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if buf.len() + chunk.len() > limit {
            return Err(StoreError::InvalidInput {
                store: "blob".to_string(),
                message: format!("content is larger than the {limit}-byte limit"),
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lineage_oci::{Digest, VerifyError};

    fn chunks(parts: &[&'static [u8]]) -> BlobStream {
        let v: Vec<_> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        futures_util::stream::iter(v).boxed()
    }

    #[tokio::test]
    async fn passes_matching_content() {
        let desc = Descriptor::new("x", Digest::sha256(b"hello world"), 11);
        let out = read_all(verified(chunks(&[b"hello ", b"world"]), &desc, "t"), 100)
            .await
            .unwrap();
        assert_eq!(&out[..], b"hello world");
    }

    #[tokio::test]
    async fn fails_on_wrong_digest_at_the_end() {
        let desc = Descriptor::new("x", Digest::sha256(b"hello world"), 11);
        let err = read_all(verified(chunks(&[b"hello ", b"WORLD"]), &desc, "t"), 100)
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::Verify {
                source: VerifyError::Digest { .. },
                ..
            }
        ));
    }

    #[tokio::test]
    async fn fails_early_on_too_much_content() {
        let desc = Descriptor::new("x", Digest::sha256(b"hi"), 2);
        let mut s = verified(chunks(&[b"hi", b"there"]), &desc, "t");
        assert!(s.next().await.unwrap().is_ok());
        assert!(matches!(
            s.next().await.unwrap(),
            Err(StoreError::Verify {
                source: VerifyError::Size { .. },
                ..
            })
        ));
        assert!(s.next().await.is_none());
    }

    #[tokio::test]
    async fn fails_on_short_content() {
        let desc = Descriptor::new("x", Digest::sha256(b"hello"), 5);
        let err = read_all(verified(chunks(&[b"hel"]), &desc, "t"), 100)
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::Verify {
                source: VerifyError::Size { actual: 3, .. },
                ..
            }
        ));
    }
}
