#!/usr/bin/env python3
"""Fixture and checks for bench/gc.sh: fill a registry with orphaned and live referrers
through the distribution API, and list and fetch everything live.

  gc.py fill HOST REPOS DEAD_PER_REPO LIVE_PER_REPO ORPHANS_PER_DEAD LIVE_REFERRERS
  gc.py live HOST STATE.json      (prints the sorted digests of every live referrer it fetched)
  gc.py gone HOST STATE.json      (prints how many orphans and orphaned tags still answer)
  gc.py subjects STATE.json       (prints `REPO SUBJECT` of every live image, one a line)
  gc.py attached HOST FILE        (FILE: `REPO SUBJECT DIGEST` lines; prints how many of those
                                   referrers are not listed by their subject's referrers tag or
                                   do not fetch and verify)
  gc.py log REGISTRY.log SINCE TAGS
                                  (a markdown table of the registry's own time per method, for
                                   requests whose user agent starts with `lineage` logged at or
                                   after SINCE, an RFC 3339 UTC time; then how many tags each
                                   repository still had, on average, when a referrer was deleted,
                                   TAGS being how many each had at the start)
  gc.py delete-cost HOST PID N TAGS...
                                  (for each TAGS: a fresh repository with that many tags, then N
                                   untagged manifests deleted one by one; prints the registry's
                                   (process PID) CPU time per DELETE, and per HEAD for comparison)
"""
import hashlib
import http.client
import json
import os
import re
import sys
import threading

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = {"mediaType": "application/vnd.oci.empty.v1+json",
         "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2}
ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX])


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def canon(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":")).encode()


class Conn:
    def __init__(self, host):
        self.host = host
        self.c = http.client.HTTPConnection(host, timeout=60)

    def req(self, method, path, body=None, headers=None, ok=(200, 201, 202, 204)):
        self.c.request(method, path, body=body, headers=headers or {})
        r = self.c.getresponse()
        data = r.read()
        if ok and r.status not in ok:
            raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
        return r, data

    def blob(self, repo, data):
        d = digest(data)
        r, _ = self.req("POST", f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
        loc = r.getheader("Location")
        if loc.startswith("http"):
            loc = loc.split(self.host, 1)[1]
        sep = "&" if "?" in loc else "?"
        self.req("PUT", f"{loc}{sep}digest={d}", body=data,
                 headers={"Content-Type": "application/octet-stream"})
        return {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d, "size": len(data)}

    def manifest(self, repo, ref, body, mt=OCI_MANIFEST):
        self.req("PUT", f"/v2/{repo}/manifests/{ref}", body=body, headers={"Content-Type": mt})


def fill_repo(host, repo, dead, live, per_dead, per_live, out, lock):
    c = Conn(host)
    c.blob(repo, b"{}")
    state = {"repo": repo, "dead": [], "live": []}
    for kind, count, per in (("dead", dead, per_dead), ("live", live, per_live)):
        for i in range(count):
            config = c.blob(repo, canon({"architecture": "amd64", "os": "linux", "bench": f"{repo}-{kind}-{i}"}))
            subject = canon({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [EMPTY]})
            sd = digest(subject)
            c.manifest(repo, f"{kind}-{i}", subject)
            entries = []
            for j in range(per):
                ann = {"org.opencontainers.image.created": "2024-01-01T00:00:00Z", "n": str(j)}
                r = canon({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/x.bench",
                           "config": EMPTY, "layers": [EMPTY],
                           "subject": {"mediaType": OCI_MANIFEST, "digest": sd, "size": len(subject)},
                           "annotations": ann})
                rd = digest(r)
                c.manifest(repo, rd, r)
                entries.append({"mediaType": OCI_MANIFEST, "digest": rd, "size": len(r),
                                "artifactType": "application/x.bench", "annotations": ann})
            index = canon({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
            c.manifest(repo, sd.replace(":", "-"), index, OCI_INDEX)
            state[kind].append({"subject": sd, "referrers": [e["digest"] for e in entries]})
            if kind == "dead":
                c.req("DELETE", f"/v2/{repo}/manifests/{sd}")
    with lock:
        out.append(state)


def fill(host, repos, dead, live, per_dead, per_live):
    out, lock, threads = [], threading.Lock(), []
    for r in range(repos):
        t = threading.Thread(target=fill_repo, args=(host, f"bench-gc-{r}", dead, live, per_dead, per_live, out, lock))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    json.dump(sorted(out, key=lambda s: s["repo"]), sys.stdout)


def each_repo(host, state, work):
    results, lock, threads = [], threading.Lock(), []

    def run(s):
        got = work(Conn(host), s)
        with lock:
            results.extend(got)
    for s in state:
        t = threading.Thread(target=run, args=(s,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return results


def live(host, state):
    """Every live referrer: listed by its subject's referrers tag and fetched by digest."""
    def work(c, s):
        got = []
        for sub in s["live"]:
            _, data = c.req("GET", f"/v2/{s['repo']}/manifests/{sub['subject'].replace(':', '-')}",
                            headers={"Accept": ACCEPT})
            for e in json.loads(data)["manifests"]:
                r, body = c.req("GET", f"/v2/{s['repo']}/manifests/{e['digest']}", headers={"Accept": ACCEPT})
                if digest(body) == e["digest"]:
                    got.append(e["digest"])
        return got
    for d in sorted(each_repo(host, state, work)):
        print(d)


def gone(host, state):
    def work(c, s):
        left = []
        for sub in s["dead"]:
            tag = sub["subject"].replace(":", "-")
            r, _ = c.req("HEAD", f"/v2/{s['repo']}/manifests/{tag}", headers={"Accept": ACCEPT}, ok=None)
            if r.status != 404:
                left.append(tag)
            for d in sub["referrers"]:
                r, _ = c.req("HEAD", f"/v2/{s['repo']}/manifests/{d}", headers={"Accept": ACCEPT}, ok=None)
                if r.status != 404:
                    left.append(d)
        return left
    print(len(each_repo(host, state, work)))


def subjects(state):
    for s in state:
        for sub in s["live"]:
            print(s["repo"], sub["subject"])


def attached(host, path):
    """Referrers attached during the run: each listed by its subject's referrers tag, and
    fetched and verified by digest."""
    c = Conn(host)
    listed, missing = {}, 0
    for line in open(path):
        repo, subject, d = line.split()
        key = (repo, subject)
        if key not in listed:
            r, data = c.req("GET", f"/v2/{repo}/manifests/{subject.replace(':', '-')}",
                            headers={"Accept": ACCEPT}, ok=None)
            listed[key] = {e["digest"] for e in json.loads(data)["manifests"]} if r.status == 200 else set()
        r, body = c.req("GET", f"/v2/{repo}/manifests/{d}", headers={"Accept": ACCEPT}, ok=None)
        if d not in listed[key] or r.status != 200 or digest(body) != d:
            missing += 1
    print(missing)


def cpu_seconds(pid):
    """User + system CPU seconds process `pid` has used."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def delete_cost(host, pid, n, tag_counts):
    """The registry's CPU per manifest DELETE as a function of the repository's tags."""
    print("| tags in the repository | registry CPU per DELETE | per HEAD |")
    print("|---:|---:|---:|")
    for tags in tag_counts:
        repo, c = f"bench-cost-{tags}", Conn(host)
        config = c.blob(repo, b"{}")

        def body(i):
            return canon({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
                          "layers": [EMPTY], "annotations": {"n": str(i)}})
        for i in range(tags):
            c.manifest(repo, f"t{i}", body(i))
        doomed = [body(tags + i) for i in range(n)]
        for b in doomed:
            c.manifest(repo, digest(b), b)
        before = cpu_seconds(pid)
        for b in doomed:
            c.req("DELETE", f"/v2/{repo}/manifests/{digest(b)}")
        per_delete = (cpu_seconds(pid) - before) / n
        before = cpu_seconds(pid)
        for i in range(n):
            c.req("HEAD", f"/v2/{repo}/manifests/t{i % max(tags, 1)}", headers={"Accept": ACCEPT}, ok=None)
        per_head = (cpu_seconds(pid) - before) / n
        print(f"| {tags} | {1000 * per_delete:.2f} ms | {1000 * per_head:.2f} ms |")


GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
GO_PART = re.compile(r"([0-9.]+)(ns|us|\u00b5s|ms|s|m|h)")
COMPLETED = re.compile(r'^time="([^"]+)" level=\w+ msg="response completed')
FIELD = re.compile(r'([a-z.]+)=("(?:[^"\\]|\\.)*"|\S+)')


def go_duration(text):
    """Seconds in a Go duration string (`1m2.5s`, `12.3ms`, `845.1\u00b5s`)."""
    parts = GO_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise SystemExit(f"not a Go duration: {text!r}")
    return sum(float(n) * GO_UNITS[u] for n, u in parts)


def log(path, since, tags):
    """The registry's time per method, from distribution's `response completed` lines; and
    the tags a repository had when each manifest DELETE read them all (distribution 2.8 does,
    to untag the manifest): `tags` at the start, less the referrers tags gone by then (a
    lineage HEAD or GET of a `sha256-` tag answered 404)."""
    by_method, gone, at_delete = {}, {}, []
    for line in open(path, encoding="utf-8", errors="replace"):
        m = COMPLETED.match(line)
        if not m or m.group(1)[:26] < since[:26]:
            continue
        fields = {k: v.strip('"') for k, v in FIELD.findall(line)}
        if not fields.get("http.request.useragent", "").startswith("lineage"):
            continue
        d = go_duration(fields["http.response.duration"])
        method = fields["http.request.method"]
        by_method.setdefault(method, []).append(d)
        repo, _, ref = fields.get("http.request.uri", "").removeprefix("/v2/").partition("/manifests/")
        if method in ("HEAD", "GET") and ref.startswith("sha256-") and fields.get("http.response.status") == "404":
            gone.setdefault(repo, set()).add(ref)
        elif method == "DELETE" and ref:
            at_delete.append(tags - len(gone.get(repo, ())))
    total = sum(sum(v) for v in by_method.values()) or 1.0
    print("| method | requests | registry time | share | median | p90 |")
    print("|---|---:|---:|---:|---:|---:|")
    for method, ds in sorted(by_method.items(), key=lambda kv: -sum(kv[1])):
        ds.sort()
        print(f"| {method} | {len(ds)} | {sum(ds):.1f} s | {100 * sum(ds) / total:.0f} % "
              f"| {1000 * ds[len(ds) // 2]:.1f} ms | {1000 * ds[int(len(ds) * 0.9)]:.1f} ms |")
    if at_delete:
        print(f"\nTags in the repository at a manifest DELETE: {sum(at_delete) / len(at_delete):.1f} "
              f"on average ({tags} at the start; {len(at_delete)} DELETEs).")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "delete-cost":
        delete_cost(sys.argv[2], sys.argv[3], int(sys.argv[4]), [int(t) for t in sys.argv[5:]])
        sys.exit(0)
    if cmd == "log":
        log(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.exit(0)
    if cmd == "subjects":
        subjects(json.load(open(sys.argv[2])))
        sys.exit(0)
    host = sys.argv[2]
    if cmd == "fill":
        fill(host, *map(int, sys.argv[3:8]))
    elif cmd == "attached":
        attached(host, sys.argv[3])
    else:
        state = json.load(open(sys.argv[3]))
        {"live": live, "gone": gone}[cmd](host, state)
