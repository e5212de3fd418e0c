//! What a status is: the [`State`], what decided it ([`Source`]), the image to move to
//! ([`Successor`]), the facts it is decided from ([`StatusInput`], [`RollingTagInfo`]) and the
//! [`Status`] itself, which serialises to the JSON of `lineage status --output json`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use lineage_oci::{Descriptor, Digest};

use crate::base::BaseStatus;
use crate::profile::{Namespace, Reason};
use crate::warning::Warning;

/// The lifecycle state of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Its end-of-life has passed.
    EndOfLife,
    /// Its end-of-life is in the future.
    Scheduled,
    /// No end-of-life, but a later revision of its lineage exists.
    Superseded,
    /// Lifecycle data exists and says nothing against it.
    Supported,
    /// No record, no lifecycle annotation, no lineage.
    Unknown,
    /// Its end-of-support has passed, its end-of-life has not: no more fixes, still
    /// admitted with a warning (issue 18, DESIGN §8.2).
    EndOfSupport,
    /// No verdict of its own (it would be `supported` or `unknown`), but its base is
    /// end-of-life or superseded (or itself built on such a base): rebuild it on the base's
    /// successor (issue 17).
    BaseEndOfLife,
}

impl State {
    /// Every state, in the order of the table in DESIGN §4, then the states added since.
    pub const ALL: [State; 7] = [
        State::EndOfLife,
        State::Scheduled,
        State::Superseded,
        State::Supported,
        State::Unknown,
        State::EndOfSupport,
        State::BaseEndOfLife,
    ];

    /// The state's name in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            State::EndOfLife => "end-of-life",
            State::Scheduled => "scheduled",
            State::Superseded => "superseded",
            State::Supported => "supported",
            State::Unknown => "unknown",
            State::EndOfSupport => "end-of-support",
            State::BaseEndOfLife => "base-end-of-life",
        }
    }

    /// Whether this state is `threshold` or past it, for `--fail-on` ("in or past"). The
    /// states an image moves through are ordered `supported` < `superseded` < `scheduled` <
    /// `end-of-support` < `end-of-life` (a newer revision appears, then an end-of-life is
    /// recorded, then support ends, then end-of-life passes); `unknown` is outside that
    /// order and only matches itself. `base-end-of-life` is past `supported` and before
    /// `superseded` (DESIGN §8.2: it is the image's own verdict that comes first).
    pub fn is_at_least(self, threshold: State) -> bool {
        match (self.rank(), threshold.rank()) {
            (Some(a), Some(b)) => a >= b,
            _ => self == threshold,
        }
    }

    /// Whether an image in this state should be moved off: `end-of-life` or `superseded`.
    pub fn is_retired(self) -> bool {
        matches!(self, State::EndOfLife | State::Superseded)
    }

    fn rank(self) -> Option<u8> {
        match self {
            State::Supported => Some(0),
            State::BaseEndOfLife => Some(1),
            State::Superseded => Some(2),
            State::Scheduled => Some(3),
            State::EndOfSupport => Some(4),
            State::EndOfLife => Some(5),
            State::Unknown => None,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`State`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown lifecycle state `{0}` (expected end-of-life, end-of-support, scheduled, superseded, supported, unknown or base-end-of-life)"
)]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<State, UnknownState> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// What decided the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A lifecycle record (a referrer of the image).
    Referrer,
    /// An annotation on the image manifest itself.
    Manifest,
    /// The lineage: what the rolling tag points to.
    Lineage,
    /// Nothing.
    None,
    /// The image's base: its state is `base-end-of-life` (issue 17).
    Base,
}

/// What the lineage's rolling tag (the image's `org.opencontainers.image.version`) points to
/// now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollingTagInfo {
    /// The reference to show for that image, e.g. `registry/repo:1.0-20230710` (or the
    /// rolling tag itself when no better name is known).
    pub reference: String,
    /// The digest the rolling tag resolves to.
    pub digest: Digest,
    /// That image's `org.opencontainers.image.created`.
    pub created: Option<DateTime<Utc>>,
    /// That image's `org.opencontainers.image.revision`.
    pub revision: Option<String>,
}

/// The facts a status is decided from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusInput {
    /// The reference as the user gave it.
    pub reference: String,
    /// The digest it resolved to.
    pub digest: Digest,
    /// The image manifest's (or index's) own annotations: version, revision, created and
    /// any manifest-level end-of-life.
    pub image_annotations: BTreeMap<String, String>,
    /// The referrers listing of `digest`, any artifact types; lifecycle records are picked
    /// out by artifactType.
    pub referrers: Vec<Descriptor>,
    /// The profile namespaces to read (Microsoft records are always read).
    pub namespaces: Vec<Namespace>,
    /// What the rolling tag points to; `None` when the image has no version or its rolling
    /// tag does not exist.
    pub rolling_tag: Option<RollingTagInfo>,
    /// The instant the status is for (now, or `--at`).
    pub at: DateTime<Utc>,
}

/// The image to move to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Successor {
    /// Its reference.
    pub reference: Option<String>,
    /// Its digest.
    pub digest: Option<Digest>,
    /// Its revision.
    pub revision: Option<String>,
}

/// The status of one image, serialised as DESIGN §4 shows (absent values are `null`), plus
/// `warnings`, present only when there are any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The reference as the user gave it.
    pub reference: String,
    /// The image's digest.
    pub digest: Digest,
    /// The state.
    pub state: State,
    /// The effective end-of-life, RFC 3339 UTC.
    #[serde(serialize_with = "lineage_oci::time::serialize_rfc3339_opt")]
    pub end_of_life: Option<DateTime<Utc>>,
    /// Why, as recorded.
    pub reason: Option<Reason>,
    /// The image's version (its lineage), from the image, else from the record.
    pub version: Option<String>,
    /// The image's revision, from the image, else from the record.
    pub revision: Option<String>,
    /// The image to move to: the recorded successor, else (when the state is not
    /// `supported`) the image the rolling tag points to if that is another image.
    pub successor: Option<Successor>,
    /// What decided the state.
    pub source: Source,
    /// The digest of the effective record.
    pub record: Option<Digest>,
    /// The vocabulary of the lifecycle data used (see [`crate::Dialect::name`]).
    pub dialect: Option<String>,
    /// Lifecycle data that could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// The effective end-of-support, RFC 3339 UTC (`endOfSupport`, omitted when none;
    /// issue 18).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "lineage_oci::time::serialize_rfc3339_opt"
    )]
    pub end_of_support: Option<DateTime<Utc>>,
    /// Whole days from the instant of the status until the next date ahead: end-of-support,
    /// else end-of-life (`daysLeft`, omitted when none is ahead; issue 18).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    /// The effective record's scope (`scope`, omitted when unscoped; issue 18).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The image's base and the base's status, when evidence names one (issue 17; absent
    /// otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseStatus>,
    /// The signature of the record that decided the verdict (the effective record), when a
    /// trust policy is in force (issue 16, DESIGN §8.4; absent otherwise, and when no record
    /// counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::signed::SignatureStatus>,
}
