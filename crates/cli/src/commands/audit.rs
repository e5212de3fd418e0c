//! `lineage audit [FILE|-]`.

use crate::args::AuditArgs;
use crate::open::Opener;

/// A fleet view of the images in use.
pub async fn run(_opener: &Opener, _namespace: &str, _a: AuditArgs) -> anyhow::Result<()> {
    anyhow::bail!("lineage audit is being written")
}
