//! Lifecycle statuses as the engine would give them, for the tests of what reads them (the
//! policy routes, reports, the updater), and the lenient time parse tests write times with.

use chrono::{DateTime, Utc};
use lineage_lifecycle::{Reason, Source, State, Status, Successor};
use lineage_oci::Digest;

/// `s` read as lineage reads a time on its command line (RFC 3339, or the compact forms);
/// panics when it is not one.
pub fn at(s: &str) -> DateTime<Utc> {
    lineage_oci::time::parse_lenient(s).unwrap_or_else(|e| panic!("not a time: {s}: {e}"))
}

/// Builds a [`Status`] field by field; what is not set is absent (`None`), the source is a
/// referrer record.
#[derive(Debug, Clone)]
pub struct StatusBuilder {
    status: Status,
}

impl StatusBuilder {
    /// A status in `state` of `reference`, whose digest is the SHA-256 of the reference's
    /// text.
    pub fn new(reference: &str, state: State) -> StatusBuilder {
        StatusBuilder {
            status: Status {
                reference: reference.to_string(),
                digest: Digest::sha256(reference.as_bytes()),
                state,
                end_of_life: None,
                reason: None,
                version: None,
                revision: None,
                successor: None,
                source: Source::Referrer,
                record: None,
                dialect: None,
                warnings: Vec::new(),
                end_of_support: None,
                days_left: None,
                scope: None,
                base: None,
                signature: None,
            },
        }
    }

    /// The image's digest.
    pub fn digest(mut self, digest: Digest) -> StatusBuilder {
        self.status.digest = digest;
        self
    }

    /// The effective end-of-life (see [`at`] for the forms) and why.
    pub fn end_of_life(mut self, end_of_life: &str, reason: Reason) -> StatusBuilder {
        self.status.end_of_life = Some(at(end_of_life));
        self.status.reason = Some(reason);
        self
    }

    /// The image's version and revision.
    pub fn version(mut self, version: &str, revision: &str) -> StatusBuilder {
        self.status.version = Some(version.to_string());
        self.status.revision = Some(revision.to_string());
        self
    }

    /// The image to move to.
    pub fn successor(
        mut self,
        reference: Option<&str>,
        digest: Option<Digest>,
        revision: Option<&str>,
    ) -> StatusBuilder {
        self.status.successor = Some(Successor {
            reference: reference.map(str::to_string),
            digest,
            revision: revision.map(str::to_string),
        });
        self
    }

    /// The effective record and its dialect's name.
    pub fn record(mut self, record: Digest, dialect: &str) -> StatusBuilder {
        self.status.record = Some(record);
        self.status.dialect = Some(dialect.to_string());
        self
    }

    /// The effective end-of-support (see [`at`] for the forms; issue 18).
    pub fn end_of_support(mut self, end_of_support: &str) -> StatusBuilder {
        self.status.end_of_support = Some(at(end_of_support));
        self
    }

    /// The status.
    pub fn build(self) -> Status {
        self.status
    }
}

/// The status the engine gives for an image of the scenario's lineage, `1.0` revision
/// `20230707` of `reference`: a record decided it; with `end_of_life`, the reason is
/// `superseded`; unless `state` is `supported`, the successor is
/// `registry.example/flasksample:1.0-20230710`.
pub fn scenario_status(reference: &str, state: State, end_of_life: Option<&str>) -> Status {
    let mut b = StatusBuilder::new(reference, state)
        .version("1.0", "20230707")
        .record(Digest::sha256(b"record"), "vnd.lineage.image");
    if let Some(end_of_life) = end_of_life {
        b = b.end_of_life(end_of_life, Reason::Superseded);
    }
    if state != State::Supported {
        b = b.successor(
            Some("registry.example/flasksample:1.0-20230710"),
            Some(Digest::sha256(b"successor")),
            Some("20230710"),
        );
    }
    b.build()
}
