//! Preparing output for `insta` snapshots.

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
