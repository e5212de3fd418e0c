//! The updater: finds the image references a file pins and moves end-of-life and superseded
//! ones to their successors, editing only the references' characters.
//!
//! The flow, each step pure:
//!
//! 1. [`FileKind::from_path`] says which reader a file needs (Dockerfile, compose, Kubernetes,
//!    Helm values, kustomization, GitHub workflow).
//! 2. [`scan`] returns every [`Occurrence`]: the reference as the file writes it (variables
//!    expanded), where its characters are (the [`Shape`]: byte ranges of the file), and the line
//!    that uses it. Nothing is re-serialised: the YAML reader is a line-based tokeniser that
//!    keeps byte offsets (see `yaml.rs`), the Dockerfile reader follows continuations, parser
//!    directives, heredocs and `ARG` defaults.
//! 3. The caller looks up [`Occurrence::key`] of each (the normalised reference; many
//!    occurrences share one lookup), with the successor followed to the end of its chain
//!    (`Lookup::follow_successors`), so a file two revisions behind moves to the newest.
//! 4. [`plan`] computes the edits: for a reference whose status is `end-of-life` or
//!    `superseded` and that names a successor, the successor in the form the file used (tag →
//!    the successor's tag, digest → its digest, `tag@digest` → both; the registry and
//!    repository spelled as the file spelled them when they do not change). It splices the
//!    edits, then reads the result again and keeps it only if every reference came out as
//!    planned (Renovate's `confirmIfDepUpdated`).
//! 5. [`unified_diff`] shows the change; [`renovate_config`] expresses the same moves as
//!    Renovate `packageRules` (`replacementName`/`replacementVersion`).
//!
//! Research behind the forms: `research/consumers.md` §3.3 (what the bots read and write) and
//! §4 (reference grammar).

mod compose;
mod diff;
mod dockerfile;
mod helm;
mod kind;
mod kubernetes;
mod kustomize;
mod plan;
mod renovate;
mod text;
mod workflow;
mod written;
mod yaml;

use std::ops::Range;

use lineage_oci::ImageRef;

pub use diff::unified_diff;
pub use kind::FileKind;
pub use plan::{FilePlan, Move, plan};
pub use renovate::{Renovate, renovate_config};

/// A run of the file's bytes and the text there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The byte range in the file.
    pub span: Range<usize>,
    /// The text at `span`.
    pub text: String,
}

/// Where an occurrence's characters are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// One string, the concatenation of these pieces: one piece for a literal reference,
    /// several when variables build it (`FROM ${BASE}:${TAG}` uses the `ARG` defaults'
    /// characters).
    Text(Vec<Piece>),
    /// Separate scalars joined as `registry/repository:tag@digest`: Helm's `registry`
    /// (optional), `repository`, `tag` (which may carry `@digest`) and `digest`; kustomize's
    /// `newName` (or `name`), `newTag` and `digest`.
    Fields {
        /// The `registry` scalar.
        registry: Option<Piece>,
        /// The `repository` scalar.
        repository: Piece,
        /// The `tag` (or `version`) scalar.
        tag: Option<Piece>,
        /// The `digest` scalar, when it is not empty.
        digest: Option<Piece>,
        /// Whether the repository scalar selects the image rather than naming it
        /// (kustomize's `name` without `newName`): then a move to another repository cannot
        /// be spliced.
        fixed_repository: bool,
    },
}

/// One image reference written in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The reference as the file writes it, variables expanded (for Helm's fields, joined).
    pub written: String,
    /// The same, normalised.
    pub image: ImageRef,
    /// The 1-based line that uses it (the `FROM` line, the `image:` line).
    pub line: usize,
    /// Where its characters are.
    pub shape: Shape,
}

impl Occurrence {
    /// The reference to look up: the normalised form, shared by every spelling of the image.
    pub fn key(&self) -> String {
        self.image.to_string()
    }
}

/// Something a reader or the planner could not do, at a line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The 1-based line.
    pub line: usize,
    /// What happened, a lowercase sentence fragment.
    pub message: String,
}

/// What [`scan`] found in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileScan {
    /// The kind the file was read as.
    pub kind: FileKind,
    /// The references, in file order.
    pub occurrences: Vec<Occurrence>,
    /// References that could not be read (an `ARG` without a default, a reference split over
    /// a line continuation).
    pub notes: Vec<Note>,
}

impl FileScan {
    /// Each reference's line and text as written, in file order.
    pub fn written(&self) -> Vec<(usize, &str)> {
        self.occurrences
            .iter()
            .map(|o| (o.line, o.written.as_str()))
            .collect()
    }
}

/// Every image reference `text` writes, read as a file of `kind`.
pub fn scan(kind: FileKind, text: &str) -> FileScan {
    let mut found = Found::default();
    match kind {
        FileKind::Dockerfile => dockerfile::scan(text, &mut found),
        FileKind::Compose => compose::scan(text, &mut found),
        FileKind::Kubernetes => kubernetes::scan(text, &mut found),
        FileKind::HelmValues => helm::scan(text, &mut found),
        FileKind::Kustomization => kustomize::scan(text, &mut found),
        FileKind::Workflow => workflow::scan(text, &mut found),
    }
    found
        .occurrences
        .sort_by_key(|o| (o.line, first_byte(&o.shape)));
    FileScan {
        kind,
        occurrences: found.occurrences,
        notes: found.notes,
    }
}

fn first_byte(shape: &Shape) -> usize {
    match shape {
        Shape::Text(pieces) => pieces.first().map_or(0, |p| p.span.start),
        Shape::Fields { repository, .. } => repository.span.start,
    }
}

/// What the readers collect.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) occurrences: Vec<Occurrence>,
    pub(crate) notes: Vec<Note>,
}

impl Found {
    /// Record `pieces` (read at `line`) when they spell a reference; a string that is not one
    /// is not an image and is dropped silently.
    pub(crate) fn text(&mut self, line: usize, pieces: Vec<Piece>) {
        let written: String = pieces.iter().map(|p| p.text.as_str()).collect();
        if let Some(image) = parse_reference(&written) {
            self.occurrences.push(Occurrence {
                written,
                image,
                line,
                shape: Shape::Text(pieces),
            });
        }
    }

    /// Record `pieces` that the file gives as an image (the value of an `image:` key): one
    /// that is not a reference (a template such as `apache/airflow:|version|`, a typo) is
    /// noted as not moved rather than dropped. An empty value is left to something else.
    pub(crate) fn image(&mut self, line: usize, pieces: Vec<Piece>) {
        let written: String = pieces.iter().map(|p| p.text.as_str()).collect();
        if written.trim().is_empty() {
            return;
        }
        if parse_reference(&written).is_none() {
            self.note(line, not_moved(&written, "it is not an image reference"));
            return;
        }
        self.text(line, pieces);
    }

    /// Record the reference that separate scalars spell (`registry/repository:tag@digest`),
    /// when there is a tag or a digest (without both, the version is left to something else)
    /// and the result is a reference.
    pub(crate) fn fields(
        &mut self,
        text: &str,
        registry: Option<&yaml::Scalar>,
        repository: &yaml::Scalar,
        tag: Option<&yaml::Scalar>,
        digest: Option<&yaml::Scalar>,
        fixed_repository: bool,
    ) {
        if tag.is_none() && digest.is_none() {
            return;
        }
        let mut written = String::new();
        if let Some(r) = registry {
            written.push_str(&r.value);
            written.push('/');
        }
        written.push_str(&repository.value);
        if let Some(t) = tag {
            written.push(':');
            written.push_str(&t.value);
        }
        if let Some(d) = digest {
            written.push('@');
            written.push_str(&d.value);
        }
        if let Some(d) = digest
            && d.value.parse::<lineage_oci::Digest>().is_err()
        {
            let why = format!(
                "its digest `{}` is not a full digest (`sha256:` and 64 hex digits)",
                d.value
            );
            self.note(d.line, not_moved(&written, &why));
            return;
        }
        let Some(image) = parse_reference(&written) else {
            self.note(
                repository.line,
                not_moved(&written, "it is not an image reference"),
            );
            return;
        };
        let piece = |s: &yaml::Scalar| text::piece(text, s.span.clone());
        self.occurrences.push(Occurrence {
            written,
            image,
            line: repository.line,
            shape: Shape::Fields {
                registry: registry.map(piece),
                repository: piece(repository),
                tag: tag.map(piece),
                digest: digest.map(piece),
                fixed_repository,
            },
        });
    }

    /// Record a note.
    pub(crate) fn note(&mut self, line: usize, message: String) {
        self.notes.push(Note { line, message });
    }
}

/// The note for an image the file names that `lineage update` leaves as it is, and why.
pub(crate) fn not_moved(written: &str, why: &str) -> String {
    format!("`{written}` is not moved: {why}")
}

/// `input` as a reference, when it is one. Template expressions (`{{ … }}`, `${{ … }}`) and
/// empty strings are not.
pub(crate) fn parse_reference(input: &str) -> Option<ImageRef> {
    if input.is_empty() || input.contains(['$', '{', '}', ' ', '\t']) {
        return None;
    }
    ImageRef::parse(input).ok()
}
