//! Record scope (issue 18, DESIGN §8.3): `NS.scope` says where a record may travel
//! (`public`, `internal`, or free text). The one rule of which scopes a reader or a copy
//! takes, [`ScopeSet::admits`]: an unscoped referrer always passes (records written before
//! scopes existed, and other tools' referrers, carry none); a scoped one passes when its
//! scope is in the set, compared without case. The default set, for promotions, is `public`.
//!
//! Used by `lineage copy --referrers` and `lineage release --referrers` (through
//! [`ScopeFilter`], which decides from each referrer manifest's own annotations, read before
//! it is copied, so a listing that drops annotations cannot leak a record), and by
//! `lineage status --scope` (the referrers listing is narrowed before the decision).

use std::collections::BTreeMap;

use lineage_oci::{Descriptor, RawManifest};

use crate::profile::Namespace;

/// The scope that travels by default.
pub const PUBLIC: &str = "public";

/// The scopes a copy carries or a reader reads; unscoped always passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSet {
    /// Lowercase, trimmed scope names.
    scopes: Vec<String>,
    /// `*` was given: every scope passes.
    any: bool,
}

impl Default for ScopeSet {
    /// `public` (and unscoped).
    fn default() -> ScopeSet {
        ScopeSet {
            scopes: vec![PUBLIC.to_string()],
            any: false,
        }
    }
}

impl ScopeSet {
    /// The set `scopes` names (`*` for every scope); the default (`public`) when empty.
    pub fn new<S: AsRef<str>>(scopes: &[S]) -> ScopeSet {
        if scopes.is_empty() {
            return ScopeSet::default();
        }
        let scopes: Vec<String> = scopes
            .iter()
            .map(|s| s.as_ref().trim().to_ascii_lowercase())
            .collect();
        ScopeSet {
            any: scopes.iter().any(|s| s == "*"),
            scopes,
        }
    }

    /// Whether a referrer of scope `scope` passes: unscoped (absent or blank) always, a
    /// scoped one when the set names it.
    pub fn admits(&self, scope: Option<&str>) -> bool {
        match scope.map(str::trim).filter(|s| !s.is_empty()) {
            None => true,
            Some(_) if self.any => true,
            Some(s) => self.scopes.iter().any(|x| x.eq_ignore_ascii_case(s)),
        }
    }

    /// Whether a referrer with these annotations passes: every `NS.scope` among
    /// `namespaces` must be admitted (a referrer that names two scopes travels only where
    /// both may).
    pub fn admits_annotations(
        &self,
        annotations: Option<&BTreeMap<String, String>>,
        namespaces: &[Namespace],
    ) -> bool {
        let Some(annotations) = annotations else {
            return true;
        };
        namespaces
            .iter()
            .all(|ns| self.admits(annotations.get(&ns.scope_key()).map(String::as_str)))
    }

    /// The descriptors of a referrers listing that pass, by the annotations the listing
    /// carries (`lineage status --scope`).
    pub fn narrow(&self, listing: Vec<Descriptor>, namespaces: &[Namespace]) -> Vec<Descriptor> {
        listing
            .into_iter()
            .filter(|d| self.admits_annotations(d.annotations.as_ref(), namespaces))
            .collect()
    }
}

/// The copy filter of a promotion: referrers whose scope may not travel are left out,
/// decided from each referrer manifest's own annotations.
#[derive(Debug, Clone)]
pub struct ScopeFilter {
    /// The scopes that travel.
    pub scopes: ScopeSet,
    /// The namespaces whose `NS.scope` is read.
    pub namespaces: Vec<Namespace>,
}

impl lineage_store::copy::ReferrerFilter for ScopeFilter {
    fn admits(&self, referrer: &RawManifest) -> bool {
        match referrer.view() {
            Ok(view) => self
                .scopes
                .admits_annotations(Some(&view.annotations), &self.namespaces),
            // What cannot be checked is left out: a scoped record must never leak.
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unscoped_and_public_travel_by_default() {
        let set = ScopeSet::default();
        assert!(set.admits(None));
        assert!(set.admits(Some(" ")));
        assert!(set.admits(Some("public")));
        assert!(set.admits(Some("Public")));
        assert!(!set.admits(Some("internal")));
        assert!(!set.admits(Some("staging only")));
    }

    #[test]
    fn named_scopes_and_every_scope() {
        let set = ScopeSet::new(&["internal"]);
        assert!(set.admits(Some("internal")) && set.admits(None));
        assert!(!set.admits(Some("public")));
        let all = ScopeSet::new(&["*"]);
        assert!(all.admits(Some("anything")));
        assert_eq!(ScopeSet::new::<&str>(&[]), ScopeSet::default());
    }

    #[test]
    fn annotations_of_every_namespace_are_read() {
        let namespaces = [
            Namespace::default(),
            Namespace::new("vnd.myorganization.image").unwrap(),
        ];
        let set = ScopeSet::default();
        assert!(set.admits_annotations(None, &namespaces));
        assert!(set.admits_annotations(Some(&ann(&[("x", "y")])), &namespaces));
        assert!(!set.admits_annotations(
            Some(&ann(&[("vnd.myorganization.image.scope", "internal")])),
            &namespaces
        ));
        assert!(set.admits_annotations(
            Some(&ann(&[("vnd.lineage.image.scope", "public")])),
            &namespaces
        ));
    }
}
