//! `lineage update [PATH…]`.

use crate::args::UpdateArgs;
use crate::open::Opener;

/// Find image references and move end-of-life ones to their successors.
pub async fn run(
    _opener: &Opener,
    _namespace: &str,
    _a: UpdateArgs,
    _quiet: bool,
) -> anyhow::Result<()> {
    anyhow::bail!("lineage update is being written")
}
