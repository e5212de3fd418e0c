//! Unified diffs of an edit. The updater's splices never add or remove a line (references
//! hold no line breaks), so old and new line up one to one and the diff needs no search: the
//! changed lines, grouped into hunks with three lines of context.

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// The unified diff (`--- a/PATH`, `+++ b/PATH`, hunks) turning `old` into `new`; empty when
/// they are equal. Line endings are kept as they are; a last line without one is marked
/// `\ No newline at end of file`.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let mut out = format!("--- a/{path}\n+++ b/{path}\n");
    if a.len() != b.len() {
        // Not an updater edit; show the whole file replaced.
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(0, a.len()),
            range(0, b.len())
        ));
        for l in &a {
            line(&mut out, '-', l);
        }
        for l in &b {
            line(&mut out, '+', l);
        }
        return out;
    }
    let changed: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    let mut i = 0;
    while i < changed.len() {
        // Extend the hunk while the next change is within two contexts.
        let mut j = i;
        while j + 1 < changed.len() && changed[j + 1] - changed[j] <= 2 * CONTEXT {
            j += 1;
        }
        let start = changed[i].saturating_sub(CONTEXT);
        let end = (changed[j] + CONTEXT + 1).min(a.len());
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(start, end - start),
            range(start, end - start)
        ));
        for k in start..end {
            if a[k] == b[k] {
                line(&mut out, ' ', a[k]);
            } else {
                line(&mut out, '-', a[k]);
            }
            if a[k] != b[k] && (k + 1 == end || a[k + 1] == b[k + 1]) {
                // The new lines follow the run of old ones.
                let mut s = k;
                while s > start && a[s - 1] != b[s - 1] {
                    s -= 1;
                }
                for l in &b[s..=k] {
                    line(&mut out, '+', l);
                }
            }
        }
        i = j + 1;
    }
    out
}

/// `start+1,count` as hunk headers write it (`start,0` for an empty range).
fn range(start: usize, count: usize) -> String {
    if count == 0 {
        format!("{start},0")
    } else {
        format!("{},{count}", start + 1)
    }
}

fn line(out: &mut String, mark: char, l: &str) {
    out.push(mark);
    out.push_str(l);
    if !l.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_with_context() {
        let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 2\n", "LINE 2\n")
            .replace("line 3\n", "LINE 3\n")
            .replace("line 8\n", "LINE 8\n")
            .replace("line 18\n", "LINE 18\n");
        let d = unified_diff("x/f", &old, &new);
        assert_eq!(
            d,
            "--- a/x/f\n+++ b/x/f\n\
             @@ -1,11 +1,11 @@\n line 1\n-line 2\n-line 3\n+LINE 2\n+LINE 3\n line 4\n line 5\n line 6\n line 7\n-line 8\n+LINE 8\n line 9\n line 10\n line 11\n\
             @@ -15,6 +15,6 @@\n line 15\n line 16\n line 17\n-line 18\n+LINE 18\n line 19\n line 20\n"
        );
        assert_eq!(unified_diff("f", &old, &old), "");
    }

    #[test]
    fn no_newline_at_end_and_crlf() {
        let d = unified_diff("f", "a\r\nb", "a\r\nc");
        assert_eq!(
            d,
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\r\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
        );
    }
}
