//! Value parsers for flags whose values are not plain text: clap calls them while it parses,
//! so a bad value is refused before any command runs, in clap's words, which name the flag
//! and the value (`invalid value 'yesterday' for '--at <TIME>': …`).
//!
//! Values that are a library's own type (a [`lineage_oci::StoreRef`], a
//! [`lineage_lifecycle::State`], a [`lineage_lifecycle::Reason`], an admission
//! [`lineage_server::policy::Mode`]) need no function here: clap parses them with their
//! `FromStr`, and the library's error is the message.

use chrono::{DateTime, Utc};

/// A time: RFC 3339, ISO 8601 basic, or a date (midnight UTC), as the lifecycle profile
/// reads them ([`lineage_oci::time::parse_lenient`]).
pub fn time(text: &str) -> Result<DateTime<Utc>, lineage_oci::time::TimeError> {
    lineage_oci::time::parse_lenient(text)
}

/// A tag (`--version` names the tag a release rolls).
pub fn tag(text: &str) -> Result<String, String> {
    if lineage_oci::reference::is_valid_tag(text) {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` is not a valid tag"))
    }
}

/// A repository name, without registry, tag or digest (`--repo` of `lineage probe`).
pub fn repository(text: &str) -> Result<String, String> {
    if lineage_oci::reference::is_valid_repository(text) {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` is not a valid repository name"))
    }
}

/// A positive number of seconds (`--timeout` of `lineage probe`).
pub fn seconds(text: &str) -> Result<std::time::Duration, String> {
    let n: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("`{text}` must be a positive number of seconds"));
    }
    std::time::Duration::try_from_secs_f64(n).map_err(|e| format!("`{text}`: {e}"))
}

/// A registry to probe: `host[:port]`, a scheme prefix allowed (and, for `http://`, plain
/// HTTP used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// `host[:port]`.
    pub host: String,
    /// Given as `http://…`.
    pub plain_http: bool,
}

/// A registry argument of `lineage probe` ([`Registry`]).
pub fn registry(arg: &str) -> Result<Registry, String> {
    let (rest, plain_http) = match arg.split_once("://") {
        Some(("http", rest)) => (rest, true),
        Some(("https", rest)) => (rest, false),
        Some((scheme, _)) => {
            return Err(format!("unknown scheme `{scheme}` (give `host[:port]`)"));
        }
        None => (arg, false),
    };
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains('/') || host.contains(char::is_whitespace) {
        return Err(
            "not a registry: give `host[:port]`, e.g. `localhost:5000` or `ghcr.io`".into(),
        );
    }
    Ok(Registry {
        host: host.to_string(),
        plain_http,
    })
}

/// A reference kept as written as well as parsed: `retire --successor` records the text the
/// user gave, and resolves the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsWritten {
    /// The argument as given.
    pub text: String,
    /// The reference it names.
    pub reference: lineage_oci::StoreRef,
}

impl std::str::FromStr for AsWritten {
    type Err = lineage_oci::ReferenceError;

    fn from_str(text: &str) -> Result<AsWritten, Self::Err> {
        Ok(AsWritten {
            text: text.to_string(),
            reference: text.parse()?,
        })
    }
}

/// An address to listen on: `IP:PORT` (`[::1]:PORT` for IPv6), `localhost:PORT` (the IPv4
/// loopback), or `:PORT` (every IPv4 interface).
pub fn parse_listen_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    let explain = || {
        format!(
            "`{text}` is not an address to listen on: expected IP:PORT such as 127.0.0.1:5000, \
             localhost:5000, or :5000 for every interface"
        )
    };
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let (host, port) = text.rsplit_once(':').ok_or_else(explain)?;
    let port: u16 = port.parse().map_err(|_| explain())?;
    let ip = match host {
        "" => std::net::Ipv4Addr::UNSPECIFIED,
        h if h.eq_ignore_ascii_case("localhost") => std::net::Ipv4Addr::LOCALHOST,
        _ => return Err(explain()),
    };
    Ok(std::net::SocketAddr::from((ip, port)))
}

/// A duration: `0`, or numbers with units `ms`, `s`, `m`, `h`, `d`, e.g. `90s`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("a duration is needed (e.g. `30s`, `5m`, `12h`, `7d`)".into());
    }
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let mut total = std::time::Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let unit_len = rest[digits..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len() - digits);
        let (number, unit) = (&rest[..digits], &rest[digits..digits + unit_len]);
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration (e.g. `30s`, `5m`, `12h`, `7d`)"))?;
        let part = match unit {
            "ms" => std::time::Duration::from_millis(n),
            "s" => std::time::Duration::from_secs(n),
            "m" => std::time::Duration::from_secs(n.saturating_mul(60)),
            "h" => std::time::Duration::from_secs(n.saturating_mul(3600)),
            "d" => std::time::Duration::from_secs(n.saturating_mul(86_400)),
            _ => {
                return Err(format!(
                    "`{text}`: unknown unit `{unit}` (use ms, s, m, h or d)"
                ));
            }
        };
        total = total
            .checked_add(part)
            .ok_or_else(|| format!("`{text}` is too long a duration"))?;
        rest = &rest[digits + unit_len..];
    }
    Ok(total)
}

/// `NS=DURATION` (`--namespace-grace-period`): a namespace pattern and a [`parse_duration`].
pub fn namespace_duration(text: &str) -> Result<(String, std::time::Duration), String> {
    let (ns, d) = text
        .split_once('=')
        .filter(|(ns, _)| !ns.trim().is_empty())
        .ok_or_else(|| format!("`{text}` is not NS=DURATION (e.g. `team-*=7d`)"))?;
    Ok((ns.trim().to_string(), parse_duration(d)?))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn registry_arguments() {
        let ok = |arg: &str| registry(arg).ok().map(|r| (r.host, r.plain_http));
        assert_eq!(ok("localhost:5000"), Some(("localhost:5000".into(), false)));
        assert_eq!(
            ok("http://127.0.0.1:5000/"),
            Some(("127.0.0.1:5000".into(), true))
        );
        assert_eq!(ok("https://ghcr.io"), Some(("ghcr.io".into(), false)));
        assert!(registry("ghcr.io/me/app").is_err());
        assert!(registry("ftp://x").is_err());
        assert!(registry("").is_err());
    }

    #[test]
    fn listen_addresses() {
        let ok = |t: &str| parse_listen_addr(t).map(|a| a.to_string());
        assert_eq!(ok("127.0.0.1:5000"), Ok("127.0.0.1:5000".to_string()));
        assert_eq!(ok("[::1]:0"), Ok("[::1]:0".to_string()));
        assert_eq!(ok("localhost:0"), Ok("127.0.0.1:0".to_string()));
        assert_eq!(ok(":5000"), Ok("0.0.0.0:5000".to_string()));
        for bad in [
            "",
            "5000",
            "localhost",
            "example.com:80",
            "localhost:port",
            ":99999",
        ] {
            let err = parse_listen_addr(bad).unwrap_err();
            assert!(
                err.contains("expected IP:PORT such as 127.0.0.1:5000"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "5", "s", "5x", "-5s", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(
            namespace_duration("team-*=7d"),
            Ok(("team-*".to_string(), Duration::from_secs(7 * 86_400)))
        );
        for bad in ["7d", "=7d", "team=soon"] {
            assert!(namespace_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seconds_tags_and_repositories() {
        assert_eq!(seconds("2.5"), Ok(Duration::from_millis(2500)));
        for bad in ["0", "-1", "inf", "NaN", "soon", "1e300"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(tag("1.0"), Ok("1.0".to_string()));
        assert!(tag("1.0/x").unwrap_err().contains("`1.0/x`"));
        assert!(repository("me/scratch").is_ok());
        assert!(repository("Not/Valid").is_err());
        assert!(time("2023-07-10").is_ok());
        assert!(time("yesterday").is_err());
    }
}
