#!/usr/bin/python3
"""VNF packages (docs/PACKAGES.md): the time to on-board the sample CSAR
(PUT package_content until GET shows ONBOARDED, polled every 2 ms), RUNS
times, against the reference of on-boarding the same descriptor natively
(POST /v0/vnfds of the JSON it translates to); and the memory of vnfmd
(VmHWM, reset through /proc/PID/clear_refs) while it receives (the body goes
into a file as it arrives), then while it verifies and translates, a
package of about BIG_MB MB (the sample with an artifact of random bytes, its
checksum in the manifest). vnfmd must take unsigned packages
(--package-unsigned): the samples are not signed.

  package_onboard.py URL TOKEN VNFMD_PID VNFMCTL SAMPLE_DIR [RUNS] [BIG_MB]
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

URL, TOKEN, PID, VNFMCTL, SAMPLE = sys.argv[1:6]
RUNS = int(sys.argv[6]) if len(sys.argv) > 6 else 20
BIG_MB = int(sys.argv[7]) if len(sys.argv) > 7 else 100
PKGM = URL + "/vnfpkgm/v1/vnf_packages"


def call(method, url, body=None, raw=None, ctype="application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    if data is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            text = r.read()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def build(src, extra_mb=0):
    tmp = tempfile.mkdtemp(prefix="pkg-bench-")
    d = os.path.join(tmp, "src")
    shutil.copytree(src, d, symlinks=False)
    if extra_mb:
        with open(os.path.join(d, "Files", "big.bin"), "wb") as f:
            for _ in range(extra_mb):
                f.write(os.urandom(1 << 20))
    out = os.path.join(tmp, "pkg.zip")
    subprocess.run([VNFMCTL, "package", "build", d, out], check=True, stdout=subprocess.DEVNULL)
    with open(out, "rb") as f:
        data = f.read()
    shutil.rmtree(tmp)
    return data


def status_kb(field):
    with open("/proc/%s/status" % PID) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak():
    with open("/proc/%s/clear_refs" % PID, "w") as f:
        f.write("5")


def onboard(data):
    """Seconds from the PUT to ONBOARDED; the package id."""
    st, pkg = call("POST", PKGM, {})
    assert st == 201, (st, pkg)
    t0 = time.monotonic()
    st, doc = call("PUT", "%s/%s/package_content" % (PKGM, pkg["id"]), raw=data,
                   ctype="application/zip")
    assert st == 202, (st, doc)
    while True:
        st, doc = call("GET", "%s/%s" % (PKGM, pkg["id"]))
        if doc["onboardingState"] in ("ONBOARDED", "ERROR"):
            break
        time.sleep(0.002)
    took = time.monotonic() - t0
    assert doc["onboardingState"] == "ONBOARDED", doc
    return took, pkg["id"], doc["vnfdId"]


def remove(pid):
    call("PATCH", "%s/%s" % (PKGM, pid), {"operationalState": "DISABLED"})
    st, doc = call("DELETE", "%s/%s" % (PKGM, pid))
    assert st == 204, (st, doc)


def ms(xs):
    xs = sorted(xs)
    return "median %.1f ms, p90 %.1f ms, min %.1f ms, max %.1f ms" % (
        statistics.median(xs) * 1e3, xs[int(len(xs) * 0.9) - 1] * 1e3, xs[0] * 1e3,
        xs[-1] * 1e3)


def main():
    sample = build(SAMPLE)
    pkg_times, native_times = [], []
    for i in range(RUNS):
        took, pid, vnfd_id = onboard(sample)
        pkg_times.append(took)
        st, rec = call("GET", URL + "/v0/vnfds/" + vnfd_id)
        desc = dict(rec["descriptor"], id="bench-native-%d" % i)
        t0 = time.monotonic()
        st, doc = call("POST", URL + "/v0/vnfds", desc)  # its scripts are the package's
        native_times.append(time.monotonic() - t0)
        assert st == 201, (st, doc)
        call("DELETE", URL + "/v0/vnfds/" + desc["id"])
        remove(pid)
    print("sample package %s (%d bytes), %d runs" % (os.path.basename(SAMPLE), len(sample), RUNS))
    print("  on-board the CSAR (PUT to ONBOARDED): " + ms(pkg_times))
    print("  reference, the same descriptor as native JSON (POST /v0/vnfds): " + ms(native_times))

    big = build(SAMPLE, BIG_MB)
    base = status_kb("VmRSS")
    reset_peak()
    st, pkg = call("POST", PKGM, {})
    t0 = time.monotonic()
    st, doc = call("PUT", "%s/%s/package_content" % (PKGM, pkg["id"]), raw=big,
                   ctype="application/zip")
    assert st == 202, (st, doc)
    received = status_kb("VmHWM")
    reset_peak()
    while call("GET", "%s/%s" % (PKGM, pkg["id"]))[1]["onboardingState"] == "PROCESSING":
        time.sleep(0.01)
    took = time.monotonic() - t0
    parsed = status_kb("VmHWM")
    state = call("GET", "%s/%s" % (PKGM, pkg["id"]))[1]["onboardingState"]
    print("package of %.1f MB (%d MB of random artifact): %s in %.2f s" % (
        len(big) / 1e6, BIG_MB, state, took))
    print("  vnfmd RSS before: %d MB; peak while receiving: %d MB; peak while verifying and "
          "translating (after the 202): %d MB" % (base >> 10, received >> 10, parsed >> 10))
    remove(pkg["id"])


main()
