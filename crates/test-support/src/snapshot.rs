//! Preparing output for `insta` snapshots.

/// `text` with every occurrence of `host` (a test
/// registry's `127.0.0.1:PORT`) by `HOST`, and every `sha256:` digest by `sha256:DIGEST`.
pub fn redacted(text: &str, host: &str) -> String {
    let text = text.replace(host, "HOST");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("sha256:") {
        let hex = &rest[at + 7..];
        let len = hex.chars().take_while(char::is_ascii_hexdigit).count();
        out.push_str(&rest[..at]);
        if len == 64 {
            out.push_str("sha256:DIGEST");
            rest = &hex[64..];
        } else {
            out.push_str("sha256:");
            rest = hex;
        }
    }
    out.push_str(rest);
    out
}

/// `text` with every run of two or more spaces inside a line made two, and the ends of lines
/// trimmed: a table whose padding follows a registry's port (4 or 5 digits) compares by its
/// columns.
pub fn columns(text: &str) -> String {
    text.lines()
        .map(|l| {
            l.split("  ")
                .filter(|c| !c.is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("  ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
