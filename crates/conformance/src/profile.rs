//! Expected differences per profile, and turning a raw result into the
//! profile's verdict.

use crate::{CheckResult, Outcome, Profile};

/// A failure a profile expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedDifference {
    /// The check's id.
    pub id: &'static str,
    /// Why the registry fails it.
    pub reason: &'static str,
    /// Texts that must all appear in the failure message for it to count as
    /// this difference; any other failure of the check stays a failure.
    pub signature: &'static [&'static str],
}

const fn diff(
    id: &'static str,
    reason: &'static str,
    signature: &'static [&'static str],
) -> ExpectedDifference {
    ExpectedDifference {
        id,
        reason,
        signature,
    }
}

const NO_REFERRERS_API: &str = "distribution 2.8 has no referrers API: /v2/<name>/referrers/<digest> \
is not routed and answers a plain-text 404";

/// What Debian's docker-registry 2.8.2 (CNCF distribution 2.8.2) was seen to
/// do differently from the spec, measured on loopback with
/// `scripts/start-registry.sh -d on`.
const DISTRIBUTION_28: &[ExpectedDifference] = &[
    diff(
        "pull/manifest/bad-digest-error",
        "distribution 2.8 routes `sha256:totallywrong` as a tag, its filesystem driver refuses the \
         path and the answer is 500 UNKNOWN (the spec's conformance suite wants 400 or 404)",
        &["HTTP 500", "UNKNOWN"],
    ),
    diff(
        "pull/blob/range/unsatisfiable-416",
        "distribution 2.8 (Go 1.19 http.ServeContent) answers 416 but keeps the blob's \
         Content-Length over a short text body, so the response is malformed",
        &["HTTP 416", "body could not be read"],
    ),
    diff(
        "pull/blob/range/invalid",
        "distribution 2.8 (Go 1.19 http.ServeContent) answers 416 but keeps the blob's \
         Content-Length over a short text body, so the response is malformed",
        &["HTTP 416", "body could not be read"],
    ),
    diff(
        "push/manifest/malformed-digest-in-url",
        "distribution 2.8 routes `sha256:baddigeststring` as a tag, its filesystem driver refuses \
         the path and the answer is 500 UNKNOWN instead of a 4xx rejection",
        &["HTTP 500", "UNKNOWN"],
    ),
    diff(
        "push/blob/single-post-complete",
        "distribution 2.8 does not complete a single-request POST ?digest= upload: it answers 202 \
         and opens a session, which the spec allows (the client then PUTs)",
        &["HTTP 202"],
    ),
    diff(
        "push/blob/chunked/out-of-order-416",
        "distribution 2.8 ignores Content-Range on PATCH and appends the chunk (v3 answers 416)",
        &["HTTP 202"],
    ),
    diff(
        "push/blob/chunked/resend-416",
        "distribution 2.8 ignores Content-Range on PATCH and appends the re-sent chunk",
        &["HTTP 202"],
    ),
    diff(
        "push/manifest/over-4mib-413",
        "distribution 2.8 caps manifests at 4 MiB but answers 400 MANIFEST_INVALID \
         (\"http: request body too large\") instead of 413",
        &["HTTP 400", "MANIFEST_INVALID"],
    ),
    diff(
        "push/manifest/multi-tag",
        "distribution 2.8 ignores ?tag= on a manifest PUT by digest: no OCI-Tag headers, no tags",
        &["OCI-Tag"],
    ),
    diff(
        "discovery/tags/lexical-order",
        "distribution 2.8 lists tags in storage-directory order, not sorted",
        &["not in lexical order"],
    ),
    diff(
        "discovery/tags/n",
        "distribution 2.8 ignores n on the tags list and returns every tag",
        &["tags for n="],
    ),
    diff(
        "discovery/tags/n-zero",
        "distribution 2.8 ignores n on the tags list and returns every tag",
        &["tags for n=0"],
    ),
    diff(
        "discovery/tags/last",
        "distribution 2.8 ignores last on the tags list",
        &["after last="],
    ),
    diff(
        "discovery/tags/link",
        "distribution 2.8 does not paginate the tags list, so it never sends Link",
        &["no Link"],
    ),
    diff(
        "discovery/tags/pagination-walk",
        "distribution 2.8 ignores n on the tags list, so a walk with n=1 gets every tag at once",
        &["tags for n=1"],
    ),
    diff(
        "discovery/referrers/oci-subject",
        "distribution 2.8 ignores subject and never sends OCI-Subject",
        &["no OCI-Subject"],
    ),
    diff(
        "discovery/referrers/unknown-digest",
        NO_REFERRERS_API,
        &["HTTP 404"],
    ),
    diff(
        "discovery/referrers/invalid-digest",
        NO_REFERRERS_API,
        &["HTTP 404"],
    ),
    diff("discovery/referrers/list", NO_REFERRERS_API, &["HTTP 404"]),
    diff(
        "discovery/referrers/annotations",
        NO_REFERRERS_API,
        &["HTTP 404"],
    ),
    diff(
        "discovery/referrers/artifact-type",
        NO_REFERRERS_API,
        &["HTTP 404"],
    ),
    diff(
        "discovery/referrers/filter",
        NO_REFERRERS_API,
        &["HTTP 404"],
    ),
    diff(
        "discovery/referrers/missing-subject",
        NO_REFERRERS_API,
        &["HTTP 404"],
    ),
    diff(
        "management/delete-tag",
        "distribution 2.8 deletes manifests only by digest and answers a tag DELETE with \
         400 DIGEST_INVALID; the spec allows 400 only with UNSUPPORTED",
        &["HTTP 400", "DIGEST_INVALID"],
    ),
];

/// The expected differences of `profile`.
pub fn differences(profile: Profile) -> &'static [ExpectedDifference] {
    match profile {
        Profile::Strict => &[],
        Profile::Distribution28 => DISTRIBUTION_28,
    }
}

/// The profile's verdict on a raw result (which is `Pass`, `Fail` or
/// `Skip`).
pub fn judge(profile: Profile, mut result: CheckResult) -> CheckResult {
    let Some(d) = differences(profile).iter().find(|d| d.id == result.id) else {
        return result;
    };
    match &result.outcome {
        Outcome::Fail(msg) if d.signature.iter().all(|s| msg.contains(s)) => {
            result.outcome = Outcome::ExpectedFail(format!("{}; observed: {msg}", d.reason));
        }
        Outcome::Fail(msg) => {
            result.outcome = Outcome::Fail(format!(
                "{msg} (profile {profile} expects this check to fail showing {:?}, \
                 but it failed differently)",
                d.signature
            ));
        }
        Outcome::Pass => {
            let note = format!("profile {profile} expected a failure here, but it passed");
            result.note = Some(match result.note.take() {
                Some(n) => format!("{n}; {note}"),
                None => note,
            });
        }
        Outcome::Skip(_) | Outcome::ExpectedFail(_) => {}
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Group;

    fn raw(id: &str, outcome: Outcome) -> CheckResult {
        CheckResult {
            id: id.to_owned(),
            group: Group::Management,
            outcome,
            note: None,
        }
    }

    #[test]
    fn only_the_measured_failure_is_expected() {
        let p = Profile::Distribution28;
        let r = judge(
            p,
            raw(
                "management/delete-tag",
                Outcome::Fail("DELETE: HTTP 400 DIGEST_INVALID".into()),
            ),
        );
        assert!(matches!(r.outcome, Outcome::ExpectedFail(_)));
        let r = judge(
            p,
            raw("management/delete-tag", Outcome::Fail("HTTP 500".into())),
        );
        assert!(matches!(r.outcome, Outcome::Fail(_)));
        let r = judge(
            Profile::Strict,
            raw(
                "management/delete-tag",
                Outcome::Fail("HTTP 400 DIGEST_INVALID".into()),
            ),
        );
        assert!(matches!(r.outcome, Outcome::Fail(_)));
    }

    #[test]
    fn ids_are_unique() {
        for p in Profile::ALL {
            let ds = differences(p);
            for (i, d) in ds.iter().enumerate() {
                assert!(ds[i + 1..].iter().all(|e| e.id != d.id), "{}", d.id);
            }
        }
    }
}
