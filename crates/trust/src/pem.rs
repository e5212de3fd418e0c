//! PEM blocks (RFC 7468): the labels and DER bodies of a key or certificate file.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// One `-----BEGIN LABEL-----` … `-----END LABEL-----` block.
pub(crate) struct Block {
    /// The label, e.g. `CERTIFICATE`, `PRIVATE KEY`.
    pub label: String,
    /// The decoded body.
    pub der: Vec<u8>,
}

/// Every block of `text`, in order; text between blocks is ignored (as openssl does).
/// Fails on a block without its end line or with a body that is not base64.
pub(crate) fn blocks(text: &[u8]) -> Result<Vec<Block>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not a PEM file (not UTF-8)".to_string())?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(begin) = rest.find("-----BEGIN ") {
        let after = &rest[begin + "-----BEGIN ".len()..];
        let label_end = after
            .find("-----")
            .ok_or_else(|| "a PEM BEGIN line has no closing dashes".to_string())?;
        let label = &after[..label_end];
        let body = &after[label_end + 5..];
        let end_line = format!("-----END {label}-----");
        let end = body
            .find(&end_line)
            .ok_or_else(|| format!("the PEM block {label} has no END line"))?;
        let b64: String = body[..end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        if b64.contains(':') {
            return Err(format!(
                "the PEM block {label} has headers (an encrypted key?); only plain PEM is read"
            ));
        }
        let der = STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| format!("the PEM block {label} is not base64: {e}"))?;
        out.push(Block {
            label: label.to_string(),
            der,
        });
        rest = &body[end + end_line.len()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_in_order_and_skips_text_between_them() {
        let text = b"junk\n-----BEGIN A-----\nAAEC\n-----END A-----\nmore\r\n-----BEGIN B C-----\r\nAw==\r\n-----END B C-----\r\n";
        let b = blocks(text).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].label.as_str(), b[0].der.as_slice()),
            ("A", &[0, 1, 2][..])
        );
        assert_eq!(
            (b[1].label.as_str(), b[1].der.as_slice()),
            ("B C", &[3][..])
        );
    }

    #[test]
    fn unterminated_and_bad_base64_blocks_fail() {
        assert!(blocks(b"-----BEGIN A-----\nAAEC\n").is_err());
        assert!(blocks(b"-----BEGIN A-----\n!!\n-----END A-----").is_err());
        assert!(blocks(b"-----BEGIN A").is_err());
        assert!(blocks(b"no pem here").unwrap().is_empty());
    }
}
