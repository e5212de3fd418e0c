#!/usr/bin/env python3
"""serve_scale.py - the HTTP side of bench/serve-scale.sh (see there).

Subcommands, each printing one JSON object on stdout:
  subject URL REPO SEED
      push an image tagged `subject` (config, layer, manifest); its digest
  fill URL REPO SUBJECT FROM TO [PROCS]
      push referrers FROM..TO-1 of SUBJECT (untagged, by digest) from PROCS processes
      (default 8), each pushing its share one after another over one connection
  pushes URL REPO SUBJECT FROM COUNT
      push COUNT more referrers one after another; per-push latency in ms
  listing URL REPO SUBJECT ROUNDS
      GET the whole referrers listing ROUNDS times, following `Link` from page to page;
      latency in ms of a whole listing (the sum of its pages) and of one page (the HTTP
      exchange, body read; parsing it is not timed), entries and pages
  orphans URL REPO FROM COUNT
      push an image, COUNT referrers of it each with its own layer, delete the image
  live-setup URL REPO COUNT
      push an image tagged `live` and COUNT referrers of it, each with its own layer
  live URL REPO:TAG...
      list and fetch every live manifest and blob reached from each tag and the whole
      referrers listing of its manifest; a fingerprint of all of it
Every request has a timeout; a connection the server closed is opened again (3 tries).
Only loopback URLs are accepted.
"""

import hashlib
import http.client
import json
import multiprocessing
import statistics
import sys
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
    for attempt in range(3):
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, data, r
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                http.client.CannotSendRequest, http.client.ResponseNotReady):
            # A keep-alive connection the server closed: open it again.
            c.close()
            if attempt == 2:
                raise


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


def _fill_share(args):
    url, repo, subject, numbers = args
    c = conn(url)
    for n in numbers:
        body, d = referrer(subject, n)
        put_manifest(c, repo, d, body)
    return len(numbers)


def fill(url, repo, subject, start, end, procs=8):
    c = conn(url)
    push_blob(c, repo, b"{}")
    t0 = time.monotonic()
    shares = [(url, repo, subject, range(start + i, end, procs)) for i in range(procs)]
    with multiprocessing.Pool(procs) as pool:
        pushed = sum(pool.map(_fill_share, shares))
    return {"pushed": pushed, "seconds": round(time.monotonic() - t0, 2)}


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


def whole_listing(c, repo, subject):
    """Every page of the referrers listing: (manifests, per-page ms). A page's time is its
    HTTP exchange (request sent, whole body read); parsing the body is not timed."""
    path = f"/v2/{repo}/referrers/{subject}"
    bodies, pages = [], []
    while path:
        t = time.monotonic()
        s, data, r = request(c, "GET", path)
        pages.append((time.monotonic() - t) * 1000)
        if s != 200:
            sys.exit(f"listing failed: {s} {data[:200]!r}")
        bodies.append(data)
        link = r.getheader("Link")
        path = link.split(">")[0].lstrip("<").strip() if link else None
        if len(pages) > 100000:
            sys.exit("listing: more than 100000 pages")
    out = [m for data in bodies for m in json.loads(data)["manifests"]]
    return out, pages


def pct(lat, p):
    lat = sorted(lat)
    return round(lat[max(0, int(len(lat) * p) - 1)], 2)


def listing(url, repo, subject, rounds):
    c = conn(url)
    whole, page = [], []
    entries = pages = 0
    for _ in range(rounds):
        out, lat = whole_listing(c, repo, subject)
        whole.append(sum(lat))
        page.extend(lat)
        entries, pages = len(out), len(lat)
    return {"rounds": rounds, "entries": entries, "pages": pages,
            "median_ms": round(statistics.median(whole), 2), "p99_ms": pct(whole, 0.99),
            "page_median_ms": round(statistics.median(page), 2), "page_p99_ms": pct(page, 0.99)}


def image(c, repo, seed):
    config = push_blob(c, repo, json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode())
    layer_data = f"layer of {seed}".encode() * 100
    layer = push_blob(c, repo, layer_data)
    body = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST,
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": len(json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode())},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": len(layer_data)}]},
                      separators=(",", ":")).encode()
    return body, "sha256:" + hashlib.sha256(body).hexdigest()


def _orphan_share(args):
    url, repo, subject, numbers = args
    c = conn(url)
    for n in numbers:
        data = f"record blob {n}".encode()
        d = push_blob(c, repo, data)
        b, md = referrer(subject, n, {"mediaType": "application/vnd.lineage.lifecycle.v1+json", "digest": d, "size": len(data)})
        put_manifest(c, repo, md, b)
    return len(numbers)


def orphans(url, repo, start, count, procs=8):
    c = conn(url)
    push_blob(c, repo, b"{}")
    body, subject = image(c, repo, f"doomed-{start}")
    put_manifest(c, repo, "doomed", body)
    shares = [(url, repo, subject, range(start + i, start + count, procs)) for i in range(procs)]
    with multiprocessing.Pool(procs) as pool:
        pushed = sum(pool.map(_orphan_share, shares))
    s, _, _ = request(c, "DELETE", f"/v2/{repo}/manifests/{subject}")
    if s != 202:
        sys.exit(f"deleting the doomed image failed: {s}")
    return {"subject": subject, "referrers": pushed, "deleted": s}


def _fetch_share(args):
    url, kind, repo, digests = args
    c = conn(url)
    out = []
    for d in digests:
        headers = {"Accept": MANIFEST} if kind == "manifests" else {}
        s, data, _ = request(c, "GET", f"/v2/{repo}/{kind}/{d}", headers=headers)
        if s != 200:
            sys.exit(f"live {kind[:-1]} {repo}@{d} missing: {s}")
        if "sha256:" + hashlib.sha256(data).hexdigest() != d:
            sys.exit(f"live {kind[:-1]} {repo}@{d}: the bytes do not match the digest")
        out.append((f"{repo}@{d}", data if kind == "manifests" else None))
    return out


def fetch_all(url, kind, repo, digests, procs=8):
    digests = sorted(set(digests))
    shares = [(url, kind, repo, digests[i::procs]) for i in range(procs)]
    with multiprocessing.Pool(procs) as pool:
        return [x for part in pool.map(_fetch_share, shares) for x in part]


def live(url, targets):
    """Everything live from each REPO:TAG: its manifest, the whole referrers listing of it,
    every listed manifest, and every blob those manifests name, each fetched and checked
    against its digest."""
    c = conn(url)
    names = []
    listed = 0
    for target in targets:
        repo, tag = target.split(":", 1)
        s, data, r = request(c, "GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": MANIFEST})
        if s != 200:
            sys.exit(f"live image {target} missing: {s}")
        subject = r.getheader("Docker-Content-Digest")
        refs, _ = whole_listing(c, repo, subject)
        listed += len(refs)
        manifests = fetch_all(url, "manifests", repo, [subject] + [d["digest"] for d in refs])
        blobs = set()
        for _, m in manifests:
            m = json.loads(m)
            blobs.update(b["digest"] for b in [m["config"]] + m["layers"])
        names.extend(n for n, _ in manifests)
        names.extend(n for n, _ in fetch_all(url, "blobs", repo, blobs))
    names.sort()
    return {"objects": len(names), "referrers": listed,
            "fingerprint": hashlib.sha256("\n".join(names).encode()).hexdigest()}


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


def subject(url, repo, seed):
    c = conn(url)
    body, d = image(c, repo, seed)
    put_manifest(c, repo, "subject", body)
    return {"subject": d}


def main():
    a = sys.argv[1:]
    cmd = a[0]
    if cmd == "subject":
        out = subject(a[1], a[2], a[3])
    elif cmd == "fill":
        out = fill(a[1], a[2], a[3], int(a[4]), int(a[5]), int(a[6]) if len(a) > 6 else 8)
    elif cmd == "pushes":
        out = pushes(a[1], a[2], a[3], int(a[4]), int(a[5]))
    elif cmd == "listing":
        out = listing(a[1], a[2], a[3], int(a[4]))
    elif cmd == "orphans":
        out = orphans(a[1], a[2], int(a[3]), int(a[4]))
    elif cmd == "live":
        out = live(a[1], a[2:])
    elif cmd == "live-setup":
        out = live_setup(a[1], a[2], int(a[3]))
    else:
        sys.exit(f"unknown subcommand {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
