#!/usr/bin/python3
"""A move under load, and the service endpoint's cost (issue 13; docs/BENCHMARKS.md).

A cloud VNFM with a process site of its own and a branch manager in a
network namespace behind a veth WAN link (the tests' harness,
tests/bb/vnfm.py), a vnf-demo deployed at the branch through the cloud. From
the branch's namespace, wrk drives the service through its endpoint (nftables
DNAT kept by the branch manager) while the cloud moves the deployment to its
own site and back:

  close:      wrk -H "Connection: close" (a new connection per request): the
              failed requests (socket errors and non-2xx) over the moves
  keep-alive: wrk with kept-alive connections: those open at the switch keep
              their backend (the drain), and break when the original goes

Then the endpoint's cost per request, in one run and interleaved: wrk to
the VNF's address directly, and through the endpoint (the VNF at the
branch), ROUNDS times each, with kept-alive connections (the translation is
conntrack's, per packet) and with a new connection per request (the rule
is evaluated for each).

  move.py BUILD [SECONDS] [ROUNDS]

WAN_DELAY_MS=MS in the environment carries the WAN link's frames that much
later each way (examples/wan-delay: the tests' Wan(delay_ms)).
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
WAN_DELAY_MS = float(os.environ["WAN_DELAY_MS"]) if os.environ.get("WAN_DELAY_MS") else None
os.environ["BUILD"] = BUILD
sys.path.insert(0, os.path.join(ROOT, "tests", "bb"))

from vnfm import Daemon, Wan, wait_for  # noqa: E402
from test_fed import Pki, join_token, branch, manager_of  # noqa: E402

VNFD = {"id": "bench-move", "params": {}, "vdus": [{
    "id": "web", "vcpu": 0.5, "memory_mb": 64,
    "command": ["vnf-demo", "--listen", "{{ip}}:8080", "--threads", "2"],
    "scaling": {"min": 1, "max": 2},
    "ready": {"http": {"port": 8080, "path": "/healthz"}, "timeout_s": 10}}]}


def wrk(wan, url, seconds, close=False, conns=8):
    """wrk from the branch's namespace: requests/s, mean latency (ms), failures."""
    cmd = ["wrk", "-t", "2", "-c", str(conns), "-d", "%ds" % seconds, "--latency"]
    if close:
        cmd += ["-H", "Connection: close"]
    out = subprocess.run(wan.inside(*cmd, url), capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    ms = float(lat.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[lat.group(2)]
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    failed = (sum(int(x) for x in errs.groups()) if errs else 0) + (
        int(non2xx.group(1)) if non2xx else 0)
    return {"rps": rps, "latency_ms": ms, "failed": failed, "requests": total,
            "errors": errs.group(0) if errs else "none"}


def move(cloud, site):
    op = cloud.ok("POST", "/v0/deployments/bm1/move", {"site": site, "drain_s": 2},
                  expect=(202,))
    op = cloud.wait_op(op["id"], timeout=120)
    assert op["state"] == "completed", op
    return op


def under_load(cloud, wan, ep, close):
    """wrk through the endpoint while the deployment moves to the cloud and back."""
    seconds = 30
    proc = subprocess.Popen(wan.inside("wrk", "-t", "2", "-c", "8", "-d", "%ds" % seconds,
                                       *(["-H", "Connection: close"] if close else []),
                                       "http://%s/" % ep), stdout=subprocess.PIPE, text=True)
    time.sleep(3)
    t0 = time.time()
    move(cloud, "cloud")
    t1 = time.time()
    move(cloud, "bm")
    t2 = time.time()
    out = proc.communicate()[0]
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    failed = (sum(int(x) for x in errs.groups()) if errs else 0) + (
        int(non2xx.group(1)) if non2xx else 0)
    return {"requests": total, "failed": failed, "errors": errs.group(0) if errs else "none",
            "move_to_cloud_s": round(t1 - t0, 2), "move_back_s": round(t2 - t1, 2)}


def main():
    wan = Wan(delay_ms=WAN_DELAY_MS)
    pki = Pki(ips=(wan.cloud_ip, "127.0.0.1"))
    cloud = Daemon("--tls-cert", pki.cert, "--tls-key", pki.key, "--log-level", "info",
                   ca=pki.ca, role="cloud", site="cloud", host="0.0.0.0")
    b = None
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        forward = f.read().strip()
    try:
        cloud.start()
        b = branch(cloud, "bm", join_token(cloud, "bm"),
                   url="https://%s:%d" % (wan.cloud_ip, cloud.port), host=wan.branch_ip,
                   netns=wan.ns).start()
        subprocess.run(wan.inside("ip", "route", "add", cloud.subnet, "via", wan.cloud_ip),
                       check=True)
        subprocess.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True)
        wait_for(lambda: (manager_of(cloud, "bm") or {}).get("state") == "active", 30, 0.1)
        cloud.onboard(VNFD)
        op = cloud.ok("POST", "/v0/deployments", {"name": "bm1", "vnfd": "bench-move",
                                                  "site": "bm"}, expect=(202,))
        assert cloud.wait_op(op["id"])["state"] == "completed"
        dep = wait_for(lambda: (lambda d: d if d.get("service_endpoint") else None)(
            cloud.deployment("bm1")), 20, 0.1)
        ep = dep["service_endpoint"]
        cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
        print("endpoint %s at the branch; WAN link %g ms each way; wrk from the branch's "
              "namespace; %s cores shared" % (ep, WAN_DELAY_MS or 0, cores))
        for close in (True, False):
            r = under_load(cloud, wan, ep, close)
            print("moves under wrk -c 8 (%s): %d requests, %d failed (%s); move to the cloud "
                  "%.2f s, back %.2f s" % ("Connection: close" if close else "keep-alive",
                                           r["requests"], r["failed"], r["errors"],
                                           r["move_to_cloud_s"], r["move_back_s"]))
        [vi] = b.deployment("bm1")["vis"]
        for close in (False, True):
            direct, via = [], []
            for _ in range(ROUNDS):  # interleaved: the machine's noise hits both alike
                direct.append(wrk(wan, "http://%s:8080/" % vi["ip"], SECONDS, close))
                via.append(wrk(wan, "http://%s/" % ep, SECONDS, close))
            mode = "Connection: close" if close else "kept-alive"
            for name, rs in (("direct", direct), ("endpoint", via)):
                print("%-8s %d rounds of %d s, %s, -c 8: median %.0f req/s, mean latency "
                      "%.3f ms, %d failed (runs: %s)" % (
                          name, ROUNDS, SECONDS, mode, statistics.median(r["rps"] for r in rs),
                          statistics.median(r["latency_ms"] for r in rs),
                          sum(r["failed"] for r in rs),
                          ", ".join("%.0f" % r["rps"] for r in rs)))
            d = statistics.median(r["rps"] for r in direct)
            v = statistics.median(r["rps"] for r in via)
            dl = statistics.median(r["latency_ms"] for r in direct)
            vl = statistics.median(r["latency_ms"] for r in via)
            print("endpoint/direct (%s): throughput %.2fx, mean latency %+.0f us" % (
                mode, v / d, (vl - dl) * 1000))
    finally:
        subprocess.run(["sysctl", "-qw", "net.ipv4.ip_forward=" + forward])
        for d in (b, cloud):
            if d:
                d.cleanup()
        wan.close()
        pki.close()
        if wan.carried:
            print("the WAN link's delay line: " + wan.carried.replace("\n", "; "))


if __name__ == "__main__":
    main()
