//! Throw-away certificates for HTTPS tests, made with openssl: a CA and a server
//! certificate for 127.0.0.1 signed by it.

use std::path::{Path, PathBuf};

use crate::tool;

/// A CA and a server certificate it signed.
pub struct Certs {
    /// The CA certificate (PEM), for clients to trust.
    pub ca: PathBuf,
    /// The server certificate (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
}

/// Make a CA named `name` and a certificate for `127.0.0.1` signed by it, in `dir`.
pub fn make_certs(dir: &Path, name: &str) -> Certs {
    std::fs::create_dir_all(dir).unwrap();
    let p = |n: &str| dir.join(format!("{name}-{n}")).display().to_string();
    tool(
        "openssl",
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name} CA"),
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.pem"),
        ],
    );
    tool(
        "openssl",
        [
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &p("server.key"),
            "-out",
            &p("server.csr"),
        ],
    );
    std::fs::write(
        p("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    tool(
        "openssl",
        [
            "x509",
            "-req",
            "-in",
            &p("server.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &p("ext.cnf"),
            "-out",
            &p("server.pem"),
        ],
    );
    Certs {
        ca: p("ca.pem").into(),
        cert: p("server.pem").into(),
        key: p("server.key").into(),
    }
}
