#!/usr/bin/env python3
"""serve_scale.py - the HTTP side of bench/serve-scale.sh (see there).

Subcommands, each printing one JSON object on stdout:
  fill URL REPO SUBJECT FROM TO [--threads N]
      push referrers FROM..TO-1 of SUBJECT (untagged, by digest), N at a time
  pushes URL REPO SUBJECT FROM COUNT
      push COUNT more referrers one after another; per-push latency in ms
  listing URL REPO SUBJECT ROUNDS
      GET the referrers listing ROUNDS times; latency in ms and entries
  orphans URL REPO FROM COUNT
      push an image, COUNT referrers of it each with its own layer, delete the image
  live URL REPO
      list and fetch every live manifest and blob of REPO's referrers of its `live` tag
Only loopback URLs are accepted.
"""

import hashlib
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

EMPTY = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def conn(url):
    u = urllib.parse.urlsplit(url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"serve_scale: refusing a non-loopback URL {url}")
    return http.client.HTTPConnection(u.hostname, u.port, timeout=120)


def request(c, method, path, body=None, headers=None):
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    return r.status, data, r


def referrer(subject, n, layer=None):
    layers = [layer] if layer else [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY, "size": 2}]
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "artifactType": "application/vnd.lineage.lifecycle.v1+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY, "size": 2},
            "layers": layers,
            "subject": {"mediaType": MANIFEST, "digest": subject, "size": 500},
            "annotations": {
                "org.opencontainers.image.created": "2026-12-06T00:00:00Z",
                "vnd.lineage.lifecycle.state": "end-of-life",
                "vnd.lineage.record.n": str(n),
            },
        },
        separators=(",", ":"),
    ).encode()
    return body, "sha256:" + hashlib.sha256(body).hexdigest()


def push_blob(c, repo, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    # POST then PUT (distribution 2.8 does not finish an upload in one POST)
    s, body, r = request(c, "POST", f"/v2/{repo}/blobs/uploads/", b"", {"Content-Length": "0"})
    loc = r.getheader("Location")
    sep = "&" if "?" in loc else "?"
    path = urllib.parse.urlsplit(loc)
    target = (path.path + ("?" + path.query if path.query else "")) + f"{sep}digest={d}"
    s, body, _ = request(c, "PUT", target, data, {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))})
    if s != 201:
        sys.exit(f"blob push failed: {s} {body[:200]!r}")
    return d


def put_manifest(c, repo, ref, body):
    s, data, _ = request(c, "PUT", f"/v2/{repo}/manifests/{ref}", body, {"Content-Type": MANIFEST})
    if s != 201:
        sys.exit(f"manifest push failed: {s} {data[:200]!r}")


def fill(url, repo, subject, start, end, threads=8):
    c = conn(url)
    push_blob(c, repo, b"{}")
    todo = list(range(start, end))
    lock = threading.Lock()
    t0 = time.monotonic()

    def work():
        c = conn(url)
        while True:
            with lock:
                if not todo:
                    return
                n = todo.pop()
            body, d = referrer(subject, n)
            put_manifest(c, repo, d, body)

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return {"pushed": end - start, "seconds": round(time.monotonic() - t0, 2)}


def pushes(url, repo, subject, start, count):
    c = conn(url)
    push_blob(c, repo, b"{}")
    lat = []
    for n in range(start, start + count):
        body, d = referrer(subject, n)
        t = time.monotonic()
        put_manifest(c, repo, d, body)
        lat.append((time.monotonic() - t) * 1000)
    lat.sort()
    return {"count": count, "median_ms": round(statistics.median(lat), 3),
            "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 3), "total_s": round(sum(lat) / 1000, 2)}


def listing(url, repo, subject, rounds):
    c = conn(url)
    lat = []
    entries = 0
    for _ in range(rounds):
        t = time.monotonic()
        s, data, _ = request(c, "GET", f"/v2/{repo}/referrers/{subject}")
        lat.append((time.monotonic() - t) * 1000)
        if s != 200:
            sys.exit(f"listing failed: {s}")
        entries = len(json.loads(data)["manifests"])
    lat.sort()
    return {"rounds": rounds, "entries": entries, "median_ms": round(statistics.median(lat), 2),
            "p99_ms": round(lat[max(0, int(len(lat) * 0.99) - 1)], 2)}


def image(c, repo, seed):
    config = push_blob(c, repo, json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode())
    layer_data = f"layer of {seed}".encode() * 100
    layer = push_blob(c, repo, layer_data)
    body = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST,
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": len(json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode())},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": len(layer_data)}]},
                      separators=(",", ":")).encode()
    return body, "sha256:" + hashlib.sha256(body).hexdigest()


def orphans(url, repo, start, count, threads=8):
    c = conn(url)
    push_blob(c, repo, b"{}")
    body, subject = image(c, repo, f"doomed-{start}")
    put_manifest(c, repo, "doomed", body)
    todo = list(range(start, start + count))
    lock = threading.Lock()

    def work():
        c = conn(url)
        while True:
            with lock:
                if not todo:
                    return
                n = todo.pop()
            data = f"record blob {n}".encode()
            d = push_blob(c, repo, data)
            b, md = referrer(subject, n, {"mediaType": "application/vnd.lineage.lifecycle.v1+json", "digest": d, "size": len(data)})
            put_manifest(c, repo, md, b)

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    s, _, _ = request(c, "DELETE", f"/v2/{repo}/manifests/{subject}")
    return {"subject": subject, "referrers": count, "deleted": s}


def live(url, repo):
    """Everything live in REPO: the `live` tag's image, its referrers, and their blobs."""
    c = conn(url)
    s, data, r = request(c, "GET", f"/v2/{repo}/manifests/live", headers={"Accept": MANIFEST})
    if s != 200:
        sys.exit(f"live image missing: {s}")
    subject = r.getheader("Docker-Content-Digest")
    out = {subject: hashlib.sha256(data).hexdigest()}
    todo = [json.loads(data)]
    s, data, _ = request(c, "GET", f"/v2/{repo}/referrers/{subject}")
    refs = json.loads(data)["manifests"]
    for d in refs:
        s, m, _ = request(c, "GET", f"/v2/{repo}/manifests/{d['digest']}", headers={"Accept": MANIFEST})
        if s != 200:
            sys.exit(f"live referrer {d['digest']} missing: {s}")
        out[d["digest"]] = hashlib.sha256(m).hexdigest()
        todo.append(json.loads(m))
    for m in todo:
        for b in [m["config"]] + m["layers"]:
            s, blob, _ = request(c, "GET", f"/v2/{repo}/blobs/{b['digest']}")
            if s != 200:
                sys.exit(f"live blob {b['digest']} missing: {s}")
            out[b["digest"]] = hashlib.sha256(blob).hexdigest()
    return {"objects": len(out), "referrers": len(refs), "fingerprint": hashlib.sha256(json.dumps(sorted(out.items())).encode()).hexdigest()}


def live_setup(url, repo, count):
    c = conn(url)
    push_blob(c, repo, b"{}")
    body, subject = image(c, repo, "live")
    put_manifest(c, repo, "live", body)
    for n in range(count):
        data = f"live record blob {n}".encode()
        d = push_blob(c, repo, data)
        b, md = referrer(subject, n, {"mediaType": "application/vnd.lineage.lifecycle.v1+json", "digest": d, "size": len(data)})
        put_manifest(c, repo, md, b)
    return {"subject": subject, "referrers": count}


def main():
    a = sys.argv[1:]
    cmd = a[0]
    if cmd == "fill":
        out = fill(a[1], a[2], a[3], int(a[4]), int(a[5]), int(a[6]) if len(a) > 6 else 8)
    elif cmd == "pushes":
        out = pushes(a[1], a[2], a[3], int(a[4]), int(a[5]))
    elif cmd == "listing":
        out = listing(a[1], a[2], a[3], int(a[4]))
    elif cmd == "orphans":
        out = orphans(a[1], a[2], int(a[3]), int(a[4]))
    elif cmd == "live":
        out = live(a[1], a[2])
    elif cmd == "live-setup":
        out = live_setup(a[1], a[2], int(a[3]))
    else:
        sys.exit(f"unknown subcommand {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
