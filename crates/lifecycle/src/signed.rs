//! Signed records (issue 16, DESIGN §8.4): which lifecycle records a trust policy lets
//! count, read through the one fact interface.
//!
//! A record's signatures are the referrers of the record's digest with artifactType
//! [`lineage_trust::SIGNATURE_ARTIFACT_TYPE`]; each is a manifest whose one layer is the
//! envelope (read verified, at most [`MAX_ENVELOPE_BYTES`]), verified by
//! [`lineage_trust::verify`] against the policy's statement for the repository. [`check`] does
//! that for one record ([`FactSource::signed_record`]; the caching source keeps the outcome
//! with the facts); [`select`] walks an image's records in decision order, newest first, and
//! stops at the first one that counts, so only the records that could decide the verdict are
//! verified.
//!
//! **What a signature covers.** It names the record's digest, and so the record manifest's
//! bytes, not the annotations a referrers listing (or a fallback index, which anyone who can
//! push may rewrite) shows for it. A verified record is therefore read from bytes bound to its
//! digest: the record lineage would have written for the listed annotations, built again
//! canonically, when its digest is the record's (lineage's records are canonical JSON, so this
//! costs no request), else the record manifest itself, fetched by digest (verified) and
//! required to refer to this very image. A listing whose annotations were changed is therefore
//! not believed: the record is read as it was signed.
//!
//! **Levels** (notation's): `strict` — a record without a valid trusted signature does not
//! count; `permissive` — nor does one with a bad or untrusted signature, but an expired one
//! counts; `audit` — every record counts (as issue 16 asks, so that a rollout starting in
//! audit changes no verdict; notation's audit would still enforce integrity); a statement's
//! `override` changes a check's action as notation's does. Either way a record that fails
//! is a [`Warning`] with its reason. `skip` verifies nothing (as if no policy were in force for the
//! repository). A repository no statement covers trusts nobody: as notation refuses to
//! verify it, every record there is ignored (reason `untrusted-identity`), without a request.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lineage_oci::{Descriptor, Digest, TagOrDigest, artifact};
use lineage_trust::{
    Action, Level, Reason, Rejected, Statement, TrustPolicy, Verification, Verified,
};

use crate::engine::EngineError;
use crate::facts::{FactSource, ManifestFacts};
use crate::profile::Namespace;
use crate::record::{Record, Records};
use crate::warning::{Effect, Problem, Warning};

/// The largest signature envelope read: a JWS with a certificate chain of a few certificates
/// is a few KiB; notation's own limit on a signature blob is larger, and so is this one.
pub const MAX_ENVELOPE_BYTES: u64 = 256 << 10;

/// At most this many signatures of one record are tried (two requests each), so a record that
/// many bogus signatures refer to costs a bounded number of requests.
pub const MAX_SIGNATURES: usize = 8;

/// What verifying one record's signatures found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignedRecord {
    /// A signature verified: who signed, and the record as its signed bytes say it (the
    /// listing's descriptor with the signed manifest's artifact type and annotations).
    Verified {
        /// The signer and signing time.
        signer: Verified,
        /// The record, read from bytes bound to its digest (boxed: far larger than a
        /// rejection).
        record: Box<Descriptor>,
    },
    /// No signature verified: the reason of the first that failed (or `unsigned`).
    Rejected(Rejected),
}

/// The signature of the record that decided a verdict, as the status JSON shows it
/// (`signature`, DESIGN §8.4; absent when no trust policy is in force).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureStatus {
    /// Whether a signature of the record verified under the policy.
    pub verified: bool,
    /// Who signed it (the signing certificate's subject); `null` when not verified.
    pub identity: Option<String>,
    /// When it was signed; `null` when not verified.
    #[serde(serialize_with = "lineage_oci::time::serialize_rfc3339_opt")]
    pub signed_at: Option<DateTime<Utc>>,
}

impl SignatureStatus {
    fn of(signer: Option<&Verified>) -> SignatureStatus {
        SignatureStatus {
            verified: signer.is_some(),
            identity: signer.map(|s| s.identity.clone()),
            signed_at: signer.map(|s| s.signed_at),
        }
    }
}

/// Verifies the signatures of `record` (a referrer of the image `image`) under `statement`
/// now (the clock is read here, so a cached outcome costs no clock read), reading through
/// `source`: the record's signature listing, then for each signature (at most
/// [`MAX_SIGNATURES`]) its manifest and envelope, stopping at the first that verifies. A
/// signature listed but gone is a bad signature; a store that cannot answer is an error.
pub(crate) async fn check<S: FactSource + ?Sized>(
    source: &S,
    statement: &Statement,
    record: &Descriptor,
    image: &ManifestFacts,
) -> Result<SignedRecord, EngineError> {
    let now = lineage_oci::time::now();
    let subject = image.descriptor();
    let listing = source.referrers(&record.digest).await?;
    let signed = Descriptor::new(
        record.media_type.clone(),
        record.digest.clone(),
        record.size,
    );
    let mut first: Option<Rejected> = None;
    let signatures = listing
        .iter()
        .filter(|d| d.artifact_type.as_deref() == Some(lineage_trust::SIGNATURE_ARTIFACT_TYPE))
        .take(MAX_SIGNATURES);
    for signature in signatures {
        let verification = match envelope_of(source, signature).await? {
            Ok((media_type, envelope)) => {
                lineage_trust::verify(statement, &signed, &media_type, &envelope, now)
            }
            Err(rejected) => Verification::Rejected(rejected),
        };
        match verification {
            Verification::Verified(signer) => {
                return Ok(match signed_view(source, record, &subject).await? {
                    Ok(record) => SignedRecord::Verified {
                        signer,
                        record: Box::new(record),
                    },
                    Err(rejected) => SignedRecord::Rejected(rejected),
                });
            }
            Verification::Rejected(r) => {
                first.get_or_insert(r);
            }
        }
    }
    Ok(SignedRecord::Rejected(first.unwrap_or_else(|| Rejected {
        reason: Reason::Unsigned,
        detail: "no Notary Project signature refers to the record".into(),
    })))
}

/// The envelope of the signature manifest `signature` describes, and its media type: the
/// manifest's one layer, read verified and size-limited. `Err(Rejected)` when the signature
/// is not what a Notary Project signature is (gone, no layer, too large).
async fn envelope_of<S: FactSource + ?Sized>(
    source: &S,
    signature: &Descriptor,
) -> Result<Result<(String, bytes::Bytes), Rejected>, EngineError> {
    let bad = |detail: String| {
        Ok(Err(Rejected {
            reason: Reason::BadSignature,
            detail,
        }))
    };
    let target = TagOrDigest::Digest(signature.digest.clone());
    let manifest = match source.manifest(Some(&target)).await {
        Ok(m) => m,
        Err(e) if e.is_not_found() => {
            return bad(format!("signature {} is listed but gone", signature.digest));
        }
        Err(e) => return Err(e),
    };
    let [layer] = &manifest.layers[..] else {
        return bad(format!(
            "signature {} has {} layers, not one envelope",
            signature.digest,
            manifest.layers.len()
        ));
    };
    if layer.size > MAX_ENVELOPE_BYTES {
        return bad(format!(
            "the envelope of signature {} is {} bytes, over the {MAX_ENVELOPE_BYTES}-byte limit",
            signature.digest, layer.size
        ));
    }
    match source.envelope(layer).await {
        Ok(bytes) => Ok(Ok((layer.media_type.clone(), bytes))),
        Err(e) if e.is_not_found() => bad(format!(
            "the envelope {} of signature {} is gone",
            layer.digest, signature.digest
        )),
        Err(e) => Err(e),
    }
}

/// The verified `record` as its signed bytes say it: the listing's descriptor when its
/// annotations rebuild the record's exact bytes (no request), else the record manifest read
/// by digest, which must refer to `subject`.
async fn signed_view<S: FactSource + ?Sized>(
    source: &S,
    record: &Descriptor,
    subject: &Descriptor,
) -> Result<Result<Descriptor, Rejected>, EngineError> {
    if let Some(artifact_type) = &record.artifact_type {
        let empty = BTreeMap::new();
        let annotations = record.annotations.as_ref().unwrap_or(&empty);
        if let Ok(rebuilt) = artifact::manifest(artifact_type, subject, &[], annotations)
            && rebuilt.digest() == &record.digest
        {
            return Ok(Ok(record.clone()));
        }
    }
    let target = TagOrDigest::Digest(record.digest.clone());
    let manifest = source.manifest(Some(&target)).await?;
    let about = manifest.subject.as_ref().map(|s| &s.digest);
    if about != Some(&subject.digest) {
        return Ok(Err(Rejected {
            reason: Reason::BadSignature,
            detail: match about {
                Some(other) => format!("the signed record refers to {other}, not to this image"),
                None => "the signed record refers to no image".into(),
            },
        }));
    }
    let mut signed = record.clone();
    signed.artifact_type = manifest.artifact_type.clone();
    signed.annotations = (!manifest.annotations.is_empty()).then(|| manifest.annotations.clone());
    Ok(Ok(signed))
}

/// What the policy leaves of an image's referrers listing (borrowed for `'a`).
#[derive(Debug, Default)]
pub(crate) struct Selected<'a> {
    /// The listing the decision reads: every referrer that is not a record, and the record
    /// that counts (as its signed bytes say it, when verified), if any; `None` when that is
    /// the listing itself (its one record counts as listed), so a warm lookup copies nothing.
    pub(crate) referrers: Option<Vec<Descriptor>>,
    /// When `referrers` is `None`: the listing read as records, as `Records::read` reads it
    /// (the decision does not parse them again); it holds the counted record, read once.
    pub(crate) read: Option<Records>,
    /// The records that did not verify, with their reasons.
    pub(crate) warnings: Vec<Warning>,
    /// The record that counts, as the engine needs it besides the listing it decides from.
    pub(crate) counted: Option<Counted<'a>>,
}

/// The record that counts under a trust policy, without its values (the decision reads them
/// from the selected listing, or from [`Selected::read`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counted<'a> {
    /// The record's digest, as the listing names it.
    pub(crate) digest: &'a Digest,
    /// Whether the record decides the state and the image to move to by itself: its
    /// signature verified, it declares a date (end-of-life or end-of-support) and it names
    /// the successor.
    pub(crate) decides: bool,
    /// Its signature, as the status shows it.
    pub(crate) signature: SignatureStatus,
}

impl<'a> Counted<'a> {
    /// `record` (listed as `digest`) counts with `signature`.
    fn new(record: &Record, digest: &'a Digest, signature: SignatureStatus) -> Counted<'a> {
        Counted {
            digest,
            decides: signature.verified
                && (record.end_of_life.is_some() || record.end_of_support.is_some())
                && (record.successor.is_some() || record.superseded_by.is_some()),
            signature,
        }
    }
}

/// The records of `listing` (the referrers of the image `image` in `repository`,
/// `REGISTRY/REPOSITORY`) that `policy` lets count, walked newest first and verified until
/// one counts; `None` when the policy verifies nothing there (`skip`).
pub(crate) async fn select<'a>(
    source: &dyn FactSource,
    policy: &TrustPolicy,
    repository: &str,
    listing: &'a [Descriptor],
    namespaces: &[Namespace],
    image: &ManifestFacts,
) -> Result<Option<Selected<'a>>, EngineError> {
    let statement = policy.statement_for(repository);
    if statement.is_some_and(|s| s.level == Level::Skip) {
        return Ok(None);
    }
    let mut ignored = Vec::new();
    let mut records: Vec<(Record, &'a Descriptor)> = Vec::new();
    let mut others: Vec<&Descriptor> = Vec::new();
    let mut selected = Selected::default();
    for d in listing {
        match Record::from_descriptor(d, namespaces, &mut ignored) {
            Some(r) => records.push((r, d)),
            None => others.push(d),
        }
    }
    let listed_records = records.len();
    // The listing the decision reads: the other referrers and `counted`; `None` for the
    // listing itself (no record, or its one record counts as listed).
    let keep = |counted: Option<&Descriptor>| match (listed_records, counted) {
        (0, None) => None,
        (1, Some(c)) if listing.iter().any(|d| std::ptr::eq(d, c)) => None,
        _ => Some(others.iter().copied().chain(counted).cloned().collect()),
    };
    // Newest first: the decision order.
    records.sort_by(|a, b| b.0.recency_cmp(&a.0));
    let Some(statement) = statement else {
        let rejected = Rejected {
            reason: Reason::UntrustedIdentity,
            detail: format!("no statement of the trust policy applies to `{repository}`"),
        };
        for (record, _) in &records {
            selected
                .warnings
                .push(warning(&record.digest, &rejected, false));
        }
        selected.referrers = keep(None);
        return Ok(Some(selected));
    };
    // `record`, as `listed`, counts with `signature`: the listing the decision reads keeps
    // it, and when that is the listing itself, the listing as read is kept too (the counted
    // record moves there, it is not copied or parsed again).
    let count_as_listed = |selected: &mut Selected<'a>,
                           record: Record,
                           listed: &'a Descriptor,
                           signature: SignatureStatus,
                           ignored: &mut Vec<Warning>| {
        selected.counted = Some(Counted::new(&record, &listed.digest, signature));
        selected.referrers = keep(Some(listed));
        if selected.referrers.is_none() {
            selected.read = Some(Records {
                records: vec![record],
                warnings: std::mem::take(ignored),
            });
        }
    };
    for (record, listed) in records {
        let outcome = source.signed_record(statement, listed, image).await?;
        let rejected = match outcome.as_ref() {
            SignedRecord::Verified {
                signer,
                record: signed,
            } => {
                // The signed bytes say what the listing says (the usual case): the record
                // read from the listing is the signed one, not parsed again.
                if **signed == *listed {
                    let signature = SignatureStatus::of(Some(signer));
                    count_as_listed(&mut selected, record, listed, signature, &mut ignored);
                    return Ok(Some(selected));
                }
                if let Some(read) = Record::from_descriptor(signed, namespaces, &mut Vec::new()) {
                    let signature = SignatureStatus::of(Some(signer));
                    selected.counted = Some(Counted::new(&read, &listed.digest, signature));
                    selected.referrers = keep(Some(signed));
                    return Ok(Some(selected));
                }
                // The signed bytes say something else than a record (the listing lied about
                // its artifact type, or the signed record's values are unreadable).
                Rejected {
                    reason: Reason::BadSignature,
                    detail: "the signed record is not a readable lifecycle record".into(),
                }
            }
            SignedRecord::Rejected(r) => r.clone(),
        };
        // Audit lets every record count (the rollout's first step must change no verdict);
        // otherwise the failed check's action under the statement (its level, or its
        // `override`): enforced, the record does not count; logged, it does.
        let counts = statement.level == Level::Audit
            || statement.action(rejected.reason.check()) != Action::Enforce;
        selected
            .warnings
            .push(warning(&record.digest, &rejected, counts));
        if counts {
            tracing::warn!(
                record = %record.digest,
                reason = rejected.reason.as_str(),
                "a record that does not verify counts under the trust policy's `{}` level: {}",
                statement.name,
                rejected.detail
            );
            let signature = SignatureStatus::of(None);
            count_as_listed(&mut selected, record, listed, signature, &mut ignored);
            return Ok(Some(selected));
        }
    }
    selected.referrers = keep(None);
    Ok(Some(selected))
}

fn warning(record: &Digest, rejected: &Rejected, counts: bool) -> Warning {
    Warning {
        digest: record.clone(),
        key: lineage_trust::SIGNATURE_ARTIFACT_TYPE.to_string(),
        value: None,
        problem: Problem::Signature(rejected.clone()),
        effect: if counts {
            Effect::RecordCounted
        } else {
            Effect::RecordIgnored
        },
    }
}

/// The outcome of [`check`] as a fact source keeps it.
pub(crate) type SignedFact = Arc<SignedRecord>;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use lineage_oci::time::parse_lenient;
    use lineage_store::{LayoutStore, ReadStore as _};

    use super::*;
    use crate::facts::StoreFacts;
    use crate::lookup::tests::push_image;
    use crate::{Engine, RecordSpec};

    const EOL: &str = "vnd.lineage.image.end-of-life";

    /// An image with one record (end-of-life 2030-01-01), and the listing's descriptor of
    /// the record.
    async fn retired() -> (tempfile::TempDir, LayoutStore, Descriptor, Descriptor) {
        let dir = tempfile::tempdir().unwrap();
        let layout = LayoutStore::open_or_create(dir.path()).unwrap();
        let image = push_image(&layout, "20230707", "2023-07-07T08:00:00Z")
            .await
            .descriptor();
        let spec = RecordSpec {
            created: parse_lenient("2023-07-10T08:00:00Z").unwrap(),
            end_of_life: Some(parse_lenient("2030-01-01T00:00:00Z").unwrap()),
            ..RecordSpec::default()
        };
        Engine::default()
            .write_record(&layout, &image, &spec)
            .await
            .unwrap();
        let listing = layout.referrers(&image.digest, None).await.unwrap();
        let [record] = &listing[..] else {
            panic!("one record: {listing:?}")
        };
        (dir, layout, image, record.clone())
    }

    #[tokio::test]
    async fn an_honest_listing_is_the_signed_record_without_a_request() {
        let (_dir, _layout, image, record) = retired().await;
        // An empty store: reading the record manifest would fail.
        let empty_dir = tempfile::tempdir().unwrap();
        let empty = LayoutStore::open_or_create(empty_dir.path()).unwrap();
        let view = signed_view(&StoreFacts::new(&empty), &record, &image)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(view, record);
    }

    /// Issue 16: annotations changed in a listing (a rewritten fallback index) are not
    /// believed; the record is read as it was signed.
    #[tokio::test]
    async fn a_forged_listing_is_read_from_the_signed_bytes() {
        let (_dir, layout, image, record) = retired().await;
        let mut forged = record.clone();
        forged.set_annotation(EOL, "2020-01-01T00:00:00Z");
        let view = signed_view(&StoreFacts::new(&layout), &forged, &image)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            view.annotations
                .as_ref()
                .unwrap()
                .get(EOL)
                .map(String::as_str),
            Some("2030-01-01T00:00:00Z")
        );
        assert_eq!(view.annotations, record.annotations);
    }

    /// A signed record of another image, listed as a referrer of this one, is refused.
    #[tokio::test]
    async fn a_record_of_another_image_is_a_bad_signature() {
        let (_dir, layout, _image, record) = retired().await;
        let other = push_image(&layout, "20230710", "2023-07-10T08:00:00Z")
            .await
            .descriptor();
        let rejected = signed_view(&StoreFacts::new(&layout), &record, &other)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(rejected.reason, Reason::BadSignature);
        assert!(
            rejected.detail.contains("not to this image"),
            "{rejected:?}"
        );
    }

    /// The decision path with real signatures (issue 16): an image with three records, each
    /// declaring its own end-of-life so the one that decides can be told, newest first:
    /// `unsigned` (no signature), `expired` (signed by a certificate that has since expired)
    /// and `signed` (the oldest, signed by a valid trusted certificate).
    struct Mixed {
        _dir: tempfile::TempDir,
        layout: LayoutStore,
        image: Descriptor,
        signed: Digest,
        expired: Digest,
        unsigned: Digest,
        /// The notation configuration directory; `policy(level)` writes its policy.
        notation: tempfile::TempDir,
        /// The roots the trust store holds (PEM).
        roots: Vec<String>,
    }

    const REPOSITORY: &str = "registry.example/flasksample";

    impl Mixed {
        async fn new() -> Mixed {
            use lineage_trust::testing::{KeyKind, LeafOptions, pki};
            let dir = tempfile::tempdir().unwrap();
            let layout = LayoutStore::open_or_create(dir.path()).unwrap();
            let image = push_image(&layout, "20230707", "2023-07-07T08:00:00Z")
                .await
                .descriptor();
            let now = Utc::now();
            let valid = pki(KeyKind::P256, &LeafOptions::default());
            let lapsed = pki(
                KeyKind::P256,
                &LeafOptions {
                    not_before: now - chrono::Duration::days(3),
                    not_after: now - chrono::Duration::days(1),
                    ..LeafOptions::default()
                },
            );
            let mut digests = Vec::new();
            for (created, end_of_life, signer) in [
                (
                    "2023-07-10T08:00:00Z",
                    "2030-01-01T00:00:00Z",
                    Some((&valid, now)),
                ),
                (
                    "2023-07-11T08:00:00Z",
                    "2031-01-01T00:00:00Z",
                    Some((&lapsed, now - chrono::Duration::days(2))),
                ),
                ("2023-07-12T08:00:00Z", "2032-01-01T00:00:00Z", None),
            ] {
                let spec = RecordSpec {
                    created: parse_lenient(created).unwrap(),
                    end_of_life: Some(parse_lenient(end_of_life).unwrap()),
                    ..RecordSpec::default()
                };
                let written = Engine::default()
                    .write_record(&layout, &image, &spec)
                    .await
                    .unwrap();
                let [crate::Written::Pushed(digest)] = &written[..] else {
                    panic!("one record pushed: {written:?}")
                };
                if let Some((pki, at)) = signer {
                    sign(&layout, pki, digest, at).await;
                }
                digests.push(digest.clone());
            }
            let [signed, expired, unsigned] = digests.try_into().unwrap();
            Mixed {
                _dir: dir,
                layout,
                image,
                signed,
                expired,
                unsigned,
                notation: tempfile::tempdir().unwrap(),
                roots: vec![valid.root_pem, lapsed.root_pem],
            }
        }

        /// The image's referrers listing: its three records.
        async fn listing(&self) -> Vec<Descriptor> {
            let listing = self
                .layout
                .referrers(&self.image.digest, None)
                .await
                .unwrap();
            assert_eq!(listing.len(), 3, "{listing:?}");
            listing
        }

        /// What a trust policy at `level` for [`REPOSITORY`] (trusting every root of
        /// `roots` and the leaves' common subject) selects from `listing` (the image's,
        /// [`Mixed::listing`]) now.
        async fn select<'l>(&self, listing: &'l [Descriptor], level: &str) -> Option<Selected<'l>> {
            self.select_in(listing, level, REPOSITORY).await
        }

        /// [`Mixed::select`] with the image read as in `repository`.
        async fn select_in<'l>(
            &self,
            listing: &'l [Descriptor],
            level: &str,
            repository: &str,
        ) -> Option<Selected<'l>> {
            let path = lineage_trust::testing::write_policy(
                self.notation.path(),
                "flasksample",
                level,
                &[REPOSITORY],
                &["x509.subject: C=US, ST=WA, O=Example, CN=release-pipeline"],
                &self.roots[0],
            );
            for (i, root) in self.roots.iter().enumerate().skip(1) {
                let store = self.notation.path().join("truststore/x509/ca/flasksample");
                std::fs::write(store.join(format!("root-{i}.pem")), root).unwrap();
            }
            let policy = TrustPolicy::load(&path).unwrap();
            let facts = StoreFacts::new(&self.layout);
            let image = facts
                .manifest(Some(&TagOrDigest::Digest(self.image.digest.clone())))
                .await
                .unwrap();
            select(
                &facts,
                &policy,
                repository,
                listing,
                &Engine::default().read_namespaces(),
                &image,
            )
            .await
            .unwrap()
        }
    }

    /// Signs the record `digest` in `layout` with `pki`'s leaf at `at`, and pushes the
    /// signature as `lineage sign` does (empty config, envelope, manifest).
    async fn sign(
        layout: &LayoutStore,
        pki: &lineage_trust::testing::Pki,
        digest: &Digest,
        at: DateTime<Utc>,
    ) {
        use lineage_store::Store as _;
        let record = layout.manifest_get(digest).await.unwrap().descriptor();
        let signer =
            lineage_trust::Signer::from_pem(pki.key_pem.as_bytes(), pki.chain_pem().as_bytes())
                .unwrap();
        let signature = signer.sign(&record, at).unwrap();
        for (media_type, bytes) in [
            (lineage_oci::media_type::OCI_EMPTY, signature.config),
            (lineage_trust::JWS_MEDIA_TYPE, signature.envelope),
        ] {
            let d = Descriptor::new(media_type, Digest::sha256(&bytes), bytes.len() as u64);
            layout
                .blob_put(
                    &d,
                    lineage_store::blob::from_bytes(bytes::Bytes::from(bytes)),
                )
                .await
                .unwrap();
        }
        let manifest = lineage_oci::RawManifest::from_bytes(
            bytes::Bytes::from(signature.manifest),
            Some(lineage_oci::media_type::OCI_MANIFEST),
        )
        .unwrap();
        layout.manifest_put(&manifest, None).await.unwrap();
    }

    /// `(record, reason, counted)` of each warning, in order.
    fn reasons(selected: &Selected) -> Vec<(Digest, Reason, bool)> {
        selected
            .warnings
            .iter()
            .map(|w| match &w.problem {
                Problem::Signature(r) => (
                    w.digest.clone(),
                    r.reason,
                    w.effect == Effect::RecordCounted,
                ),
                other => panic!("not a signature warning: {other:?}"),
            })
            .collect()
    }

    /// Strict: the newest VERIFIED record decides, though two newer records exist (one
    /// unsigned, one whose certificate expired); both are ignored, each with its reason,
    /// and the listing the decision reads keeps only the verified record.
    #[tokio::test]
    async fn strict_lets_the_newest_verified_record_decide() {
        let m = Mixed::new().await;
        let listing = m.listing().await;
        let selected = m.select(&listing, "strict").await.expect("strict verifies");
        let counted = selected.counted.as_ref().expect("a record counts");
        assert_eq!(counted.digest, &m.signed);
        // It declares no successor: the rolling tag is still read.
        assert!(!counted.decides);
        let signature = &counted.signature;
        assert!(signature.verified, "{signature:?}");
        assert_eq!(
            signature.identity.as_deref(),
            Some("CN=release-pipeline,O=Example,ST=WA,C=US")
        );
        assert_eq!(
            reasons(&selected),
            [
                (m.unsigned.clone(), Reason::Unsigned, false),
                (m.expired.clone(), Reason::Expired, false),
            ]
        );
        let records: Vec<&Digest> = selected
            .referrers
            .iter()
            .flatten()
            .map(|d| &d.digest)
            .collect();
        assert_eq!(records, [&m.signed]);
        let read = crate::record::Records::read(
            selected.referrers.as_deref().unwrap(),
            &Engine::default().read_namespaces(),
        );
        assert_eq!(
            read.records[0].end_of_life,
            Some(parse_lenient("2030-01-01T00:00:00Z").unwrap())
        );
    }

    /// Permissive: the unsigned record is still ignored (integrity is enforced), but the
    /// expired one counts (expiry is only logged), unverified, and the walk stops there.
    #[tokio::test]
    async fn permissive_lets_an_expired_record_count() {
        let m = Mixed::new().await;
        let listing = m.listing().await;
        let selected = m
            .select(&listing, "permissive")
            .await
            .expect("permissive verifies");
        let counted = selected.counted.as_ref().expect("a record counts");
        assert_eq!(counted.digest, &m.expired);
        assert_eq!(counted.signature, SignatureStatus::of(None));
        assert_eq!(
            reasons(&selected),
            [
                (m.unsigned.clone(), Reason::Unsigned, false),
                (m.expired.clone(), Reason::Expired, true),
            ]
        );
    }

    /// Audit: every record counts, so the newest (unsigned) decides as without a policy,
    /// with its warning; the older records are not verified at all.
    #[tokio::test]
    async fn audit_lets_the_newest_record_decide_with_a_warning() {
        let m = Mixed::new().await;
        let listing = m.listing().await;
        let selected = m.select(&listing, "audit").await.expect("audit verifies");
        let counted = selected.counted.as_ref().expect("a record counts");
        assert_eq!(counted.digest, &m.unsigned);
        assert!(!counted.signature.verified);
        assert_eq!(
            reasons(&selected),
            [(m.unsigned.clone(), Reason::Unsigned, true)]
        );
    }

    /// Strict, once the newest record is signed too: it decides with no warning, and the
    /// older records are not verified (no warning for the expired one).
    #[tokio::test]
    async fn a_verified_newest_record_decides_without_verifying_the_rest() {
        use lineage_trust::testing::{KeyKind, LeafOptions, pki};
        let mut m = Mixed::new().await;
        // Signed by a third chain, whose root the trust store holds too.
        let newest = pki(KeyKind::P256, &LeafOptions::default());
        sign(&m.layout, &newest, &m.unsigned, Utc::now()).await;
        m.roots.push(newest.root_pem);
        let listing = m.listing().await;
        let selected = m.select(&listing, "strict").await.expect("strict verifies");
        let counted = selected.counted.as_ref().unwrap();
        assert_eq!(counted.digest, &m.unsigned);
        assert!(counted.signature.verified);
        assert!(selected.warnings.is_empty(), "{:?}", selected.warnings);
    }

    /// A repository no statement covers trusts nobody: every record is ignored as
    /// `untrusted-identity`, the signed one too, without verifying any.
    #[tokio::test]
    async fn a_repository_no_statement_covers_counts_no_record() {
        let m = Mixed::new().await;
        let listing = m.listing().await;
        let selected = m
            .select_in(&listing, "strict", "registry.example/other")
            .await
            .expect("a policy in force");
        assert!(selected.counted.is_none());
        assert!(
            selected.referrers.as_ref().is_some_and(Vec::is_empty),
            "{:?}",
            selected.referrers
        );
        assert_eq!(
            reasons(&selected),
            [
                (m.unsigned.clone(), Reason::UntrustedIdentity, false),
                (m.expired.clone(), Reason::UntrustedIdentity, false),
                (m.signed.clone(), Reason::UntrustedIdentity, false),
            ]
        );
    }
}
