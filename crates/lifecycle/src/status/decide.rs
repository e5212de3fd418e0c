//! The decision: the facts of an image in, its [`Status`] out, by the rules in the
//! [module documentation](super). Pure: no request, no clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lineage_oci::{Descriptor, Digest};

use super::types::{RollingTagInfo, Source, State, Status, StatusInput, Successor};
use crate::manifest_fallback;
use crate::profile::{
    ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_VERSION, Namespace, Reason,
};
use crate::record::{Annotations, Records};

/// What the record or the manifest declares.
struct Declared {
    end_of_life: Option<DateTime<Utc>>,
    reason: Option<Reason>,
    successor: Option<String>,
    superseded_by: Option<Digest>,
    source: Source,
    record: Option<Digest>,
    dialect: String,
    end_of_support: Option<DateTime<Utc>>,
    scope: Option<String>,
}

/// Decide the status of an image (DESIGN §4; the rules are in the [`status`](super) module
/// documentation).
pub fn decide(input: StatusInput) -> Status {
    decide_from(
        input.reference,
        Facts {
            digest: &input.digest,
            image_annotations: &input.image_annotations,
            referrers: &input.referrers,
            namespaces: &input.namespaces,
            rolling_tag: input.rolling_tag.as_ref(),
            read: None,
        },
        input.at,
    )
}

/// What [`decide`] reads, borrowed: the engine decides from facts a cache may hold, on every
/// status, and must not copy them to do it.
pub(crate) struct Facts<'a> {
    pub(crate) digest: &'a Digest,
    pub(crate) image_annotations: &'a BTreeMap<String, String>,
    pub(crate) referrers: &'a [Descriptor],
    pub(crate) namespaces: &'a [Namespace],
    pub(crate) rolling_tag: Option<&'a RollingTagInfo>,
    /// `referrers` already read as records (`Records::read` of them), when the caller has
    /// (a trust policy's selection), so they are not parsed twice.
    pub(crate) read: Option<Records>,
}

/// [`decide`] over borrowed facts.
pub(crate) fn decide_from(reference: String, facts: Facts<'_>, at: DateTime<Utc>) -> Status {
    let Facts {
        digest,
        image_annotations,
        referrers,
        namespaces,
        rolling_tag,
        read,
    } = facts;
    let Records {
        records,
        mut warnings,
    } = read.unwrap_or_else(|| Records::read(referrers, namespaces));
    let record = crate::record::effective(&records);

    let declared =
        match record {
            Some(r) => Some(Declared {
                end_of_life: r.end_of_life,
                reason: r.reason.clone(),
                successor: r.successor.clone(),
                superseded_by: r.superseded_by.clone(),
                source: Source::Referrer,
                record: Some(r.digest.clone()),
                dialect: r.dialect.name().to_string(),
                end_of_support: r.end_of_support,
                scope: r.scope.clone(),
            }),
            None => manifest_fallback::read(digest, image_annotations, namespaces, &mut warnings)
                .map(|m| Declared {
                    end_of_life: Some(m.end_of_life),
                    reason: m.reason,
                    successor: m.successor,
                    superseded_by: m.superseded_by,
                    source: Source::Manifest,
                    record: None,
                    dialect: m.dialect,
                    end_of_support: m.end_of_support,
                    scope: None,
                }),
        };

    let image = Annotations {
        digest,
        map: image_annotations,
    };
    // The rolling tag's image, when it is another image than this one.
    let other = rolling_tag.filter(|r| r.digest != *digest);

    let end_of_life = declared.as_ref().and_then(|d| d.end_of_life);
    let end_of_support = declared.as_ref().and_then(|d| d.end_of_support);
    let (state, source) = match (
        super::milestones::state(end_of_support, end_of_life, at),
        &declared,
    ) {
        (Some(state), Some(d)) => (state, d.source),
        _ => {
            let created_later = other.is_some_and(|r| {
                let mine = image.time(ANNOTATION_CREATED, &mut warnings);
                matches!((r.created, mine), (Some(theirs), Some(mine)) if theirs > mine)
            });
            match &declared {
                _ if created_later => (State::Superseded, Source::Lineage),
                Some(d) => (State::Supported, d.source),
                None if rolling_tag.is_some() => (State::Supported, Source::Lineage),
                None => (State::Unknown, Source::None),
            }
        }
    };

    let recorded = declared
        .as_ref()
        .filter(|d| d.successor.is_some() || d.superseded_by.is_some());
    let successor = match (recorded, other) {
        (Some(d), _) => Some(Successor {
            reference: d.successor.clone(),
            digest: d.superseded_by.clone(),
            revision: rolling_tag
                .filter(|r| d.superseded_by.as_ref() == Some(&r.digest))
                .and_then(|r| r.revision.clone()),
        }),
        (None, Some(r)) if state != State::Supported => Some(Successor {
            reference: Some(r.reference.clone()),
            digest: Some(r.digest.clone()),
            revision: r.revision.clone(),
        }),
        _ => None,
    };

    Status {
        reference,
        digest: digest.clone(),
        state,
        end_of_life,
        reason: declared.as_ref().and_then(|d| d.reason.clone()),
        version: image
            .text(ANNOTATION_VERSION)
            .or_else(|| record.and_then(|r| r.version.clone())),
        revision: image
            .text(ANNOTATION_REVISION)
            .or_else(|| record.and_then(|r| r.revision.clone())),
        successor,
        source,
        record: declared.as_ref().and_then(|d| d.record.clone()),
        scope: declared.as_ref().and_then(|d| d.scope.clone()),
        dialect: declared.map(|d| d.dialect),
        warnings,
        end_of_support,
        days_left: super::milestones::days_left(end_of_support, end_of_life, at),
        base: None,
        signature: None,
    }
}
