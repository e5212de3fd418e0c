//! The grammar of a reference's parts (`distribution/reference`'s `regexp.go`): domains,
//! repository path components, image ids; each predicate one rule of the grammar in the
//! parent module's doc.

use super::{REPOSITORY_MAX_LEN, ReferenceError};

/// Whether lowercasing changes `s` (Go's `strings.ToLower(s) != s`).
pub(super) fn has_uppercase(s: &str) -> bool {
    s.chars().any(|c| !c.to_lowercase().eq(std::iter::once(c)))
}

/// `^[a-f0-9]{64}$`: an image id.
pub(super) fn is_identifier(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `host [":" port]` with `host := domain-name | "[" [a-fA-F0-9:]+ "]"` and `port := [0-9]+`.
pub(super) fn is_valid_domain(s: &str) -> bool {
    let (host_ok, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        let v6_ok = !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(p) => Some(p),
                None => return false,
            },
        };
        (v6_ok, port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (is_domain_name(h), Some(p)),
            None => (is_domain_name(s), None),
        }
    };
    host_ok && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `domain-component ("." domain-component)*`.
pub(super) fn is_domain_name(s: &str) -> bool {
    s.split('.').all(|c| {
        let b = c.as_bytes();
        match (b.first(), b.last()) {
            (Some(first), Some(last)) => {
                first.is_ascii_alphanumeric()
                    && last.is_ascii_alphanumeric()
                    && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
            }
            _ => false,
        }
    })
}

/// Whether `name` is a repository path as the distribution spec's `<name>` grammar defines it
/// (`/`-separated path components), at most [`REPOSITORY_MAX_LEN`] characters.
pub fn is_valid_repository(name: &str) -> bool {
    !name.is_empty() && name.len() <= REPOSITORY_MAX_LEN && name.split('/').all(is_path_component)
}

/// `[a-z0-9]+ (separator [a-z0-9]+)*` with `separator := [._] | "__" | "-"+`.
pub(super) fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !b.first().is_some_and(|&c| alnum(c)) || !b.last().is_some_and(|&c| alnum(c)) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &b[start..i];
        let ok = matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|&c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// Check `path` against the remote-name grammar, naming what is wrong.
pub(super) fn check_path(input: &str, path: &str) -> Result<(), ReferenceError> {
    let invalid = |reason: String| ReferenceError::Invalid {
        input: input.to_string(),
        reason,
    };
    if path.is_empty() {
        return Err(invalid("repository name is empty".to_string()));
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(invalid(format!(
                "repository name `{path}` has an empty path component"
            )));
        }
        if !is_path_component(component) {
            return Err(invalid(format!(
                "path component `{component}` of `{path}` must be lowercase letters and digits separated by `.`, `_`, `__` or dashes"
            )));
        }
    }
    Ok(())
}
