//! The `lifecycle` section: the scanned image's status (DESIGN §4), named as in
//! `lineage status --output json`, plus where it came from in the report and what to do.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lineage_lifecycle::verdict::{Facts, words};
use lineage_lifecycle::{BaseStatus, Reason, Source, State, Status, Warning};
use lineage_oci::{Digest, ImageRef};

use super::scanner::{Candidate, MatchedBy, ScannedImage};
use crate::Looked;

/// The image to move to, as the `lifecycle` section names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SuccessorRef {
    /// Its reference, when recorded (or found on the lineage's rolling tag).
    pub reference: Option<String>,
    /// Its digest, when recorded or resolved from the reference.
    pub digest: Option<Digest>,
}

/// The `lifecycle` section added to a report. Absent values are `null`; `error` and
/// `warnings` appear only when there are any.
///
/// ```json
/// {"reference": "127.0.0.1:5000/flasksample:1.0-20230707", "digest": "sha256:…",
///  "lookedUp": "127.0.0.1:5000/flasksample@sha256:…", "matchedBy": "repoDigest",
///  "state": "end-of-life", "endOfLife": "2023-07-10T08:00:00Z", "reason": "superseded",
///  "version": "1.0", "revision": "20230707",
///  "successor": {"reference": "127.0.0.1:5000/flasksample:1.0-20230710", "digest": "sha256:…"},
///  "action": "move to 127.0.0.1:5000/flasksample:1.0-20230710",
///  "source": "referrer", "checkedAt": "2024-01-01T00:00:00Z"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle {
    /// The image as the report names it (else the reference looked up).
    pub reference: Option<String>,
    /// The digest of the image whose status this is.
    pub digest: Option<Digest>,
    /// The reference lineage looked up.
    pub looked_up: Option<String>,
    /// Where in the report [`Lifecycle::looked_up`] came from.
    pub matched_by: Option<MatchedBy>,
    /// The state (`unknown` when the image could not be looked up).
    pub state: State,
    /// The effective end-of-life, RFC 3339 UTC.
    #[serde(serialize_with = "lineage_oci::time::serialize_rfc3339_opt")]
    pub end_of_life: Option<DateTime<Utc>>,
    /// Why, as recorded.
    pub reason: Option<Reason>,
    /// The image's version (its lineage).
    pub version: Option<String>,
    /// The image's revision.
    pub revision: Option<String>,
    /// The image to move to.
    pub successor: Option<SuccessorRef>,
    /// `move to X` when the image is end-of-life, scheduled or superseded and a successor is
    /// known.
    pub action: Option<String>,
    /// What decided the state.
    pub source: Source,
    /// The instant the status is for (now, or `--at`).
    #[serde(serialize_with = "lineage_oci::time::serialize_rfc3339")]
    pub checked_at: DateTime<Utc>,
    /// Why the state is `unknown`, when lineage could not look the image up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Lifecycle data that could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// The image's base and its status (issue 17), when one was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseStatus>,
    /// The effective end-of-support, RFC 3339 UTC (issue 18; omitted when none).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "lineage_oci::time::serialize_rfc3339_opt"
    )]
    pub end_of_support: Option<DateTime<Utc>>,
    /// Whole days until the next date ahead, end-of-support else end-of-life (issue 18;
    /// omitted when none is ahead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
}

impl Lifecycle {
    /// The section for `image`, from the lookups of its candidates (keyed by
    /// [`Candidate::reference`]; candidates not looked up are skipped).
    ///
    /// The first candidate whose status has lifecycle data (any state but `unknown`) wins;
    /// when none has, the first candidate looked up decides: its `unknown` status, or its
    /// error (state `unknown` with `error`). With nothing looked up, the state is `unknown`
    /// and `error` says why ([`ScannedImage::problem`]).
    pub fn decide(
        image: &ScannedImage,
        looked: &HashMap<String, Looked>,
        at: DateTime<Utc>,
    ) -> Lifecycle {
        let tried: Vec<(&Candidate, &Looked)> = image
            .candidates
            .iter()
            .filter_map(|c| looked.get(&c.reference).map(|l| (c, l)))
            .collect();
        let chosen = tried
            .iter()
            .find(|(_, l)| matches!(l, Ok(s) if s.state != State::Unknown))
            .or_else(|| tried.first());
        match chosen {
            Some((c, Ok(status))) => Lifecycle::of(image, c, status, at),
            Some((c, Err(error))) => Lifecycle {
                looked_up: Some(c.reference.clone()),
                matched_by: Some(c.matched_by),
                ..Lifecycle::unknown(image, error.message(), at)
            },
            None => Lifecycle::unknown(
                image,
                image
                    .problem
                    .clone()
                    .unwrap_or_else(|| "the image was not looked up".to_string()),
                at,
            ),
        }
    }

    /// State `unknown` because of `error`.
    fn unknown(image: &ScannedImage, error: String, at: DateTime<Utc>) -> Lifecycle {
        Lifecycle {
            reference: image.reference.clone(),
            digest: None,
            looked_up: None,
            matched_by: None,
            state: State::Unknown,
            end_of_life: None,
            reason: None,
            version: None,
            revision: None,
            successor: None,
            action: None,
            source: Source::None,
            checked_at: at,
            error: Some(error),
            warnings: Vec::new(),
            base: None,
            end_of_support: None,
            days_left: None,
        }
    }

    fn of(image: &ScannedImage, c: &Candidate, s: &Status, at: DateTime<Utc>) -> Lifecycle {
        let successor = s.successor.as_ref().map(|x| SuccessorRef {
            reference: x.reference.clone(),
            digest: x.digest.clone(),
        });
        let mut l = Lifecycle {
            reference: image
                .reference
                .clone()
                .or_else(|| Some(c.reference.clone())),
            digest: Some(s.digest.clone()),
            looked_up: Some(c.reference.clone()),
            matched_by: Some(c.matched_by),
            state: s.state,
            end_of_life: s.end_of_life,
            reason: s.reason.clone(),
            version: s.version.clone(),
            revision: s.revision.clone(),
            successor,
            action: None,
            source: s.source,
            checked_at: at,
            error: None,
            warnings: s.warnings.clone(),
            base: s.base.clone(),
            end_of_support: s.end_of_support,
            days_left: s.days_left,
        };
        l.action = match &l.base {
            // Built on an end-of-life base: rebuild on the base's successor.
            Some(b) if words::rebuild_due(l.state) => {
                words::rebuild_on(b).as_deref().map(words::rebuild_action)
            }
            _ => l.move_to().as_deref().map(words::action),
        };
        l
    }

    /// The reference to move to ([`words::pull_name`]): the successor's reference, else its
    /// digest in the scanned image's repository. `None` unless the state calls for a move
    /// ([`words::move_due`]).
    pub fn move_to(&self) -> Option<String> {
        if !words::move_due(self.state) {
            return None;
        }
        let successor = self.successor.as_ref()?;
        let repository = self
            .looked_up
            .as_deref()
            .and_then(|r| ImageRef::parse(r).ok());
        if successor.reference.is_none() && repository.is_none() {
            return None;
        }
        words::pull_name(
            successor.reference.as_deref(),
            successor.digest.as_ref(),
            repository.as_ref(),
        )
    }

    /// The successor's reference, when its digest is not known: look it up and hand the
    /// result to [`Lifecycle::resolve_successor`].
    pub fn successor_to_resolve(&self) -> Option<&str> {
        self.successor
            .as_ref()
            .filter(|s| s.digest.is_none())
            .and_then(|s| s.reference.as_deref())
    }

    /// Fill in the successor's digest from the lookup of its reference. A failed lookup
    /// leaves it `null`: the successor is still named, and the report is not an error.
    pub fn resolve_successor(&mut self, looked: &Looked) {
        if let (Some(s), Ok(status)) = (self.successor.as_mut(), looked) {
            s.digest.get_or_insert_with(|| status.digest.clone());
        }
    }

    /// The facts the section's words are made from ([`lineage_lifecycle::verdict::words`]).
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            state: self.state,
            end_of_life: self.end_of_life,
            reason: self.reason.as_ref(),
            version: self.version.as_deref(),
            error: self.error.as_deref(),
            end_of_support: self.end_of_support,
            base: self.base.as_ref(),
        }
    }

    /// One sentence on the state, for people: `end-of-life since … (reason: superseded)`
    /// ([`Facts::summary`]).
    pub fn summary(&self) -> String {
        self.facts().summary()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lineage_lifecycle::Successor;

    const OLD: &str = "127.0.0.1:5000/flasksample:1.0-20230707";
    const NEW: &str = "127.0.0.1:5000/flasksample:1.0-20230710";

    fn at(s: &str) -> DateTime<Utc> {
        lineage_oci::time::parse_lenient(s).unwrap()
    }

    fn old() -> Digest {
        Digest::sha256(b"old")
    }

    fn platform() -> Digest {
        Digest::sha256(b"platform")
    }

    fn new() -> Digest {
        Digest::sha256(b"new")
    }

    fn by_digest(d: &Digest) -> String {
        format!("127.0.0.1:5000/flasksample@{d}")
    }

    fn image() -> ScannedImage {
        ScannedImage {
            reference: Some(OLD.into()),
            candidates: vec![
                Candidate {
                    reference: by_digest(&old()),
                    matched_by: MatchedBy::RepoDigest,
                },
                Candidate {
                    reference: by_digest(&platform()),
                    matched_by: MatchedBy::ManifestDigest,
                },
            ],
            problem: None,
            not_an_image: None,
            reference_is_path: false,
        }
    }

    fn status(reference: &str, digest: Digest, state: State) -> Status {
        Status {
            reference: reference.into(),
            digest,
            state,
            end_of_life: (state == State::EndOfLife).then(|| at("2023-07-10T08:00:00Z")),
            reason: (state == State::EndOfLife).then_some(Reason::Superseded),
            version: Some("1.0".into()),
            revision: Some("20230707".into()),
            successor: (state != State::Unknown).then(|| Successor {
                reference: Some(NEW.into()),
                digest: Some(new()),
                revision: Some("20230710".into()),
            }),
            source: Source::Referrer,
            record: Some(Digest::sha256(b"record")),
            dialect: Some("vnd.lineage.image".into()),
            warnings: vec![],
            end_of_support: None,
            days_left: None,
            scope: None,
            base: None,
            signature: None,
        }
    }

    #[test]
    fn end_of_support_is_reported_with_the_days_left() {
        let mut s = status(OLD, old(), State::EndOfSupport);
        s.end_of_support = Some(at("2023-07-01T00:00:00Z"));
        s.end_of_life = Some(at("2023-08-01T00:00:00Z"));
        s.days_left = Some(21);
        let looked = HashMap::from([(by_digest(&old()), Ok(s))]);
        let l = Lifecycle::decide(&image(), &looked, at("2023-07-11T00:00:00Z"));
        let json = serde_json::to_value(&l).unwrap();
        assert_eq!(json["state"], "end-of-support");
        assert_eq!(json["endOfSupport"], "2023-07-01T00:00:00Z");
        assert_eq!(json["daysLeft"], 21);
        assert!(
            l.summary()
                .starts_with("past end-of-support since 2023-07-01"),
            "{}",
            l.summary()
        );
        // Without one, neither key is written.
        let looked = HashMap::from([(by_digest(&old()), Ok(status(OLD, old(), State::EndOfLife)))]);
        let json =
            serde_json::to_value(Lifecycle::decide(&image(), &looked, at("2024-01-01"))).unwrap();
        assert!(
            json.get("endOfSupport").is_none() && json.get("daysLeft").is_none(),
            "{json}"
        );
    }

    #[test]
    fn end_of_life_json_shape() {
        let looked = HashMap::from([(
            by_digest(&old()),
            Ok(status(&by_digest(&old()), old(), State::EndOfLife)),
        )]);
        let l = Lifecycle::decide(&image(), &looked, at("2024-01-01T00:00:00Z"));
        let json = serde_json::to_value(&l).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "reference": OLD, "digest": old(), "lookedUp": by_digest(&old()),
                "matchedBy": "repoDigest", "state": "end-of-life",
                "endOfLife": "2023-07-10T08:00:00Z", "reason": "superseded",
                "version": "1.0", "revision": "20230707",
                "successor": {"reference": NEW, "digest": new()},
                "action": format!("move to {NEW}"), "source": "referrer",
                "checkedAt": "2024-01-01T00:00:00Z"
            })
        );
        // Key order follows the declaration (serde_json sorts a Value's keys; the text
        // keeps the struct's order).
        let text = serde_json::to_string(&l).unwrap();
        assert!(text.starts_with(r#"{"reference":"#), "{text}");
        assert!(
            text.ends_with(r#""checkedAt":"2024-01-01T00:00:00Z"}"#),
            "{text}"
        );
        assert_eq!(
            l.summary(),
            "end-of-life since 2023-07-10T08:00:00Z (reason: superseded)"
        );
    }

    #[test]
    fn the_platform_manifest_decides_when_the_index_has_no_lifecycle_data() {
        let mut looked = HashMap::from([(
            by_digest(&old()),
            Ok(status(&by_digest(&old()), old(), State::Unknown)),
        )]);
        let l = Lifecycle::decide(&image(), &looked, at("2024-01-01T00:00:00Z"));
        assert_eq!(l.state, State::Unknown);
        assert_eq!(l.error, None);
        assert_eq!(l.summary(), "unknown: lineage has no lifecycle data for it");
        looked.insert(
            by_digest(&platform()),
            Ok(status(
                &by_digest(&platform()),
                platform(),
                State::EndOfLife,
            )),
        );
        let l = Lifecycle::decide(&image(), &looked, at("2024-01-01T00:00:00Z"));
        assert_eq!(l.state, State::EndOfLife);
        assert_eq!(l.matched_by, Some(MatchedBy::ManifestDigest));
        assert_eq!(l.digest, Some(platform()));
    }

    #[test]
    fn a_failed_lookup_is_unknown_with_its_error() {
        let looked = HashMap::from([(
            by_digest(&old()),
            Err(crate::tests::timed_out(&by_digest(&old()))),
        )]);
        let l = Lifecycle::decide(&image(), &looked, at("2024-01-01T00:00:00Z"));
        assert_eq!(l.state, State::Unknown);
        assert_eq!(l.looked_up.as_deref(), Some(by_digest(&old()).as_str()));
        let json = serde_json::to_value(&l).unwrap();
        assert_eq!(json["state"], "unknown");
        assert_eq!(json["successor"], serde_json::Value::Null);
        assert_eq!(json["action"], serde_json::Value::Null);
        assert!(
            json["error"]
                .as_str()
                .unwrap()
                .starts_with("cannot look up `127.0.0.1:5000/flasksample@")
        );

        // Nothing to look up.
        let image = ScannedImage {
            reference: Some("/tmp/x.tar".into()),
            candidates: vec![],
            problem: Some(words::not_an_image("filesystem")),
            not_an_image: Some("filesystem".into()),
            reference_is_path: true,
        };
        let l = Lifecycle::decide(&image, &HashMap::new(), at("2024-01-01T00:00:00Z"));
        assert_eq!(l.reference.as_deref(), Some("/tmp/x.tar"));
        assert_eq!(
            l.error.as_deref(),
            Some("the report is not of an image: it is of type `filesystem`")
        );
    }

    #[test]
    fn action_only_when_a_move_is_due() {
        let r = by_digest(&old());
        for (state, action) in [
            (State::EndOfLife, true),
            (State::Scheduled, true),
            (State::Superseded, true),
            (State::Supported, false),
        ] {
            let looked = HashMap::from([(r.clone(), Ok(status(&r, old(), state)))]);
            let l = Lifecycle::decide(&image(), &looked, at("2024-01-01T00:00:00Z"));
            assert_eq!(l.action.is_some(), action, "{state}");
        }
    }

    #[test]
    fn a_successor_known_by_digest_only_is_named_in_the_scanned_repository() {
        let r = by_digest(&old());
        let mut s = status(&r, old(), State::EndOfLife);
        s.successor = Some(Successor {
            reference: None,
            digest: Some(new()),
            revision: None,
        });
        let looked = HashMap::from([(r.clone(), Ok(s))]);
        let l = Lifecycle::decide(&image(), &looked, at("2024-01-01T00:00:00Z"));
        assert_eq!(l.action, Some(format!("move to {}", by_digest(&new()))));
        assert_eq!(l.successor_to_resolve(), None);
    }

    #[test]
    fn a_successor_known_by_reference_only_is_resolved() {
        let r = by_digest(&old());
        let mut s = status(&r, old(), State::EndOfLife);
        s.successor = Some(Successor {
            reference: Some(NEW.into()),
            digest: None,
            revision: None,
        });
        let looked = HashMap::from([(r.clone(), Ok(s))]);
        let mut l = Lifecycle::decide(&image(), &looked, at("2024-01-01T00:00:00Z"));
        assert_eq!(l.successor_to_resolve(), Some(NEW));
        l.resolve_successor(&Err(crate::tests::timed_out(NEW)));
        assert_eq!(l.successor.as_ref().unwrap().digest, None);
        l.resolve_successor(&Ok(status(NEW, new(), State::Supported)));
        assert_eq!(l.successor.as_ref().unwrap().digest, Some(new()));
        assert_eq!(l.successor_to_resolve(), None);
        assert_eq!(l.action, Some(format!("move to {NEW}")));
    }
}
