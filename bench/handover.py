#!/usr/bin/python3
"""Handover of N deployments between two managers of a branch (issue 12;
docs/BENCHMARKS.md, docs/FEDERATION.md "Handover").

A cloud VNFM and a branch manager with the process VIM (the tests' harness,
tests/bb/vnfm.py), N vnf-demo deployments at the branch through the cloud.
The site's manager policy weighs one deployment 1 and sets overload at
0.6 N: the branch manager starts a new manager and hands it about half of
them. Measured, from the records the managers and the cloud keep:

  decision:  the scale out decision from its creation to its end (the new
             manager's start and join included)
  handover:  the first deployment rested at the giver ("out") to the last
             released ("release"): the handover proper
  rest:      per deployment, from "out" at the giver to "commit" at the
             taker: the window in which neither manager probes it or would
             restart its VNF (the probe gap, less the probe interval)

and that every VNF kept its pid. Reference, in the same run: a bare vnfmd
started by hand (fork/exec, its store opened, its API answering /v0/health),
the least any way of adding a manager costs; the decision is given as a
ratio to it.

  handover.py BUILD [N]
"""
import datetime
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20
os.environ["BUILD"] = BUILD
sys.path.insert(0, os.path.join(ROOT, "tests", "bb"))

from vnfm import Daemon, wait_for  # noqa: E402
from test_deploy import demo  # noqa: E402
from test_elastic import VNFS_ONLY, decisions  # noqa: E402
from test_fed import Pki, branch, join_token, manager_of  # noqa: E402
from test_handover import api_of, child_tags, purge  # noqa: E402


def ms(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def handover_events(api):
    """deployment -> {result: time ms} of the manager's handover events."""
    out = {}
    for e in api.get("/v0/logs?category=fed&event=handover&limit=10000")[1]["logs"]:
        if e.get("deployment"):
            out.setdefault(e["deployment"], {})[e["result"]] = ms(e["time"])
    return out


def bare_start_ms(rounds=3):
    """Median of rounds starts of a bare vnfmd to its first health answer."""
    took = []
    for _ in range(rounds):
        d = Daemon()
        t0 = time.monotonic()
        d.start()
        took.append((time.monotonic() - t0) * 1000)
        d.cleanup()
    return statistics.median(took)


def main():
    pki = Pki()
    cloud = pki.cloud().start()
    b1 = branch(cloud, "b1", join_token(cloud, "b1"), "--site-vcpu", "64",
                "--site-memory-mb", "65536").start()
    try:
        mgr = wait_for(lambda: manager_of(cloud, "b1"), 10, what="b1 joined")["id"]
        cloud.onboard(demo("bench-ho", vcpu=0.05, memory_mb=16))
        names = ["b%03d" % i for i in range(N)]
        for name in names:
            op = cloud.ok("POST", "/v0/deployments", {"name": name, "vnfd": "bench-ho",
                                                      "site": "b1"}, expect=(202,))
            assert cloud.wait_op(op["id"], 120)["state"] == "completed"
        pids = {n: sorted(v["pid"] for v in b1.deployment(n)["vis"]) for n in names}
        assert cloud.ok("PUT", "/v0/sites/b1/managers", {
            "overload": 0.6 * N, "for_reports": 2, "cooldown_s": 0, "max": 2,
            "weights": VNFS_ONLY})
        d = wait_for(lambda: next((x for x in decisions(cloud) if x["action"] == "scale_out" and
                                   x["state"] in ("completed", "failed")), None), 600, 0.2,
                     "the scale out")
        assert d["state"] == "completed", d
        [plan] = d["handover"]
        moved = [x["id"] for x in plan["deployments"]]
        child = [c for c in cloud.get("/v0/managers/" + mgr)[1]["children"]
                 if c["state"] == "healthy"][0]
        c1 = api_of(b1, child)
        for n in moved:
            assert sorted(v["pid"] for v in c1.deployment(n)["vis"]) == pids[n], n
        give, take = handover_events(b1), handover_events(c1)
        rest = [take[n]["taken"] - give[n]["giving"] for n in moved]
        span = max(give[n]["given"] for n in moved) - min(give[n]["giving"] for n in moved)
        print("deployments %d, handed over %d (pids unchanged), not %d" % (
            N, plan["moved"], plan["failed"]))
        took = ms(d["finished"]) - ms(d["created"])
        bare = bare_start_ms()
        print("decision (start, join and handover): %.1f s; a bare vnfmd to health: %.2f s "
              "(ratio %.1f)" % (took / 1000, bare / 1000, took / bare))
        print("handover of %d: %.0f ms (%.1f ms per deployment)" % (
            len(moved), span, span / len(moved)))
        print("rest per deployment (out -> commit): median %.1f ms, max %.1f ms, min %.1f ms" % (
            statistics.median(rest), max(rest), min(rest)))
        assert cloud.ok("PUT", "/v0/sites/b1/managers", {"overload": 1e6})
        for n in names:
            cloud.ok("DELETE", "/v0/deployments/" + n, expect=(202,))
        wait_for(lambda: not cloud.get("/v0/deployments")[1]["deployments"], 300, 0.5,
                 "undeployed")
    finally:
        kids = child_tags(b1)
        try:
            cloud.cleanup()
        finally:
            try:
                b1.cleanup()
            finally:
                purge(kids)
                pki.close()


if __name__ == "__main__":
    main()
