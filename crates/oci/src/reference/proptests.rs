use proptest::prelude::*;

use super::*;

fn path_component() -> impl Strategy<Value = String> {
    (
        "[a-z0-9]{1,6}",
        proptest::collection::vec(("[._]|__|-{1,3}", "[a-z0-9]{1,6}"), 0..3),
    )
        .prop_map(|(first, rest)| {
            let mut s = first;
            for (sep, alnum) in rest {
                s.push_str(&sep);
                s.push_str(&alnum);
            }
            s
        })
}

fn path() -> impl Strategy<Value = String> {
    proptest::collection::vec(path_component(), 1..5).prop_map(|v| v.join("/"))
}

fn domain_component() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]{0,6}[a-zA-Z0-9]"
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("localhost".to_string()),
        Just("index.docker.io".to_string()),
        Just("docker.io".to_string()),
        proptest::collection::vec(domain_component(), 2..4).prop_map(|v| v.join(".")),
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        "\\[[a-fA-F0-9:]{1,39}\\]",
        domain_component(),
    ]
}

/// A `host[:port]` that normalised parsing takes for a registry.
fn domain() -> impl Strategy<Value = String> {
    (host(), proptest::option::of("[0-9]{1,5}"))
        .prop_map(|(h, p)| match p {
            Some(p) => format!("{h}:{p}"),
            None => h,
        })
        .prop_filter("recognised as a registry", |d| is_recognised_domain(d))
}

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
}

fn digest() -> impl Strategy<Value = Digest> {
    prop_oneof!["sha256:[a-f0-9]{64}", "sha512:[a-f0-9]{128}"]
        .prop_map(|s| s.parse::<Digest>().unwrap())
}

#[derive(Debug, Clone)]
struct Generated {
    domain: Option<String>,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Generated {
    fn input(&self) -> String {
        let mut s = String::new();
        if let Some(d) = &self.domain {
            s.push_str(d);
            s.push('/');
        }
        s.push_str(&self.path);
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d.as_str());
        }
        s
    }

    /// What ParseNormalizedNamed + TagNameOnly give.
    fn expected(&self) -> ImageRef {
        let registry = match self.domain.as_deref() {
            None | Some(DOCKER_HUB_LEGACY) => DOCKER_HUB.to_string(),
            Some(d) => d.to_string(),
        };
        let repository = if registry == DOCKER_HUB && !self.path.contains('/') {
            format!("library/{}", self.path)
        } else {
            self.path.clone()
        };
        let tag_defaulted = self.tag.is_none() && self.digest.is_none();
        ImageRef {
            registry,
            repository,
            tag: if tag_defaulted {
                Some("latest".to_string())
            } else {
                self.tag.clone()
            },
            digest: self.digest.clone(),
            tag_defaulted,
        }
    }
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        proptest::option::of(domain()),
        path(),
        proptest::option::of(tag()),
        proptest::option::of(digest()),
    )
        .prop_map(|(domain, path, tag, digest)| Generated {
            domain,
            path,
            tag,
            digest,
        })
        .prop_filter(
            "domain-less first component must not look like a host",
            |g| {
                g.domain.is_some()
                    || match g.path.split_once('/') {
                        Some((first, _)) => !is_recognised_domain(first),
                        None => true,
                    }
            },
        )
}

fn fields(r: &ImageRef) -> (&str, &str, Option<&str>, Option<&Digest>) {
    (r.registry(), r.repository(), r.tag(), r.digest())
}

fn assert_round_trips(r: &ImageRef) -> Result<(), TestCaseError> {
    let printed = r.to_string();
    let back = ImageRef::parse(&printed)
        .map_err(|e| TestCaseError::fail(format!("`{printed}` does not re-parse: {e}")))?;
    prop_assert_eq!(fields(&back), fields(r));
    prop_assert!(!back.tag_defaulted() || r.tag_defaulted());
    prop_assert_eq!(&back.to_string(), &printed);
    let rebuilt = ImageRef::new(r.registry(), r.repository(), Some(r.target()))
        .map_err(|e| TestCaseError::fail(format!("new() refuses parts of `{printed}`: {e}")))?;
    prop_assert_eq!(rebuilt.repository_ref(), r.repository_ref());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_references_parse_as_modelled(g in generated()) {
        let input = g.input();
        let parsed = ImageRef::parse(&input)
            .map_err(|e| TestCaseError::fail(format!("`{input}` should parse: {e}")))?;
        prop_assert_eq!(&parsed, &g.expected());
        assert_round_trips(&parsed)?;
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        if let Ok(r) = ImageRef::parse(&s) {
            assert_round_trips(&r)?;
        }
    }

    #[test]
    fn grammar_alphabet_strings_never_panic(s in "[a-zA-Z0-9:/@._\\-\\[\\]é]{0,40}") {
        if let Ok(r) = ImageRef::parse(&s) {
            assert_round_trips(&r)?;
        }
    }

    #[test]
    fn mutated_references_never_panic(
        g in generated(),
        pos in any::<prop::sample::Index>(),
        c in prop_oneof![
            Just('/'), Just(':'), Just('@'), Just('['), Just(']'), Just('.'),
            Just('_'), Just('-'), Just('A'), Just('é'), Just('😀'),
        ],
    ) {
        let mut chars: Vec<char> = g.input().chars().collect();
        let at = pos.index(chars.len() + 1);
        chars.insert(at, c);
        let s: String = chars.into_iter().collect();
        if let Ok(r) = ImageRef::parse(&s) {
            assert_round_trips(&r)?;
        }
    }
}
