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
"""
import hashlib
import http.client
import json
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


if __name__ == "__main__":
    cmd = sys.argv[1]
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
