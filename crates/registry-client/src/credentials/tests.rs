//! Tests of `DockerConfig` against real files and fake credential helpers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::*;

fn b64(text: &str) -> String {
    STANDARD.encode(text)
}

/// A temp dir holding `config.json` with `config`.
fn config_dir(config: &Value) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
    (dir, path)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Writes an executable bash script `docker-credential-<name>` into `dir`.
fn helper_script(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(format!("docker-credential-{name}"));
    std::fs::write(&path, format!("#!/bin/bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A helper `test` that logs each call as `<action> <stdin>` lines into `log` and answers `get`
/// for `ghcr.io` and Docker Hub.
fn recording_helper(dir: &Path, log: &Path) {
    helper_script(
        dir,
        "test",
        &format!(
            r#"input=$(cat)
printf '%s %s\n' "$1" "$input" >> '{log}'
case "$1" in
  get)
    case "$input" in
      ghcr.io) echo '{{"ServerURL":"ghcr.io","Username":"helper-user","Secret":"helper-secret"}}' ;;
      https://index.docker.io/v1/) echo '{{"ServerURL":"https://index.docker.io/v1/","Username":"<token>","Secret":"hub-refresh"}}' ;;
      *) echo "credentials not found in native keychain"; exit 1 ;;
    esac ;;
  store|erase) ;;
  *) echo "unknown action" >&2; exit 2 ;;
esac"#,
            log = log.display()
        ),
    );
}

fn load(path: &Path, helpers: &Path) -> DockerConfig {
    DockerConfig::load(path)
        .unwrap()
        .with_helper_dirs([helpers])
        .with_helper_timeout(Duration::from_secs(10))
}

#[tokio::test]
async fn every_auths_key_form_matches() {
    for key in [
        "ghcr.io",
        "GHCR.io",
        "https://ghcr.io",
        "http://ghcr.io",
        "https://ghcr.io/",
        "http://ghcr.io/v1/",
        "https://ghcr.io/v2/",
    ] {
        let (_dir, path) = config_dir(&json!({ "auths": { key: { "auth": b64("u:p") } } }));
        let config = DockerConfig::load(&path).unwrap();
        for registry in ["ghcr.io", "GHCR.IO", "https://ghcr.io/"] {
            assert_eq!(
                config.get(registry).await.unwrap(),
                Some(Credential::basic("u", "p")),
                "key {key}, registry {registry}"
            );
        }
        assert_eq!(config.get("quay.io").await.unwrap(), None, "key {key}");
    }
}

#[tokio::test]
async fn host_and_port_keys() {
    for key in [
        "localhost:5000",
        "http://localhost:5000/v1/",
        "https://localhost:5000",
    ] {
        let (_dir, path) = config_dir(&json!({ "auths": { key: { "auth": b64("u:p") } } }));
        let config = DockerConfig::load(&path).unwrap();
        assert_eq!(
            config.get("localhost:5000").await.unwrap(),
            Some(Credential::basic("u", "p")),
            "{key}"
        );
        assert_eq!(config.get("localhost").await.unwrap(), None, "{key}");
        assert_eq!(config.get("localhost:5001").await.unwrap(), None, "{key}");
    }
}

#[tokio::test]
async fn exact_key_wins_over_other_forms() {
    let (_dir, path) = config_dir(&json!({ "auths": {
        "http://ghcr.io/v1/": { "auth": b64("alias:p") },
        "ghcr.io": { "auth": b64("exact:p") },
    } }));
    let config = DockerConfig::load(&path).unwrap();
    assert_eq!(
        config.get("ghcr.io").await.unwrap(),
        Some(Credential::basic("exact", "p"))
    );
}

#[tokio::test]
async fn docker_hub_aliases() {
    for key in [
        "https://index.docker.io/v1/",
        "index.docker.io",
        "docker.io",
        "https://registry-1.docker.io",
        "registry-1.docker.io",
    ] {
        let (_dir, path) = config_dir(&json!({ "auths": { key: { "auth": b64("hub:pw") } } }));
        let config = DockerConfig::load(&path).unwrap();
        for registry in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            assert_eq!(
                config.get(registry).await.unwrap(),
                Some(Credential::basic("hub", "pw")),
                "key {key}, registry {registry}"
            );
        }
        assert_eq!(config.get("ghcr.io").await.unwrap(), None);
    }
}

#[tokio::test]
async fn auth_field_variants() {
    let padded = b64("user:pa:ss:wd");
    let unpadded = padded.trim_end_matches('=').to_owned();
    assert_ne!(padded, unpadded);
    let (_dir, path) = config_dir(&json!({ "auths": {
        "a.example": { "auth": padded },
        "b.example": { "auth": unpadded },
        "c.example": { "auth": format!("  {padded}\n") },
        "d.example": { "username": "plain", "password": "pw:x" },
        "e.example": { "auth": b64("user:"), "email": "x@y" },
    } }));
    let config = DockerConfig::load(&path).unwrap();
    for registry in ["a.example", "b.example", "c.example"] {
        assert_eq!(
            config.get(registry).await.unwrap(),
            Some(Credential::basic("user", "pa:ss:wd")),
            "{registry}"
        );
    }
    assert_eq!(
        config.get("d.example").await.unwrap(),
        Some(Credential::basic("plain", "pw:x"))
    );
    assert_eq!(
        config.get("e.example").await.unwrap(),
        Some(Credential::basic("user", ""))
    );
}

#[tokio::test]
async fn identity_token_takes_precedence() {
    let (_dir, path) = config_dir(&json!({ "auths": {
        "myregistry.azurecr.io": { "auth": b64("00000000-0000-0000-0000-000000000000:"), "identitytoken": "refresh-tok" },
    } }));
    let config = DockerConfig::load(&path).unwrap();
    assert_eq!(
        config.get("myregistry.azurecr.io").await.unwrap(),
        Some(Credential::IdentityToken("refresh-tok".into()))
    );
}

#[tokio::test]
async fn invalid_auth_names_registry_and_file() {
    let (_dir, path) = config_dir(&json!({ "auths": {
        "ghcr.io": { "auth": "%%%secret%%%" },
        "quay.io": { "auth": b64("nocolonsecret") },
    } }));
    let config = DockerConfig::load(&path).unwrap();
    for registry in ["ghcr.io", "quay.io"] {
        let err = config.get(registry).await.unwrap_err();
        assert!(
            matches!(err, CredentialError::InvalidAuth { .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(registry), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }
}

#[tokio::test]
async fn missing_and_empty_files_are_empty_configs() {
    let dir = tempfile::tempdir().unwrap();
    let missing = DockerConfig::load(dir.path().join("nope/config.json")).unwrap();
    assert_eq!(missing.get("ghcr.io").await.unwrap(), None);
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "\n").unwrap();
    let config = DockerConfig::load(&empty).unwrap();
    assert_eq!(config.get("ghcr.io").await.unwrap(), None);
    assert_eq!(config.path(), empty);
}

#[tokio::test]
async fn invalid_json_error_names_path_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(
        &path,
        "{\n  \"auths\": {\n    \"ghcr.io\": { \"auth\": \"x\" }\n  \n",
    )
    .unwrap();
    let err = DockerConfig::load(&path).unwrap_err();
    assert!(matches!(err, CredentialError::Parse { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("line 5"), "{message}");

    std::fs::write(&path, "[1, 2]").unwrap();
    let err = DockerConfig::load(&path).unwrap_err();
    assert!(matches!(err, CredentialError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[tokio::test]
async fn cred_helpers_take_precedence_over_auths() {
    let helpers = tempfile::tempdir().unwrap();
    let log = helpers.path().join("log");
    recording_helper(helpers.path(), &log);
    let (_dir, path) = config_dir(&json!({
        "auths": {
            "ghcr.io": { "auth": b64("file-user:file-pw") },
            "quay.io": { "auth": b64("file-user:file-pw") },
        },
        "credHelpers": { "ghcr.io": "test", "https://quay.io": "test" },
    }));
    let config = load(&path, helpers.path());
    assert_eq!(
        config.get("ghcr.io").await.unwrap(),
        Some(Credential::basic("helper-user", "helper-secret"))
    );
    // As with docker, a registry's helper is its only source, even when it has nothing.
    assert_eq!(config.get("quay.io").await.unwrap(), None);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "get ghcr.io\nget quay.io\n"
    );
    assert_eq!(
        config.helper_for("ghcr.io").unwrap().as_deref(),
        Some("test")
    );
    assert_eq!(config.helper_for("docker.io").unwrap(), None);
}

#[tokio::test]
async fn creds_store_is_the_fallback() {
    let helpers = tempfile::tempdir().unwrap();
    let log = helpers.path().join("log");
    recording_helper(helpers.path(), &log);
    let (_dir, path) = config_dir(&json!({
        "auths": {
            "ghcr.io": {},
            "quay.io": { "auth": b64("file-user:file-pw") },
        },
        "credsStore": "test",
    }));
    let config = load(&path, helpers.path());
    // An empty entry (docker's marker for helper-held credentials) falls through to the store.
    assert_eq!(
        config.get("ghcr.io").await.unwrap(),
        Some(Credential::basic("helper-user", "helper-secret"))
    );
    assert_eq!(
        config.get("quay.io").await.unwrap(),
        Some(Credential::basic("file-user", "file-pw"))
    );
    // Docker Hub goes to helpers as its index URL, and `<token>` means an identity token.
    assert_eq!(
        config.get("docker.io").await.unwrap(),
        Some(Credential::IdentityToken("hub-refresh".into()))
    );
    // "credentials not found" means none.
    assert_eq!(config.get("localhost:5000").await.unwrap(), None);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "get ghcr.io\nget https://index.docker.io/v1/\nget localhost:5000\n"
    );
    assert_eq!(
        config.helper_for("quay.io").unwrap().as_deref(),
        Some("test")
    );
}

#[tokio::test]
async fn helper_failure_reports_stderr_not_stdout() {
    let helpers = tempfile::tempdir().unwrap();
    helper_script(
        helpers.path(),
        "test",
        "cat > /dev/null\necho '{\"Username\":\"u\",\"Secret\":\"stdout-secret\"}'\necho '  keychain is locked  ' >&2\nexit 3",
    );
    let (_dir, path) = config_dir(&json!({ "credsStore": "test" }));
    let config = load(&path, helpers.path());
    let err = config.get("ghcr.io").await.unwrap_err();
    assert!(
        matches!(err, CredentialError::HelperFailed { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("docker-credential-test"), "{message}");
    assert!(message.contains("ghcr.io"), "{message}");
    assert!(message.contains(": keychain is locked"), "{message}");
    assert!(message.ends_with("keychain is locked"), "{message}");
    assert!(!message.contains("stdout-secret"), "{message}");
}

#[tokio::test]
async fn helper_invalid_output_does_not_echo_it() {
    let helpers = tempfile::tempdir().unwrap();
    helper_script(
        helpers.path(),
        "test",
        "cat > /dev/null\necho '{\"Username\":\"u\",\"Secret\":7777777}'",
    );
    let (_dir, path) = config_dir(&json!({ "credsStore": "test" }));
    let config = load(&path, helpers.path());
    let err = config.get("ghcr.io").await.unwrap_err();
    assert!(
        matches!(err, CredentialError::HelperOutput { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("docker-credential-test") && message.contains("ghcr.io"),
        "{message}"
    );
    assert!(!message.contains("7777777"), "{message}");
}

#[tokio::test]
async fn helper_timeout_kills_quickly() {
    let helpers = tempfile::tempdir().unwrap();
    helper_script(helpers.path(), "test", "exec sleep 30");
    let (_dir, path) = config_dir(&json!({ "credsStore": "test" }));
    let config = DockerConfig::load(&path)
        .unwrap()
        .with_helper_dirs([helpers.path()])
        .with_helper_timeout(Duration::from_millis(200));
    let started = Instant::now();
    let err = config.get("ghcr.io").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, CredentialError::HelperTimeout { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("docker-credential-test") && message.contains("timed out"),
        "{message}"
    );
}

#[tokio::test]
async fn missing_helper_is_a_clear_error() {
    let helpers = tempfile::tempdir().unwrap();
    let (_dir, path) = config_dir(&json!({ "credHelpers": { "ghcr.io": "x" } }));
    let config = load(&path, helpers.path());
    let err = config.get("ghcr.io").await.unwrap_err();
    assert!(
        matches!(err, CredentialError::HelperNotFound { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("credential helper `docker-credential-x` not found on PATH"),
        "{err}"
    );
    // A file that is not executable is not a helper.
    std::fs::write(helpers.path().join("docker-credential-x"), "#!/bin/sh\n").unwrap();
    assert!(matches!(
        config.get("ghcr.io").await.unwrap_err(),
        CredentialError::HelperNotFound { .. }
    ));
}

#[tokio::test]
async fn store_and_erase_through_auths() {
    let (dir, path) =
        config_dir(&json!({ "auths": { "http://ghcr.io/v1/": { "auth": b64("old:old") } } }));
    let mut config = DockerConfig::load(&path).unwrap();
    config
        .store("ghcr.io", &Credential::basic("me", "p:ss"))
        .await
        .unwrap();
    config
        .store("docker.io", &Credential::basic("hub", "pw"))
        .await
        .unwrap();
    config
        .store("localhost:5000", &Credential::IdentityToken("tok".into()))
        .await
        .unwrap();
    let written = read_json(&path);
    assert_eq!(
        written["auths"]["ghcr.io"],
        json!({ "auth": b64("me:p:ss") })
    );
    assert_eq!(
        written["auths"]["https://index.docker.io/v1/"],
        json!({ "auth": b64("hub:pw") })
    );
    assert_eq!(
        written["auths"]["localhost:5000"],
        json!({ "identitytoken": "tok" })
    );

    let reloaded = DockerConfig::load(&path).unwrap();
    assert_eq!(
        reloaded.get("ghcr.io").await.unwrap(),
        Some(Credential::basic("me", "p:ss"))
    );
    assert_eq!(
        reloaded.get("registry-1.docker.io").await.unwrap(),
        Some(Credential::basic("hub", "pw"))
    );
    assert_eq!(
        reloaded.get("localhost:5000").await.unwrap(),
        Some(Credential::IdentityToken("tok".into()))
    );
    // The in-memory config follows its own writes.
    assert_eq!(
        config.get("ghcr.io").await.unwrap(),
        Some(Credential::basic("me", "p:ss"))
    );

    // Erase removes every key naming the registry.
    assert!(config.erase("ghcr.io").await.unwrap());
    assert_eq!(config.get("ghcr.io").await.unwrap(), None);
    assert!(!config.erase("ghcr.io").await.unwrap());
    assert!(config.erase("index.docker.io").await.unwrap());
    let written = read_json(&path);
    assert_eq!(
        written["auths"],
        json!({ "localhost:5000": { "identitytoken": "tok" } })
    );
    assert_eq!(
        DockerConfig::load(&path)
            .unwrap()
            .get("ghcr.io")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp files left"
    );
}

#[tokio::test]
async fn store_and_erase_through_a_helper() {
    let helpers = tempfile::tempdir().unwrap();
    let log = helpers.path().join("log");
    recording_helper(helpers.path(), &log);
    let (_dir, path) = config_dir(&json!({
        "auths": { "ghcr.io": { "auth": b64("stale:stale"), "email": "me@example.com" } },
        "credHelpers": { "ghcr.io": "test" },
        "credsStore": "test",
    }));
    let mut config = load(&path, helpers.path());
    config
        .store("ghcr.io", &Credential::basic("me", "s3cret"))
        .await
        .unwrap();
    config
        .store("docker.io", &Credential::IdentityToken("refresh".into()))
        .await
        .unwrap();
    let calls = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 2, "{calls}");
    let first = lines[0].strip_prefix("store ").unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(first).unwrap(),
        json!({ "ServerURL": "ghcr.io", "Username": "me", "Secret": "s3cret" })
    );
    let second = lines[1].strip_prefix("store ").unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(second).unwrap(),
        json!({ "ServerURL": "https://index.docker.io/v1/", "Username": "<token>", "Secret": "refresh" })
    );
    // The file keeps docker's empty markers and no secret.
    let written = read_json(&path);
    assert_eq!(
        written["auths"],
        json!({
            "ghcr.io": { "email": "me@example.com" },
            "https://index.docker.io/v1/": {},
        })
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("s3cret") && !text.contains("refresh"));

    std::fs::write(&log, "").unwrap();
    assert!(config.erase("ghcr.io").await.unwrap());
    assert!(config.erase("docker.io").await.unwrap());
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "erase ghcr.io\nerase https://index.docker.io/v1/\n"
    );
    assert_eq!(read_json(&path)["auths"], json!({}));
}

#[tokio::test]
async fn erase_with_helper_not_found_is_false() {
    let helpers = tempfile::tempdir().unwrap();
    helper_script(
        helpers.path(),
        "test",
        "cat > /dev/null\necho 'credentials not found in native keychain'\nexit 1",
    );
    let (_dir, path) = config_dir(&json!({ "credsStore": "test" }));
    let before = std::fs::read(&path).unwrap();
    let mut config = load(&path, helpers.path());
    assert!(!config.erase("ghcr.io").await.unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing to write");
}

#[tokio::test]
async fn failed_helper_store_leaves_the_file_alone() {
    let helpers = tempfile::tempdir().unwrap();
    helper_script(
        helpers.path(),
        "test",
        "cat > /dev/null\necho 'no keychain' >&2\nexit 1",
    );
    let (_dir, path) = config_dir(
        &json!({ "credsStore": "test", "auths": { "ghcr.io": { "auth": b64("a:b") } } }),
    );
    let before = std::fs::read(&path).unwrap();
    let mut config = load(&path, helpers.path());
    let err = config
        .store("ghcr.io", &Credential::basic("me", "pw-secret"))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("failed to store") && message.contains("no keychain"),
        "{message}"
    );
    assert!(!message.contains("pw-secret"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn unknown_keys_survive_a_rewrite() {
    let original = json!({
        "auths": {
            "quay.io": { "auth": b64("q:q"), "email": "q@example.com", "future": [1, { "x": null }] },
            "ghcr.io": { "auth": b64("old:old"), "extra": true },
        },
        "HttpHeaders": { "User-Agent": "Docker-Client/24" },
        "psFormat": "table {{.ID}}",
        "proxies": { "default": { "httpProxy": "http://proxy:3128", "noProxy": "*.local" } },
        "currentContext": "colima",
        "plugins": { "buildx": { "cfg": 1.5 } },
        "aliases": {},
        "detachKeys": "ctrl-e,e",
        "unicode": "ünïcødé ✓",
    });
    let (_dir, path) = config_dir(&original);
    let mut config = DockerConfig::load(&path).unwrap();
    config
        .store("ghcr.io", &Credential::basic("new", "new"))
        .await
        .unwrap();
    let mut expected = original.clone();
    expected["auths"]["ghcr.io"] = json!({ "auth": b64("new:new"), "extra": true });
    assert_eq!(read_json(&path), expected);

    assert!(config.erase("ghcr.io").await.unwrap());
    let mut expected = original;
    expected["auths"].as_object_mut().unwrap().remove("ghcr.io");
    assert_eq!(read_json(&path), expected);
}

#[tokio::test]
async fn writes_reread_the_file_first() {
    let (_dir, path) = config_dir(&json!({ "auths": {} }));
    let mut config = DockerConfig::load(&path).unwrap();
    // Another program logs in meanwhile.
    std::fs::write(
        &path,
        serde_json::to_vec(
            &json!({ "auths": { "quay.io": { "auth": b64("q:q") } }, "credsStore": "" }),
        )
        .unwrap(),
    )
    .unwrap();
    config
        .store("ghcr.io", &Credential::basic("g", "g"))
        .await
        .unwrap();
    assert_eq!(
        read_json(&path),
        json!({
            "auths": {
                "quay.io": { "auth": b64("q:q") },
                "ghcr.io": { "auth": b64("g:g") },
            },
            "credsStore": "",
        })
    );
    assert_eq!(
        config.get("quay.io").await.unwrap(),
        Some(Credential::basic("q", "q"))
    );
}

#[tokio::test]
async fn new_file_is_private_and_leaves_no_temp_files() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("home/.docker");
    let path = dir.join("config.json");
    let mut config = DockerConfig::load(&path).unwrap();
    config
        .store("ghcr.io", &Credential::basic("u", "p"))
        .await
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("config.json")]);
    assert_eq!(
        read_json(&path),
        json!({ "auths": { "ghcr.io": { "auth": b64("u:p") } } })
    );
}

#[tokio::test]
async fn existing_mode_and_symlinks_are_kept() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, real) = config_dir(&json!({ "auths": {} }));
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("config.json", &link).unwrap();
    let mut config = DockerConfig::load(&link).unwrap();
    config
        .store("ghcr.io", &Credential::basic("u", "p"))
        .await
        .unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        read_json(&real)["auths"]["ghcr.io"],
        json!({ "auth": b64("u:p") })
    );
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[tokio::test]
async fn invalid_registry_names_are_rejected() {
    let (_dir, path) = config_dir(&json!({}));
    let mut config = DockerConfig::load(&path).unwrap();
    assert!(matches!(
        config.get("").await.unwrap_err(),
        CredentialError::InvalidRegistry { .. }
    ));
    assert!(matches!(
        config
            .store("https://", &Credential::basic("u", "p"))
            .await
            .unwrap_err(),
        CredentialError::InvalidRegistry { .. }
    ));
}

#[test]
fn debug_redacts_secrets() {
    let basic = format!("{:?}", Credential::basic("alice", "hunter2"));
    assert!(
        basic.contains("alice") && !basic.contains("hunter2"),
        "{basic}"
    );
    let token = format!("{:?}", Credential::IdentityToken("tok-123".into()));
    assert!(!token.contains("tok-123"), "{token}");
    let (_dir, path) =
        config_dir(&json!({ "auths": { "ghcr.io": { "auth": b64("alice:hunter2") } } }));
    let config = format!("{:?}", DockerConfig::load(&path).unwrap());
    assert!(
        !config.contains(&b64("alice:hunter2")) && !config.contains("hunter2"),
        "{config}"
    );
}
