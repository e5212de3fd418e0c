//! Transfer progress on a terminal: one bar of bytes that grows as blobs are discovered.

use std::io::IsTerminal;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lineage_oci::Descriptor;
use lineage_store::copy::CopyProgress;

/// A byte progress bar, drawn only when stderr is a terminal.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar for `label`, or `None` when stderr is not a terminal or output is quiet.
    pub fn new(label: &str, quiet: bool) -> Option<Arc<Bar>> {
        if quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Some(Arc::new(Bar { bar }))
    }

    /// Remove the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl CopyProgress for Bar {
    fn blob_started(&self, desc: &Descriptor) {
        self.bar.inc_length(desc.size);
        self.bar.set_message(desc.digest.short().to_string());
    }
    fn blob_bytes(&self, _desc: &Descriptor, n: u64) {
        self.bar.inc(n);
    }
}
