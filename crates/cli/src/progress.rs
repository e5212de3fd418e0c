//! Transfer progress on a terminal: one bar of bytes whose total is known before the first
//! byte moves (the copy plans the image's blobs first), with rate and time left. Blobs that
//! are already there, or mounted, count as done; referrers' blobs, which no plan can know,
//! extend the total as they start.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lineage_oci::{Descriptor, Digest};
use lineage_store::copy::CopyProgress;

/// A byte progress bar on stderr.
pub struct Bar {
    bar: ProgressBar,
    /// Blobs counted in the total: the plan's, then each unplanned one that started.
    counted: Mutex<HashSet<Digest>>,
    /// Blobs whose bytes are moving (their bytes advance the bar as they arrive).
    moving: Mutex<HashSet<Digest>>,
}

impl Bar {
    /// A bar for `label` on stderr; [`crate::output::Printer::bar`] decides whether one is
    /// drawn at all.
    pub fn new(label: &str) -> Arc<Bar> {
        Arc::new(Bar::with(
            label,
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr()),
        ))
    }

    fn with(label: &str, bar: ProgressBar) -> Bar {
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Bar {
            bar,
            counted: Mutex::new(HashSet::new()),
            moving: Mutex::new(HashSet::new()),
        }
    }

    /// Remove the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl CopyProgress for Bar {
    fn planned(&self, blobs: &[Descriptor], total_bytes: u64) {
        lock(&self.counted).extend(blobs.iter().map(|b| b.digest.clone()));
        self.bar.set_length(total_bytes);
        self.bar.reset_eta();
    }
    fn blob_started(&self, desc: &Descriptor) {
        if lock(&self.counted).insert(desc.digest.clone()) {
            self.bar.inc_length(desc.size);
        }
        lock(&self.moving).insert(desc.digest.clone());
        self.bar.set_message(desc.digest.short().to_string());
    }
    fn blob_bytes(&self, _desc: &Descriptor, n: u64) {
        self.bar.inc(n);
    }
    fn blob_finished(&self, desc: &Descriptor, _skipped: bool) {
        // Already there or mounted: no bytes moved, but it is done.
        if !lock(&self.moving).contains(&desc.digest) && lock(&self.counted).contains(&desc.digest)
        {
            self.bar.inc(desc.size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lineage_oci::media_type;

    fn blob(name: &str, size: u64) -> Descriptor {
        Descriptor::new(
            media_type::OCI_LAYER_TAR,
            Digest::sha256(name.as_bytes()),
            size,
        )
    }

    #[test]
    fn the_total_is_known_first_and_never_shrinks() {
        let bar = Bar::with("copying", ProgressBar::hidden());
        let (a, b, c) = (blob("a", 100), blob("b", 200), blob("c", 50));
        bar.planned(&[a.clone(), b.clone()], 300);
        assert_eq!(bar.bar.length(), Some(300));
        // Already in the destination: done without bytes.
        bar.blob_finished(&a, true);
        assert_eq!(bar.bar.position(), 100);
        // A planned blob moves: the total stays.
        bar.blob_started(&b);
        bar.blob_bytes(&b, 200);
        bar.blob_finished(&b, false);
        assert_eq!((bar.bar.position(), bar.bar.length()), (300, Some(300)));
        // A referrer's blob, unplanned, extends the total.
        bar.blob_started(&c);
        bar.blob_bytes(&c, 50);
        bar.blob_finished(&c, false);
        assert_eq!((bar.bar.position(), bar.bar.length()), (350, Some(350)));
    }
}
