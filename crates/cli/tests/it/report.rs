//! `lineage report enrich` (issue 8) against `lineage serve` holding the lifecycle scenario
//! (`1.0-20230707` is end-of-life since 2023-07-10T08:00:00Z, replaced by `1.0-20230710`),
//! fed Trivy and Grype JSON reports of realistic shape (`tests/fixtures/report/`) whose image
//! fields are filled in with the scenario's images: the successor appears, the scanner's
//! report is kept byte for byte, SARIF passes the 2.1.0 schema's structural rules, and a
//! report of an unknown image passes through with `state: unknown`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::support::serve::Serve;
use crate::support::{Scratch, lineage_ok, lineage_run};
use serde_json::{Value, json};

const EOL_SINCE: &str = "2023-07-10T08:00:00Z";
const AT: &str = "2024-01-01T00:00:00Z";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/report")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `lineage serve` with the scenario in `HOST/flasksample`, and an image without any
/// lifecycle data in `HOST/plain:v1`.
struct Scenario {
    s: Scratch,
    server: Serve,
    /// `HOST/flasksample`.
    repo: String,
    /// The digest of `1.0-20230707` (end-of-life).
    old: String,
    /// The digest of `1.0-20230710` (its successor).
    new: String,
    /// The digest of `plain:v1`.
    plain: String,
}

impl Scenario {
    fn new() -> Scenario {
        let s = Scratch::new();
        let server = Serve::start(&s.join("root"), &[]);
        let repo = server.reference("flasksample", "");
        let released = crate::support::scenario::scenario(&s, &repo);
        let plain_ref = server.reference("plain", ":v1");
        let rev1 = format!("oci:{}:rev1", s.join("builds").display());
        lineage_ok(s.path(), &["copy", &rev1, &plain_ref]);
        let plain = lineage_ok(s.path(), &["resolve", &plain_ref]).stdout_text();
        Scenario {
            old: released.eol_digest,
            new: released.successor_digest,
            plain,
            repo,
            server,
            s,
        }
    }

    /// A fixture with its image placeholders filled in, written to the scratch directory.
    fn report(
        &self,
        fixture_name: &str,
        image: &str,
        repo: &str,
        digest: &str,
    ) -> (PathBuf, String) {
        let text = fixture(fixture_name)
            .replace("{{IMAGE}}", image)
            .replace("{{REPO}}", repo)
            .replace("{{DIGEST}}", digest);
        let path = self
            .s
            .join(&format!("{}-{fixture_name}", repo.replace(['/', ':'], "_")));
        std::fs::write(&path, &text).unwrap();
        (path, text)
    }

    /// The report of `1.0-20230707`, scanned by its tag.
    fn old_report(&self, fixture_name: &str) -> (PathBuf, String) {
        let image = format!("{}:1.0-20230707", self.repo);
        self.report(fixture_name, &image, &self.repo, &self.old)
    }

    fn enrich(&self, args: &[&str]) -> crate::support::Run {
        let mut all = vec!["report", "enrich"];
        all.extend_from_slice(args);
        lineage_ok(self.s.path(), &all)
    }
}

/// The output without its `lifecycle` member, and that member.
fn split(out: &[u8]) -> (Value, Value) {
    let mut v: Value = serde_json::from_slice(out).unwrap();
    let l = v
        .as_object_mut()
        .unwrap()
        .remove("lifecycle")
        .expect("a lifecycle section");
    (v, l)
}

/// `out` is `input` with one insertion: every byte of the scanner's report is kept, in order.
fn assert_only_inserted(input: &str, out: &str) {
    let prefix = input
        .bytes()
        .zip(out.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = input
        .bytes()
        .rev()
        .zip(out.bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        prefix + suffix >= input.len() && out.len() > input.len(),
        "the output is not the input plus one insertion:\n{out}"
    );
}

fn assert_end_of_life(sc: &Scenario, l: &Value, matched_by: &str) {
    let successor = format!("{}:1.0-20230710", sc.repo);
    assert_eq!(l["reference"], format!("{}:1.0-20230707", sc.repo), "{l}");
    assert_eq!(l["digest"], sc.old, "{l}");
    assert_eq!(l["lookedUp"], format!("{}@{}", sc.repo, sc.old), "{l}");
    assert_eq!(l["matchedBy"], matched_by, "{l}");
    assert_eq!(l["state"], "end-of-life", "{l}");
    assert_eq!(l["endOfLife"], EOL_SINCE, "{l}");
    assert_eq!(l["reason"], "superseded", "{l}");
    assert_eq!(l["version"], "1.0", "{l}");
    assert_eq!(l["revision"], "20230707", "{l}");
    assert!(
        l["successor"]["reference"]
            .as_str()
            .unwrap()
            .ends_with(":1.0-20230710"),
        "{l}"
    );
    assert_eq!(l["successor"]["reference"], successor, "{l}");
    assert_eq!(l["successor"]["digest"], sc.new, "{l}");
    assert_eq!(l["action"], format!("move to {successor}"), "{l}");
    assert_eq!(l["source"], "referrer", "{l}");
    assert_eq!(l["checkedAt"], AT, "{l}");
    assert!(l.get("error").is_none(), "{l}");
}

#[test]
fn trivy_and_grype_reports_get_the_successor_and_keep_every_byte() {
    let sc = Scenario::new();
    for (fixture_name, matched_by) in [("trivy.json", "repoDigest"), ("grype.json", "repoDigest")] {
        let (path, input) = sc.old_report(fixture_name);
        let path = path.to_str().unwrap();
        let out = sc.enrich(&[path, "--at", AT]).stdout;
        let (rest, l) = split(&out);
        assert_eq!(
            rest,
            serde_json::from_str::<Value>(&input).unwrap(),
            "{fixture_name}"
        );
        assert_only_inserted(&input, std::str::from_utf8(&out).unwrap());
        assert_end_of_life(&sc, &l, matched_by);

        // `--format` named explicitly reads the same.
        let scanner = fixture_name.trim_end_matches(".json");
        let again = sc
            .enrich(&[path, "--at", AT, "--format", scanner, "--output", "json"])
            .stdout;
        assert_eq!(again, out, "{fixture_name}");

        // Enriching the enriched report replaces the section in place.
        let enriched = sc.s.join(&format!("enriched-{fixture_name}"));
        std::fs::write(&enriched, &out).unwrap();
        let twice = sc.enrich(&[enriched.to_str().unwrap(), "--at", AT]).stdout;
        assert_eq!(twice, out, "{fixture_name}");

        // Before the end-of-life, the same image is scheduled, with the same move.
        let (_, l) = split(&sc.enrich(&[path, "--at", "2023-07-09T00:00:00Z"]).stdout);
        assert_eq!(l["state"], "scheduled", "{l}");
        assert_eq!(
            l["action"],
            format!("move to {}:1.0-20230710", sc.repo),
            "{l}"
        );
    }

    // The Trivy report keeps Go's escapes and the spelling of its numbers (`7.80`): a
    // parse-and-serialise round trip would not.
    let (path, input) = sc.old_report("trivy.json");
    assert!(input.contains(r#""V3Score": 7.80"#) && input.contains(r"\u0026"));
    let out = sc.enrich(&[path.to_str().unwrap(), "--at", AT]).stdout;
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains(r#""V3Score": 7.80"#) && out.contains(r"\u0026"));
    // In Trivy's own layout: two-space indentation, the section last.
    assert!(
        out.contains(&format!(
            "\n  ],\n  \"lifecycle\": {{\n    \"reference\": \"{}:1.0-20230707\",\n",
            sc.repo
        )),
        "{out}"
    );
    assert!(out.ends_with("\n  }\n}\n"), "{out}");
}

#[test]
fn grype_falls_back_to_the_platform_manifest_digest() {
    let sc = Scenario::new();
    // The repo digest names an image the registry does not have (say, an index that was
    // deleted); the platform manifest is the scanned image.
    let missing = format!("sha256:{}", "0".repeat(64));
    let text = fixture("grype.json")
        .replace("{{IMAGE}}", &format!("{}:1.0-20230707", sc.repo))
        .replace("{{REPO}}@{{DIGEST}}", &format!("{}@{missing}", sc.repo))
        .replace("{{DIGEST}}", &sc.old);
    let path = sc.s.join("grype-platform.json");
    std::fs::write(&path, &text).unwrap();
    let out = sc.enrich(&[path.to_str().unwrap(), "--at", AT]).stdout;
    let (_, l) = split(&out);
    assert_end_of_life(&sc, &l, "manifestDigest");
}

// --- SARIF ------------------------------------------------------------------------------

/// Checks `v` against `def` of the SARIF schema's structure (the JSON-schema keywords of
/// `$ref`, `type`, `required`, `anyOf`/`oneOf` of required
/// sets, `additionalProperties`, `enum`, `minimum`, `items`, `minItems`, `uniqueItems`).
fn validate(schema: &Value, def: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(r) = def.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/");
        return validate(schema, &schema["definitions"][name], v, path, errors);
    }
    if let Some(t) = def.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        });
        if !ok {
            errors.push(format!("{path}: {v} is not of type {t}"));
            return;
        }
    }
    if let Some(e) = def.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errors.push(format!("{path}: {v} is not one of {e:?}"));
    }
    if let (Some(min), Some(n)) = (def.get("minimum").and_then(Value::as_f64), v.as_f64())
        && n < min
    {
        errors.push(format!("{path}: {n} < {min}"));
    }
    if let Some(obj) = v.as_object() {
        let has_all = |req: &Value| {
            req.as_array()
                .is_none_or(|r| r.iter().all(|k| obj.contains_key(k.as_str().unwrap_or(""))))
        };
        if !has_all(&def["required"]) {
            errors.push(format!("{path}: missing one of {}", def["required"]));
        }
        for (key, at_least, at_most) in [("anyOf", 1, usize::MAX), ("oneOf", 1, 1)] {
            if let Some(alts) = def.get(key).and_then(Value::as_array) {
                let n = alts.iter().filter(|a| has_all(&a["required"])).count();
                if n < at_least || n > at_most {
                    errors.push(format!("{path}: {key} {alts:?} matched {n} times"));
                }
            }
        }
        for (k, x) in obj {
            let p = format!("{path}.{k}");
            match def.get("properties").and_then(|ps| ps.get(k)) {
                Some(prop) => validate(schema, prop, x, &p, errors),
                None => match def.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{p}: not allowed")),
                    Some(s @ Value::Object(_)) => validate(schema, s, x, &p, errors),
                    _ => {}
                },
            }
        }
    }
    if let Some(arr) = v.as_array() {
        if let Some(min) = def.get("minItems").and_then(Value::as_u64)
            && (arr.len() as u64) < min
        {
            errors.push(format!("{path}: fewer than {min} items"));
        }
        if def.get("uniqueItems") == Some(&Value::Bool(true)) {
            for (i, x) in arr.iter().enumerate() {
                if arr[..i].contains(x) {
                    errors.push(format!("{path}[{i}]: duplicate item"));
                }
            }
        }
        if let Some(items) = def.get("items") {
            for (i, x) in arr.iter().enumerate() {
                validate(schema, items, x, &format!("{path}[{i}]"), errors);
            }
        }
    }
}

/// The structure of the SARIF 2.1.0 objects lineage writes, from the specification's
/// text (OASIS SARIF 2.1.0, §3): each object's required properties, the types of the
/// properties lineage uses, and the enumerations of `level` and `kind`. `validate` reads
/// the JSON-schema keywords `$ref`, `type`, `required`, `anyOf`, `enum`, `minimum`, `items`.
fn sarif_structure() -> Value {
    let object = |required: &[&str], properties: Value| json!({"type": "object", "required": required, "properties": properties});
    let r = |name: &str| json!({"$ref": format!("#/definitions/{name}")});
    let array =
        |name: &str| json!({"type": "array", "items": {"$ref": format!("#/definitions/{name}")}});
    let string = json!({"type": "string"});
    let line = json!({"type": "integer", "minimum": 1});
    let mut root = object(
        &["version", "runs"],
        json!({"$schema": string, "version": {"enum": ["2.1.0"]}, "runs": array("run")}),
    );
    root["definitions"] = json!({
        "run": object(&["tool"], json!({"tool": r("tool"), "results": array("result"),
            "invocations": array("invocation"), "conversion": r("conversion"),
            "properties": r("propertyBag")})),
        "tool": object(&["driver"], json!({"driver": r("toolComponent")})),
        "conversion": object(&["tool"], json!({"tool": r("tool")})),
        "toolComponent": object(&["name"], json!({"name": string, "version": string,
            "semanticVersion": string, "informationUri": string,
            "rules": array("reportingDescriptor")})),
        "reportingDescriptor": object(&["id"], json!({"id": string, "name": string,
            "shortDescription": r("multiformatMessageString"),
            "fullDescription": r("multiformatMessageString"),
            "help": r("multiformatMessageString"),
            "defaultConfiguration": r("reportingConfiguration"),
            "properties": r("propertyBag")})),
        "reportingConfiguration": object(&[], json!({"level": r("level")})),
        "multiformatMessageString": object(&["text"], json!({"text": string, "markdown": string})),
        "message": {"type": "object", "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
            "properties": {"text": string, "markdown": string, "id": string}},
        "result": object(&["message"], json!({"message": r("message"), "ruleId": string,
            "ruleIndex": {"type": "integer", "minimum": -1}, "level": r("level"),
            "kind": {"enum": ["notApplicable", "pass", "fail", "review", "open", "informational"]},
            "locations": array("location"), "properties": r("propertyBag")})),
        "level": {"enum": ["none", "note", "warning", "error"]},
        "location": object(&[], json!({"physicalLocation": r("physicalLocation"),
            "logicalLocations": array("logicalLocation"), "message": r("message")})),
        "logicalLocation": object(&[], json!({"name": string, "fullyQualifiedName": string,
            "kind": string})),
        "physicalLocation": {"type": "object",
            "anyOf": [{"required": ["address"]}, {"required": ["artifactLocation"]}],
            "properties": {"artifactLocation": r("artifactLocation"), "region": r("region")}},
        "artifactLocation": object(&[], json!({"uri": string, "uriBaseId": string})),
        "region": object(&[], json!({"startLine": line, "startColumn": line, "endLine": line,
            "endColumn": line})),
        "invocation": object(&["executionSuccessful"], json!({"executionSuccessful": {"type": "boolean"},
            "toolExecutionNotifications": array("notification")})),
        "notification": object(&["message"], json!({"message": r("message"), "level": r("level")})),
        "propertyBag": {"type": "object"},
    });
    root
}

fn assert_valid_sarif(log: &Value) {
    let schema = sarif_structure();
    let mut errors = Vec::new();
    validate(&schema, &schema, log, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "not valid SARIF 2.1.0:\n{}\n{log:#}",
        errors.join("\n")
    );
    // The required fields, spelled out.
    assert_eq!(log["version"], "2.1.0");
    assert!(
        log["$schema"]
            .as_str()
            .unwrap()
            .ends_with("sarif-schema-2.1.0.json")
    );
    for run in log["runs"].as_array().unwrap() {
        assert!(run["tool"]["driver"]["name"].is_string(), "{run}");
        for r in run["results"].as_array().unwrap() {
            assert!(r["message"]["text"].is_string(), "{r}");
            assert!(r["ruleId"].is_string(), "{r}");
        }
    }
}

#[test]
fn the_validator_catches_what_the_schema_forbids() {
    let schema = sarif_structure();
    for (bad, why) in [
        (json!({"version": "2.1.0"}), "no runs"),
        (json!({"version": "2.0.0", "runs": []}), "version"),
        (
            json!({"version": "2.1.0", "runs": [{"results": []}]}),
            "no tool",
        ),
        (
            json!({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}),
            "no driver name",
        ),
        (
            json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                "results": [{"message": {}}]}]}),
            "message without text or id",
        ),
        (
            json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                "results": [{"message": {"text": "t"}, "level": "fatal"}]}]}),
            "level",
        ),
        (
            json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x", "version": null}}}]}),
            "null version",
        ),
    ] {
        let mut errors = Vec::new();
        validate(&schema, &schema, &bad, "$", &mut errors);
        assert!(!errors.is_empty(), "{why}: accepted {bad}");
    }
}

#[test]
fn sarif_is_valid_and_lineage_run_names_the_successor() {
    let sc = Scenario::new();
    for (fixture_name, driver, findings) in [("trivy.json", "Trivy", 3), ("grype.json", "Grype", 2)]
    {
        let (path, _) = sc.old_report(fixture_name);
        let out = sc
            .enrich(&[path.to_str().unwrap(), "--at", AT, "--output", "sarif"])
            .stdout;
        let log: Value = serde_json::from_slice(&out).unwrap();
        assert_valid_sarif(&log);

        let runs = log["runs"].as_array().unwrap();
        let scanner = runs
            .iter()
            .find(|r| r["tool"]["driver"]["name"] == driver)
            .expect("the scanner's run");
        assert_eq!(scanner["results"].as_array().unwrap().len(), findings);
        assert_eq!(scanner["conversion"]["tool"]["driver"]["name"], "lineage");
        assert!(
            scanner["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["ruleId"].as_str().unwrap().starts_with("CVE-")
                    || r["ruleId"].as_str().unwrap().starts_with("GHSA-"))
        );

        let ours = runs
            .iter()
            .find(|r| r["tool"]["driver"]["name"] == "lineage")
            .expect("lineage's run");
        let result = &ours["results"][0];
        assert_eq!(result["ruleId"], "lineage/end-of-life");
        assert_eq!(result["level"], "error");
        let successor = format!("{}:1.0-20230710", sc.repo);
        let props = &result["properties"];
        assert_eq!(props["state"], "end-of-life");
        assert_eq!(props["successor"]["reference"], successor);
        assert_eq!(props["successor"]["digest"], sc.new);
        let text = result["message"]["text"].as_str().unwrap();
        assert!(
            text.contains(&format!("Move to {successor}")) && text.contains(EOL_SINCE),
            "{text}"
        );
    }
}

// --- markdown ---------------------------------------------------------------------------

#[test]
fn markdown_says_current_to_recommended_and_why_from_stdin() {
    let sc = Scenario::new();
    let (_, input) = sc.old_report("grype.json");
    let out = crate::support::lineage(sc.s.path())
        .args(["report", "enrich", "-", "--at", AT, "--output", "markdown"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).unwrap();
    let current = format!("{}:1.0-20230707", sc.repo);
    let recommended = format!("{}:1.0-20230710", sc.repo);
    assert!(
        md.starts_with(&format!("## lineage: `{current}` → `{recommended}`\n")),
        "{md}"
    );
    assert!(md.contains(&format!("`{}`", sc.new)), "{md}");
    assert!(
        md.contains(&format!(
            "end-of-life since {EOL_SINCE} (reason: superseded)"
        )),
        "{md}"
    );
    assert!(md.contains("Grype 0.86.1 found 2 vulnerabilities"), "{md}");
    assert!(md.lines().count() <= 10, "{md}");
}

// --- unknown images and bad input -------------------------------------------------------

#[test]
fn unknown_images_pass_through_with_state_unknown() {
    let sc = Scenario::new();

    // Not in the registry at all: `unknown`, with the lookup's error; exit 0.
    let missing_repo = sc.server.reference("nothing-here", "");
    let missing = format!("sha256:{}", "1".repeat(64));
    let (path, input) = sc.report(
        "trivy.json",
        &format!("{missing_repo}:1.0"),
        &missing_repo,
        &missing,
    );
    let path = path.to_str().unwrap();
    let run = lineage_run(sc.s.path(), &["report", "enrich", path, "--at", AT]).success();
    let (rest, l) = split(&run.stdout);
    assert_eq!(rest, serde_json::from_str::<Value>(&input).unwrap());
    assert_only_inserted(&input, std::str::from_utf8(&run.stdout).unwrap());
    assert_eq!(l["state"], "unknown", "{l}");
    assert_eq!(l["reference"], format!("{missing_repo}:1.0"), "{l}");
    assert_eq!(l["lookedUp"], format!("{missing_repo}@{missing}"), "{l}");
    assert!(!l["error"].as_str().unwrap().is_empty(), "{l}");
    assert_eq!(l["successor"], Value::Null, "{l}");
    assert_eq!(l["action"], Value::Null, "{l}");
    assert!(run.stderr.contains("warning: "), "{}", run.stderr);
    let sarif = sc.enrich(&[path, "--at", AT, "--output", "sarif"]).stdout;
    let log: Value = serde_json::from_slice(&sarif).unwrap();
    assert_valid_sarif(&log);
    let ours = log["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tool"]["driver"]["name"] == "lineage")
        .unwrap()
        .clone();
    assert_eq!(ours["results"][0]["ruleId"], "lineage/unknown");
    assert_eq!(ours["results"][0]["level"], "note");

    // In the registry, without any lifecycle data: `unknown`, no error.
    let plain_repo = sc.server.reference("plain", "");
    let (path, _) = sc.report(
        "grype.json",
        &format!("{plain_repo}:v1"),
        &plain_repo,
        &sc.plain,
    );
    let (_, l) = split(&sc.enrich(&[path.to_str().unwrap(), "--at", AT]).stdout);
    assert_eq!(l["state"], "unknown", "{l}");
    assert_eq!(l["digest"], sc.plain, "{l}");
    assert_eq!(l["source"], "none", "{l}");
    assert!(l.get("error").is_none(), "{l}");

    // A report of a file system, not an image: nothing to look up.
    let fs_report = sc.s.join("fs.json");
    std::fs::write(
        &fs_report,
        r#"{"SchemaVersion":2,"ArtifactName":".","ArtifactType":"filesystem","Results":[]}"#,
    )
    .unwrap();
    let (_, l) = split(&sc.enrich(&[fs_report.to_str().unwrap(), "--at", AT]).stdout);
    assert_eq!(l["state"], "unknown", "{l}");
    assert!(l["error"].as_str().unwrap().contains("filesystem"), "{l}");
}

#[test]
fn bad_input_is_a_clear_error_naming_the_file() {
    let s = Scratch::new();
    let write = |name: &str, text: &str| {
        let p = s.join(name);
        std::fs::File::create(&p)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        p.to_str().unwrap().to_string()
    };
    let enrich = |args: &[&str]| {
        let mut all = vec!["report", "enrich"];
        all.extend_from_slice(args);
        lineage_run(s.path(), &all)
    };

    let not_json = write("not-json.json", "{\n  \"SchemaVersion\": 2,\n  oops\n}\n");
    let r = enrich(&[&not_json]);
    r.fails_naming(&not_json);
    assert!(
        r.stderr.contains("not JSON") && r.stderr.contains("line 3 column 3"),
        "{}",
        r.stderr
    );

    let cyclonedx = write(
        "bom.json",
        r#"{"bomFormat":"CycloneDX","specVersion":"1.5"}"#,
    );
    let r = enrich(&[&cyclonedx]);
    r.fails_naming(&cyclonedx);
    assert!(r.stderr.contains("neither a Trivy"), "{}", r.stderr);

    let old_trivy = write(
        "old-trivy.json",
        r#"[{"Target":"alpine:3.10","Vulnerabilities":[]}]"#,
    );
    let r = enrich(&[&old_trivy]);
    r.fails_naming(&old_trivy);
    assert!(r.stderr.contains("an array"), "{}", r.stderr);

    let trivy = write("trivy.json", &fixture("trivy.json"));
    let r = enrich(&[&trivy, "--format", "grype"]);
    r.fails_naming(&trivy);
    assert!(r.stderr.contains("not a Grype JSON report"), "{}", r.stderr);

    let missing = s.join("missing.json");
    let missing = missing.to_str().unwrap();
    enrich(&[missing]).fails_naming(missing);

    let r = enrich(&[&trivy, "--at", "last tuesday"]);
    r.clean_failure();
    assert_eq!(r.code, Some(2), "{}", r.stderr);
}
