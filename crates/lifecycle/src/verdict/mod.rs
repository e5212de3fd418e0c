//! The verdict on an image and its words: what a [`Status`](crate::Status) (its successor
//! chain already followed) calls for, and every sentence lineage prints about it.
//!
//! - [`policy`]: the admission policy, pure: a status judged at an instant ([`state_at`]),
//!   in enforce, warn or audit [`Mode`], with a grace period and fail-open or fail-closed
//!   ([`Policy`], [`Judgement`], [`Verdict`]);
//! - [`words`]: the sentences and actions: admission messages and warnings
//!   ([`words::admission`]), the report's action, summary, markdown and SARIF texts
//!   ([`Facts`]), the audit's successor column and the updater's reasons.
//!
//! Every consumer (the admission webhook, `lineage report`, `lineage audit`,
//! `lineage update`) words a verdict through this module; none composes one itself.

pub mod policy;
pub mod words;

pub use policy::{
    Inherited, Judgement, Mode, Policy, UnknownInherited, UnknownMode, Verdict, days_left_at,
    state_at,
};
pub use words::{AdmissionWords, Facts};

#[cfg(test)]
pub(crate) mod tests;
