//! Counts in messages: `1 manifest`, `3 manifests`, never `1 manifests` or `3 record(s)`.

/// `n` and `noun`, in the plural unless `n` is 1: `plural(2, "blob")` is `2 blobs`. The plural
/// adds `s`, or `es` after `s`, `x`, `z`, `ch` and `sh`, and turns a consonant's `y` into
/// `ies` (`entry`, `entries`); lineage's nouns need no more.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    let plural = match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'i', 'o', 'u']) => format!("{stem}ies"),
        _ if noun.ends_with(['s', 'x', 'z']) || noun.ends_with("ch") || noun.ends_with("sh") => {
            format!("{noun}es")
        }
        _ => format!("{noun}s"),
    };
    format!("{n} {plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_in_the_singular_only_for_one() {
        assert_eq!(plural(1, "manifest"), "1 manifest");
        assert_eq!(plural(0, "manifest"), "0 manifests");
        assert_eq!(plural(2, "record"), "2 records");
        assert_eq!(plural(3, "entry"), "3 entries");
        assert_eq!(plural(3, "key"), "3 keys");
        assert_eq!(plural(2, "match"), "2 matches");
        assert_eq!(plural(2, "image reference"), "2 image references");
    }
}
