use super::*;

const H: &str = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

fn d256() -> String {
    format!("sha256:{H}")
}

fn ok(s: &str) -> ImageRef {
    match ImageRef::parse(s) {
        Ok(r) => r,
        Err(e) => panic!("`{s}` should parse: {e}"),
    }
}

fn err(s: &str) -> ReferenceError {
    match ImageRef::parse(s) {
        Ok(r) => panic!("`{s}` should not parse, got {r:?}"),
        Err(e) => e,
    }
}

/// registry, repository, tag, digest, tag_defaulted
type Parts<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, bool);

fn parts(r: &ImageRef) -> Parts<'_> {
    (
        r.registry(),
        r.repository(),
        r.tag(),
        r.digest().map(Digest::as_str),
        r.tag_defaulted(),
    )
}

#[test]
fn brief_vectors() {
    let d = d256();
    let cases: Vec<(String, Parts<'_>)> = vec![
        (
            "ubuntu".into(),
            ("docker.io", "library/ubuntu", Some("latest"), None, true),
        ),
        (
            "docker.io/ubuntu:22.04".into(),
            ("docker.io", "library/ubuntu", Some("22.04"), None, false),
        ),
        (
            "index.docker.io/bitnami/redis".into(),
            ("docker.io", "bitnami/redis", Some("latest"), None, true),
        ),
        (
            "foo/bar".into(),
            ("docker.io", "foo/bar", Some("latest"), None, true),
        ),
        (
            "localhost/foo".into(),
            ("localhost", "foo", Some("latest"), None, true),
        ),
        (
            "localhost:5000/a/b:1".into(),
            ("localhost:5000", "a/b", Some("1"), None, false),
        ),
        (
            "myhost:5000/img".into(),
            ("myhost:5000", "img", Some("latest"), None, true),
        ),
        (
            format!("[::1]:5000/img@{d}"),
            ("[::1]:5000", "img", None, Some(d.as_str()), false),
        ),
        ("Foo/bar".into(), ("Foo", "bar", Some("latest"), None, true)),
        (
            format!("node:20@{d}"),
            (
                "docker.io",
                "library/node",
                Some("20"),
                Some(d.as_str()),
                false,
            ),
        ),
    ];
    for (input, want) in &cases {
        assert_eq!(parts(&ok(input)), *want, "{input}");
    }
    assert!(matches!(
        err("ghcr.io/Org/app"),
        ReferenceError::Uppercase { repository, .. } if repository == "Org/app"
    ));
    assert!(matches!(
        err("a/b:-x"),
        ReferenceError::Tag { tag, .. } if tag == "-x"
    ));
}

#[test]
fn tag_and_digest_both_kept_and_target_prefers_digest() {
    let r = ok(&format!("node:20@{}", d256()));
    assert_eq!(r.target(), TagOrDigest::Digest(d256().parse().unwrap()));
    assert_eq!(
        r.to_string(),
        format!("docker.io/library/node:20@{}", d256())
    );
    assert_eq!(r.familiar(), format!("node:20@{}", d256()));
    let only_digest = ok(&format!("node@{}", d256()));
    assert_eq!(only_digest.tag(), None);
    assert!(!only_digest.tag_defaulted());
    assert_eq!(
        only_digest.to_string(),
        format!("docker.io/library/node@{}", d256())
    );
    let sha512 = format!("sha512:{}", "ab".repeat(64));
    assert_eq!(
        ok(&format!("a.io/x@{sha512}")).digest().unwrap().as_str(),
        sha512
    );
}

#[test]
fn go_normalize_vectors() {
    // TestValidateReferenceName / TestValidateRemoteName (valid).
    for s in [
        "docker/docker",
        "library/debian",
        "debian",
        "docker.io/docker/docker",
        "docker.io/library/debian",
        "docker.io/debian",
        "index.docker.io/docker/docker",
        "index.docker.io/library/debian",
        "index.docker.io/debian",
        "127.0.0.1:5000/docker/docker",
        "127.0.0.1:5000/library/debian",
        "127.0.0.1:5000/debian",
        "192.168.0.1",
        "192.168.0.1:80",
        "192.168.0.1:8/debian",
        "192.168.0.2:25000/debian",
        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        "[fc00::1]:5000/docker",
        "[fc00::1]:5000/docker/docker",
        "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
        "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        "Docker/docker",
        "DOCKER/docker",
        "docker-rules/docker",
        "docker---rules/docker",
        "doc/docker",
        "d/docker",
        "jess/t",
        "dock__er/docker",
    ] {
        ok(s);
    }
    // (invalid)
    for s in [
        "https://github.com/docker/docker",
        "docker/Docker",
        "-docker",
        "-docker/docker",
        "-docker.io/docker/docker",
        "docker///docker",
        "docker.io/docker/Docker",
        "docker.io/docker///docker",
        "[fc00::1]",
        "[fc00::1]:5000",
        "fc00::1:5000/debian",
        "[fe80::1%eth0]:5000/debian",
        "[2001:db8:3:4::192.0.2.33]:5000/debian",
        "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        "docker-/docker",
        "-docker-/docker",
        "____/____",
        "_docker/_docker",
        "dock..er/docker",
        "dock_.er/docker",
        "dock-.er/docker",
        "docker/",
        "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
    ] {
        err(s);
    }
    assert!(matches!(
        err("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"),
        ReferenceError::Identifier { .. }
    ));
    // 63 hex characters is a name.
    assert_eq!(
        ok("dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9").repository(),
        "library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9"
    );
    // Uppercase hex is not an identifier but is not lowercase either.
    assert!(matches!(
        err(&H.to_uppercase()),
        ReferenceError::Uppercase { .. }
    ));
}

#[test]
fn go_repository_info_vectors() {
    // (remote name, familiar, full, ambiguous, domain) from TestParseRepositoryInfo.
    let cases = [
        (
            "fooo/bar",
            "fooo/bar",
            "docker.io/fooo/bar",
            "index.docker.io/fooo/bar",
            "docker.io",
        ),
        (
            "library/ubuntu",
            "ubuntu",
            "docker.io/library/ubuntu",
            "library/ubuntu",
            "docker.io",
        ),
        (
            "nonlibrary/ubuntu",
            "nonlibrary/ubuntu",
            "docker.io/nonlibrary/ubuntu",
            "",
            "docker.io",
        ),
        (
            "other/library",
            "other/library",
            "docker.io/other/library",
            "",
            "docker.io",
        ),
        (
            "private/moonbase",
            "127.0.0.1:8000/private/moonbase",
            "127.0.0.1:8000/private/moonbase",
            "",
            "127.0.0.1:8000",
        ),
        (
            "privatebase",
            "127.0.0.1:8000/privatebase",
            "127.0.0.1:8000/privatebase",
            "",
            "127.0.0.1:8000",
        ),
        (
            "private/moonbase",
            "example.com/private/moonbase",
            "example.com/private/moonbase",
            "",
            "example.com",
        ),
        (
            "privatebase",
            "example.com/privatebase",
            "example.com/privatebase",
            "",
            "example.com",
        ),
        (
            "private/moonbase",
            "example.com:8000/private/moonbase",
            "example.com:8000/private/moonbase",
            "",
            "example.com:8000",
        ),
        (
            "privatebasee",
            "example.com:8000/privatebasee",
            "example.com:8000/privatebasee",
            "",
            "example.com:8000",
        ),
        (
            "library/ubuntu-12.04-base",
            "ubuntu-12.04-base",
            "docker.io/library/ubuntu-12.04-base",
            "index.docker.io/library/ubuntu-12.04-base",
            "docker.io",
        ),
        (
            "library/foo",
            "foo",
            "docker.io/library/foo",
            "docker.io/foo",
            "docker.io",
        ),
        (
            "library/foo/bar",
            "library/foo/bar",
            "docker.io/library/foo/bar",
            "",
            "docker.io",
        ),
        (
            "store/foo/bar",
            "store/foo/bar",
            "docker.io/store/foo/bar",
            "",
            "docker.io",
        ),
        ("bar", "Foo/bar", "Foo/bar", "", "Foo"),
        ("bar", "FOO/bar", "FOO/bar", "", "FOO"),
    ];
    for (remote, familiar, full, ambiguous, domain) in cases {
        for input in [familiar, full, ambiguous] {
            if input.is_empty() {
                continue;
            }
            let r = ok(input);
            assert_eq!(r.registry(), domain, "{input}");
            assert_eq!(r.repository(), remote, "{input}");
            assert_eq!(r.repository_ref(), full, "{input}");
            // Familiar name plus the defaulted tag, as FamiliarString(TagNameOnly(..)).
            assert_eq!(r.familiar(), format!("{familiar}:latest"), "{input}");
            assert_eq!(r.to_string(), format!("{full}:latest"), "{input}");
        }
    }
}

#[test]
fn go_split_hostname_vectors() {
    for (input, domain, path) in [
        ("test.com/foo", "test.com", "foo"),
        ("test_com/foo", "docker.io", "test_com/foo"),
        ("docker/migrator", "docker.io", "docker/migrator"),
        ("test.com:8080/foo", "test.com:8080", "foo"),
        ("test-com:8080/foo", "test-com:8080", "foo"),
        ("foo", "docker.io", "library/foo"),
        ("xn--n3h.com/foo", "xn--n3h.com", "foo"),
        ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"),
        ("docker.io/foo", "docker.io", "library/foo"),
        ("docker.io/library/foo", "docker.io", "library/foo"),
        ("docker.io/library/foo/bar", "docker.io", "library/foo/bar"),
    ] {
        let r = ok(input);
        assert_eq!((r.registry(), r.repository()), (domain, path), "{input}");
    }
    let r = ok(
        "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
    );
    assert_eq!(
        r.to_string(),
        "docker.io/library/busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
    );
    assert_eq!(
        r.familiar(),
        "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
    );
}

#[test]
fn domain_detection_edges() {
    // A lone `localhost` (no `/`) is an official image name, not a registry.
    assert_eq!(
        parts(&ok("localhost")),
        ("docker.io", "library/localhost", Some("latest"), None, true)
    );
    // `host:port` without a path is a name and a tag.
    assert_eq!(
        parts(&ok("localhost:5000")),
        ("docker.io", "library/localhost", Some("5000"), None, false)
    );
    assert_eq!(
        parts(&ok("foo/foo_bar.com:8080")),
        ("docker.io", "foo/foo_bar.com", Some("8080"), None, false)
    );
    // A first component without `.`/`:`/uppercase is a namespace, even if it looks like a host.
    assert_eq!(ok("myhost/img").registry(), "docker.io");
    assert_eq!(ok("myhost/img").repository(), "myhost/img");
    assert_eq!(
        ok("localhost.localdomain/x").registry(),
        "localhost.localdomain"
    );
    assert_eq!(ok("10.0.0.1/x").registry(), "10.0.0.1");
    assert_eq!(ok("a:1/x").registry(), "a:1");
    assert_eq!(ok("a.b:0001/x").registry(), "a.b:0001");
    assert_eq!(ok("FOO.Example.COM/x").registry(), "FOO.Example.COM");
    assert_eq!(ok("docker.io/library/x").repository(), "library/x");
    assert_eq!(ok("index.docker.io/x").registry(), "docker.io");
    assert_eq!(ok("index.docker.io/x").repository(), "library/x");
    // A port keeps index.docker.io as written.
    assert_eq!(
        ok("index.docker.io:443/x").registry(),
        "index.docker.io:443"
    );
    assert_eq!(ok("index.docker.io:443/x").repository(), "x");
    // localhost keeps single components as they are.
    assert_eq!(ok("localhost/x").repository(), "x");
    // IPv6.
    assert_eq!(ok("[::1]/img").registry(), "[::1]");
    assert_eq!(ok("[::1]:5000/img:v1").tag(), Some("v1"));
    assert_eq!(ok("[FC00::1]/img").registry(), "[FC00::1]");
    for bad in [
        "::1/img",
        "::1:5000/img",
        "[::1/img",
        "[::1]x/img",
        "[::1]:/img",
        "[::1]:50a/img",
        "[fe80::1%25eth0]/img",
        "[fe80::1%eth0]/img",
        "[::ffff:1.2.3.4]/img",
        "a:/x",
        "a:b/x",
        ":5000/x",
        "-a.com/x",
        "a-.com/x",
        "a..com/x",
        ".a.com/x",
        "a.com./x",
        "a_b.com/x",
        "Foo_Bar/x",
    ] {
        assert!(
            matches!(err(bad), ReferenceError::Registry { .. }),
            "{bad}: {}",
            err(bad)
        );
    }
    // Not recognised as a domain (no `.`, `:`, uppercase): read as a path, which `[` fails.
    assert!(matches!(err("[abc]/img"), ReferenceError::Invalid { .. }));
    assert!(matches!(err("[]/img"), ReferenceError::Invalid { .. }));
    // Go returns an empty domain for this; lineage refuses it.
    assert!(matches!(
        err("foo_bar.com/app"),
        ReferenceError::Registry { registry, .. } if registry == "foo_bar.com"
    ));
}

#[test]
fn path_edges() {
    for good in [
        "a/b",
        "a__b/c",
        "a---b/c",
        "x/a.b-c_d__e/f",
        "a-b_c__d/f",
        "a/b/c/d/e",
        "0/1",
        "x.io/a.b",
        "x.io/a_b",
    ] {
        ok(good);
    }
    for bad in [
        "a//b", "a/b/", "/a", "a/", "a/.b", "a/b.", "a/b..c", "a/b___c", "a/b_-c", "a/b-", "a/_b",
        "a/b._c", "x.io/", "x.io//a", "x.io/A", "a/b c", "a /b", "a\\b", "a/b\n",
    ] {
        assert!(ImageRef::parse(bad).is_err(), "{bad}");
    }
    assert!(
        matches!(err("a//b"), ReferenceError::Invalid { reason, .. } if reason.contains("empty"))
    );
    assert!(
        matches!(err("x.io/"), ReferenceError::Invalid { reason, .. } if reason.contains("empty"))
    );
    assert!(matches!(err("foo/Bar"), ReferenceError::Uppercase { .. }));
    assert!(
        matches!(err("UBUNTU"), ReferenceError::Uppercase { repository, .. } if repository == "library/UBUNTU")
    );
    assert!(matches!(
        err("docker.io/Foo"),
        ReferenceError::Uppercase { .. }
    ));
    // Uppercase in tags is fine.
    assert_eq!(ok("a/b:V1_X.y-Z").tag(), Some("V1_X.y-Z"));
}

#[test]
fn length_limits() {
    // 255 characters of path is fine; 256 is not. The limit excludes the registry.
    let c = "a".repeat(127);
    let p255 = format!("{c}/{c}");
    assert_eq!(p255.len(), 255);
    assert_eq!(ok(&p255).repository(), p255);
    assert_eq!(
        ok(&format!("{}.io/{p255}", "r".repeat(200))).repository(),
        p255
    );
    let p256 = format!("{c}/{c}a");
    assert!(matches!(
        err(&p256),
        ReferenceError::NameTooLong { length: 256, .. }
    ));
    // `library/` counts.
    let single = "a".repeat(248);
    assert!(matches!(
        err(&single),
        ReferenceError::NameTooLong { length: 256, .. }
    ));
    ok(&"a".repeat(247));
    // Tags: 128 characters.
    let t128 = "t".repeat(128);
    assert_eq!(ok(&format!("a/b:{t128}")).tag(), Some(t128.as_str()));
    assert!(matches!(
        err(&format!("a/b:{t128}x")),
        ReferenceError::Tag { .. }
    ));
}

#[test]
fn tag_and_digest_errors() {
    for bad_tag in ["a/b:", "a/b:-x", "a/b:.x", "a/b:x:y", "a/b:x/y", "a/b:é"] {
        assert!(
            matches!(err(bad_tag), ReferenceError::Tag { .. }),
            "{bad_tag}"
        );
    }
    assert_eq!(ok("a/b:_x").tag(), Some("_x"));
    let sha384 = format!("sha384:{}", "a".repeat(96));
    assert!(matches!(
        err(&format!("a/b@{sha384}")),
        ReferenceError::Digest {
            source: DigestError::UnsupportedAlgorithm { .. },
            ..
        }
    ));
    assert!(matches!(
        err(&format!("a/b@md5:{}", "a".repeat(32))),
        ReferenceError::Digest {
            source: DigestError::UnsupportedAlgorithm { .. },
            ..
        }
    ));
    for bad in [
        "a/b@".to_string(),
        "a/b@sha256".to_string(),
        "a/b@sha256:abc".to_string(),
        format!("a/b@sha256:{}", H.to_uppercase()),
        format!("a/b@SHA256:{H}"),
        format!("a/b@{}@{}", d256(), d256()),
        format!("a/b@{}:x", d256()),
    ] {
        assert!(
            matches!(err(&bad), ReferenceError::Digest { .. }),
            "{bad}: {:?}",
            ImageRef::parse(&bad)
        );
    }
    // A tag after the digest is not a tag.
    assert!(ImageRef::parse(&format!("a/b@{}:tag", d256())).is_err());
}

#[test]
fn non_ascii_and_odd_input_never_panics() {
    for s in [
        "",
        " ",
        "/",
        "//",
        ":",
        "@",
        ":@",
        "@:",
        "a@",
        "a:",
        "[",
        "]",
        "[]",
        "[:",
        "é",
        "é/é",
        "ü.io/x",
        "a.io/ü",
        "a/b:ü",
        "a/b@ü",
        "a/b@sha256:ü",
        "[é]:1/x",
        "[::1]:é/x",
        "Ä/x",
        "ǅ/x",
        "\u{212a}/x",
        "x/\u{212a}",
        "a/b:\u{212a}",
        "😀",
        "a/😀:😀@😀",
        "\u{0}",
        "a\u{0}/b",
        "a/b\u{0}",
        "localhost:/x",
        "[::1]]/x",
    ] {
        assert!(ImageRef::parse(s).is_err(), "{s:?}");
    }
    assert!(matches!(err(""), ReferenceError::Empty));
    assert!(matches!(err("Ä/x"), ReferenceError::Registry { .. }));
}

#[test]
fn error_messages_name_input_and_problem() {
    let cases = [
        ("ghcr.io/Org/app", "must be lowercase"),
        ("a/b:-x", "tag `-x`"),
        ("a//b", "empty path component"),
        ("foo_bar.com/app", "registry `foo_bar.com`"),
        (H, "image id"),
        ("a/b@sha384:00", "unsupported digest algorithm"),
    ];
    for (input, want) in cases {
        let msg = err(input).to_string();
        assert!(msg.contains(&format!("`{input}`")), "{msg}");
        assert!(msg.contains(want), "{msg}");
        assert!(!msg.ends_with('.'), "{msg}");
    }
}

#[test]
fn familiar_forms() {
    for (input, familiar) in [
        ("ubuntu", "ubuntu:latest"),
        ("docker.io/library/ubuntu:1", "ubuntu:1"),
        ("library/a/b:1", "library/a/b:1"),
        ("docker.io/foo/bar:1", "foo/bar:1"),
        ("ghcr.io/o/app:1", "ghcr.io/o/app:1"),
        ("localhost:5000/library/x:1", "localhost:5000/library/x:1"),
        ("Foo/bar:1", "Foo/bar:1"),
    ] {
        assert_eq!(ok(input).familiar(), familiar, "{input}");
    }
}

#[test]
fn api_host_and_repository_ref() {
    let hub = ok("nginx:1");
    assert_eq!(hub.api_host(), "registry-1.docker.io");
    assert_eq!(hub.registry(), "docker.io");
    assert_eq!(hub.repository_ref(), "docker.io/library/nginx");
    let local = ok("localhost:5000/a/b:1");
    assert_eq!(local.api_host(), "localhost:5000");
    assert_eq!(local.repository_ref(), "localhost:5000/a/b");
    assert_eq!(ok("index.docker.io/x/y").api_host(), "registry-1.docker.io");
}

#[test]
fn new_validates_and_normalises() {
    assert_eq!(
        ImageRef::new("docker.io", "nginx", None).unwrap(),
        ok("nginx")
    );
    assert_eq!(
        ImageRef::new("index.docker.io", "a/b", None).unwrap(),
        ok("a/b")
    );
    assert_eq!(
        ImageRef::new("ghcr.io", "o/app", Some(TagOrDigest::Tag("v1".into()))).unwrap(),
        ok("ghcr.io/o/app:v1")
    );
    let d: Digest = d256().parse().unwrap();
    assert_eq!(
        ImageRef::new("[::1]:5000", "img", Some(TagOrDigest::Digest(d.clone()))).unwrap(),
        ok(&format!("[::1]:5000/img@{d}"))
    );
    assert!(matches!(
        ImageRef::new("myhost", "img", None),
        Err(ReferenceError::Invalid { .. })
    ));
    assert!(matches!(
        ImageRef::new("a_b.com", "img", None),
        Err(ReferenceError::Registry { .. })
    ));
    assert!(matches!(
        ImageRef::new("a.com", "Img", None),
        Err(ReferenceError::Uppercase { .. })
    ));
    assert!(matches!(
        ImageRef::new("a.com", "a//b", None),
        Err(ReferenceError::Invalid { .. })
    ));
    assert!(matches!(
        ImageRef::new("a.com", "x", Some(TagOrDigest::Tag("-x".into()))),
        Err(ReferenceError::Tag { .. })
    ));
    assert!(matches!(
        ImageRef::new("docker.io", &"a".repeat(250), None),
        Err(ReferenceError::NameTooLong { length: 258, .. })
    ));
    assert!(matches!(
        ImageRef::new("a.com", "img:tag", None),
        Err(ReferenceError::Invalid { .. })
    ));
}

#[test]
fn with_target_and_target() {
    let r = ok("a.io/x:1");
    let d: Digest = d256().parse().unwrap();
    let r2 = r.clone().with_target(Some(TagOrDigest::Digest(d.clone())));
    assert_eq!(r2.to_string(), format!("a.io/x@{d}"));
    assert_eq!(r2.target(), TagOrDigest::Digest(d));
    let r3 = r.with_target(None);
    assert_eq!(r3.to_string(), "a.io/x");
    assert_eq!(r3.target(), TagOrDigest::Tag("latest".into()));
    assert_eq!(ok(&r3.to_string()).tag(), Some("latest"));
}

#[test]
fn from_str_matches_parse() {
    let r: ImageRef = "a.io/x:1".parse().unwrap();
    assert_eq!(r, ok("a.io/x:1"));
    assert_eq!(
        "v1".parse::<TagOrDigest>().unwrap(),
        TagOrDigest::Tag("v1".into())
    );
    assert!("-v1".parse::<TagOrDigest>().is_err());
    assert!(d256().parse::<TagOrDigest>().unwrap().digest().is_some());
}
