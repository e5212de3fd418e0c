//! Image and namespace patterns: `*` matches any run of characters (`/` and `:` included);
//! every other character matches itself. So `registry.k8s.io/*` exempts everything under that
//! registry and `*/pause:*` every tag of every `pause` repository.

/// Whether `text` matches `pattern` as a whole.
///
/// The classic greedy match with one backtrack point: on a mismatch after a `*`, retry with
/// the `*` taking one more character. Linear in `pattern.len() * text.len()` at worst.
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    // The position after the last `*` seen, and where in `text` that `*` stopped matching.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            pi += 1;
            star = Some((pi, ti));
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((after_star, from)) = star {
            pi = after_star;
            ti = from + 1;
            star = Some((after_star, from + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn literal_patterns_match_only_themselves() {
        assert!(matches("kube-system", "kube-system"));
        assert!(!matches("kube-system", "kube-system2"));
        assert!(!matches("kube-system", "kube"));
        assert!(matches("", ""));
        assert!(!matches("", "a"));
    }

    #[test]
    fn star_matches_any_run_including_slashes() {
        assert!(matches("*", ""));
        assert!(matches("*", "docker.io/library/nginx:1.25"));
        assert!(matches("registry.k8s.io/*", "registry.k8s.io/pause:3.9"));
        assert!(matches(
            "registry.k8s.io/*",
            "registry.k8s.io/sig-storage/csi:1"
        ));
        assert!(!matches("registry.k8s.io/*", "registry.k8s.io"));
        assert!(!matches("registry.k8s.io/*", "evil.io/registry.k8s.io/x"));
        assert!(matches("*/pause:*", "registry.k8s.io/pause:3.9"));
        assert!(matches("*nginx*", "docker.io/library/nginx:1.25"));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(matches("a**c", "abc"));
        assert!(matches("*:1.0-*", "reg/app:1.0-20230707"));
        assert!(!matches("*:1.0-*", "reg/app:1.1-20230707"));
    }

    #[test]
    fn backtracking_finds_a_later_split() {
        // The first `b` is not the one that lets the rest match.
        assert!(matches("*bc", "abbc"));
        assert!(matches("*ab*ab", "aabxab"));
        assert!(!matches("*ab*ab", "aabxa"));
    }

    #[test]
    fn non_ascii_text_is_matched_bytewise_without_panicking() {
        assert!(matches("é*", "éa"));
        assert!(matches("*ü", "aü"));
        assert!(!matches("ü", "u"));
    }
}
