//! Compose file reader: `services.<name>.image` (and the top-level services of a v1 file, and
//! `x-*` extension fields holding an `image`), skipped when the service also has `build` (the
//! image is then what compose builds, not one it pulls). `${VAR:-default}` and `${VAR-default}`
//! use the default's characters; `${VAR}` without one cannot be read (the environment and
//! `.env` are not consulted).

use super::text;
use super::yaml::{self, Node, Scalar};
use super::{Found, Piece};

/// Top-level keys of a compose file that are not services.
const NOT_SERVICES: [&str; 6] = [
    "version", "name", "networks", "volumes", "secrets", "configs",
];

pub(crate) fn scan(text: &str, found: &mut Found) {
    for doc in yaml::documents(text) {
        let mut services: Vec<&Node> = match doc.get("services") {
            Some(s) => s.entries().iter().map(|e| &e.value).collect(),
            None => doc
                .entries()
                .iter()
                .filter(|e| !NOT_SERVICES.contains(&e.key.as_str()) && !e.key.starts_with("x-"))
                .map(|e| &e.value)
                .collect(),
        };
        services.extend(
            doc.entries()
                .iter()
                .filter(|e| e.key.starts_with("x-"))
                .map(|e| &e.value),
        );
        for service in services {
            if service.get("build").is_some() {
                continue;
            }
            if let Some(s) = service.scalar("image") {
                image(text, s, found);
            }
        }
    }
}

fn image(text: &str, s: &Scalar, found: &mut Found) {
    let unset = |_: &str| -> Option<Vec<Piece>> { None };
    if !s.value.contains('$') {
        found.image(s.line, vec![text::piece(text, s.span.clone())]);
        return;
    }
    match text::expand(text, s.span.clone(), &unset) {
        Ok(pieces) => found.image(s.line, pieces),
        Err(e) => found.note(
            s.line,
            format!("cannot read the image `{}`: {}", s.value, e.describe()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FileKind, Shape, scan};

    #[test]
    fn services_extensions_build_and_interpolation() {
        let t = "\
version: \"3.9\"
x-common: &common
  image: \"base:1.0\"
services:
  web:
    <<: *common
    image: registry.example.com/web:1.0 # pinned
  built:
    build: .
    image: registry.example.com/built:1.0
  db:
    image: 'postgres:${PG_TAG:-16.2}'
  env:
    image: app:${TAG}
  # cache:
  #   image: redis:7
volumes:
  data: {}
";
        let s = scan(FileKind::Compose, t);
        let w = s.written();
        assert_eq!(
            w,
            vec![
                (3, "base:1.0"),
                (7, "registry.example.com/web:1.0"),
                (12, "postgres:16.2")
            ]
        );
        let Shape::Text(p) = &s.occurrences[2].shape else {
            panic!()
        };
        assert_eq!(p.len(), 2);
        assert_eq!(&t[p[1].span.clone()], "16.2");
        assert_eq!(s.notes.len(), 1);
        assert_eq!(s.notes[0].line, 14);
    }

    #[test]
    fn version_one_files_have_services_at_the_top() {
        let t = "web:\n  image: nginx:1.25\nversion: '1'\n";
        let s = scan(FileKind::Compose, t);
        assert_eq!(s.occurrences.len(), 1);
        assert_eq!(s.occurrences[0].written, "nginx:1.25");
    }
}
