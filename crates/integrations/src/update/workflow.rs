//! GitHub workflow reader: `jobs.<id>.container` (a string, or its `image`),
//! `jobs.<id>.services.<name>.image`, and steps that run `uses: docker://image`. Expressions
//! (`${{ matrix.image }}`) are not references and are skipped.

use super::Found;
use super::text;
use super::yaml::{self, Node, Scalar};

pub(crate) fn scan(text: &str, found: &mut Found) {
    let mut add = |s: &Scalar, skip: usize| {
        found.text(
            s.line,
            vec![text::piece(text, s.span.start + skip..s.span.end)],
        );
    };
    for doc in yaml::documents(text) {
        let Some(jobs) = doc.get("jobs") else {
            continue;
        };
        for job in jobs.entries() {
            let job = &job.value;
            match job.get("container") {
                Some(Node::Scalar(s)) => add(s, 0),
                Some(c @ Node::Map(_)) => {
                    if let Some(s) = c.scalar("image") {
                        add(s, 0);
                    }
                }
                _ => {}
            }
            if let Some(services) = job.get("services") {
                for service in services.entries() {
                    if let Some(s) = service.value.scalar("image") {
                        add(s, 0);
                    }
                }
            }
            if let Some(Node::Seq(steps)) = job.get("steps") {
                for step in steps {
                    if let Some(s) = step.scalar("uses")
                        && s.value.starts_with("docker://")
                    {
                        add(s, "docker://".len());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FileKind, scan};

    #[test]
    fn containers_services_and_docker_steps() {
        let t = "\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    container: registry.example.com/ci:1.0
    services:
      db:
        image: \"postgres:16\"
        ports: [\"5432:5432\"]
      cache:
        image: ${{ matrix.cache }}
    steps:
      - uses: actions/checkout@v4
      - uses: docker://alpine:3.19
  build:
    container:
      image: 'node:20'   # quoted
      options: --cpus 1
";
        let s = scan(FileKind::Workflow, t);
        let w = s.written();
        assert_eq!(
            w,
            vec![
                (5, "registry.example.com/ci:1.0"),
                (8, "postgres:16"),
                (14, "alpine:3.19"),
                (17, "node:20"),
            ]
        );
    }
}
