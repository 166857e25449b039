#!/usr/bin/python3
"""From a branch VNF's overload to its relief, at the branch and in the cloud
(issue 13, claims 1, 3-4; docs/BENCHMARKS.md, docs/FEDERATION.md "Bursting into
the cloud").

The estate of tests/bb/test_burst.py: a cloud VNFM with a process site of its
own, a branch manager in a network namespace behind a veth WAN link with room
for two instances, vnf-demo deployed at the branch through the cloud with the
cloud's rules over its requests per second, and a client at the branch through
the service endpoint (a new connection per request). Each round overloads the
VNF from one instance: the cloud's rules add a second at the branch (it has
room), then a third in the cloud (the branch is full). For each, from the
decision (the overload detected: the rule fired) to

  ready:    the new instance ready (the decision's operation completed: the
            branch's scale, or the burst's deploy in the cloud)
  relieved: the first answer the client got from the new instance through the
            endpoint (it takes its share of the load)

The branch's scale out is the reference the burst is compared with (a ratio
per round, and of the medians): the machine is noisy.

Then the service, two instances at the branch and one in the cloud, moves to
the cloud whole (docs/FEDERATION.md "Moves": a clone of three, the burst goes
with the original; drain 1 s) while the client goes on: from the move's start
to the switch (the endpoint at the clone) and to its end, and the requests that
failed meanwhile. The reference, in the same round before it: the move of the
same VNF with one instance and no burst.

  burst.py BUILD [ROUNDS]

WAN_DELAY_MS=MS in the environment carries the WAN link's frames that much
later each way (examples/wan-delay: the tests' Wan(delay_ms)).
"""
import calendar
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
WAN_DELAY_MS = float(os.environ["WAN_DELAY_MS"]) if os.environ.get("WAN_DELAY_MS") else None
os.environ["BUILD"] = BUILD
sys.path.insert(0, os.path.join(ROOT, "tests", "bb"))

from vnfm import wait_for  # noqa: E402
from test_move import Client, start_estate, stop_estate  # noqa: E402
from test_burst import RULES, SITE, SITE_CAPACITY, vnfd  # noqa: E402


def epoch(iso):
    """'2026-12-02T16:38:46.739Z' in seconds since the epoch."""
    whole, _, ms = iso.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + int(ms or 0) / 1000.0


class Estate:
    pass


def move(e, name, ep):
    """name moved to the cloud under a client through its endpoint ep: (seconds to
    the switch, seconds to the end, the client's counts)."""
    cloud = e.cloud
    client = Client(e.wan, ep, 0.005)
    try:
        time.sleep(0.5)
        op = cloud.ok("POST", "/v0/deployments/%s/move" % name,
                      {"site": "cloud", "drain_s": 1}, expect=(202,))
        op = cloud.wait_op(op["id"], timeout=120)
        assert op["state"] == "completed", op
        time.sleep(0.5)
    finally:
        got = client.result()
    t0 = epoch(op["created"])
    switched = next(s for s in op["stages"] if s["stage"] == "switch")["finished"]
    return epoch(switched) - t0, epoch(op["finished"]) - t0, got


def plain_move(e, n):
    """The reference: the VNF with one instance at the branch, no burst, moved."""
    cloud, name = e.cloud, "bp%d" % n
    op = cloud.ok("POST", "/v0/deployments", {"name": name, "vnfd": "bench-burst",
                                              "site": SITE}, expect=(202,))
    assert cloud.wait_op(op["id"])["state"] == "completed"
    ep = wait_for(lambda: cloud.deployment(name).get("service_endpoint"), 20, 0.1)
    out = move(e, name, ep)
    e.cloud.undeploy_all()
    return out


def one_round(e, n):
    cloud, name = e.cloud, "bb%d" % n
    plain = plain_move(e, n)
    op = cloud.ok("POST", "/v0/deployments", {"name": name, "vnfd": "bench-burst",
                                              "site": SITE}, expect=(202,))
    assert cloud.wait_op(op["id"])["state"] == "completed"
    ep = wait_for(lambda: cloud.deployment(name).get("service_endpoint"), 20, 0.1)
    cloud.ok("PUT", "/v0/deployments/%s/rules" % name, {"rules": RULES})
    op = cloud.ok("PUT", "/v0/deployments/%s/rules-owner" % name, {"owner": "cloud"},
                  expect=(202,))
    assert cloud.wait_op(op["id"])["state"] == "completed"
    wait_for(lambda: cloud.deployment(name).get("rules_owner") == "cloud", 10, 0.1)
    first = {vi["name"] for vi in e.b.deployment(name)["vis"]}
    client = Client(e.wan, ep, 0.005)
    try:
        def full():
            dep = cloud.deployment(name)
            burst = (dep.get("burst") or {}).get("deployment")
            return burst if burst and len(dep.get("vis", [])) == 2 and \
                cloud.deployment(burst).get("vis") else None

        burst = wait_for(full, 120, 0.2)
        branch_vi = ({vi["name"] for vi in e.b.deployment(name)["vis"]} - first).pop()
        [cloud_vi] = [vi["name"] for vi in cloud.deployment(burst)["vis"]]
        time.sleep(3)  # the endpoint learns the instance in the cloud after its deploy
    finally:
        got = client.result()
    decisions = cloud.get("/v0/decisions?deployment=" + name)[1]["decisions"]
    out = {}
    for d in sorted(decisions, key=lambda d: d["created"]):  # the first of each
        where = (d.get("chosen") or [{}])[0].get("where")
        if d["rule"] != "busy" or where not in ("branch", "cloud") or where in out:
            continue
        t0 = epoch(d["created"])
        act = d["actions"][0]
        vi = branch_vi if where == "branch" else cloud_vi
        out[where] = {"ready": epoch(act["finished"]) - t0,
                      "relieved": got["first"].get(vi, float("nan")) - t0}
    whole = move(e, name, ep)
    out["move"] = {"plain": plain[:2], "whole": whole[:2],
                   "failed": (plain[2]["fail"], whole[2]["fail"]),
                   "requests": (plain[2]["ok"] + plain[2]["fail"],
                                whole[2]["ok"] + whole[2]["fail"])}
    e.cloud.undeploy_all()
    return out, got


def main():
    e = Estate()
    start_estate(e, SITE, service_address=True, wan_delay_ms=WAN_DELAY_MS)
    print("WAN link: %g ms each way" % (WAN_DELAY_MS or 0))
    try:
        e.b.ok("PUT", "/v0/sites/" + SITE, {"capacity": SITE_CAPACITY})
        doc = vnfd("bench-burst", most=3)
        e.cloud.onboard(doc)
        print("branch with room for 2 instances of 0.2 vCPU, the VNF at most 3; a client at "
              "the branch through the endpoint, a new connection per request; %s cores shared"
              % subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip())
        rows = []
        for n in range(ROUNDS):
            r, got = one_round(e, n)
            rows.append(r)
            print("round %d: at the branch ready %.2f s, relieved %.2f s; in the cloud ready "
                  "%.2f s, relieved %.2f s; ratio cloud/branch relieved %.2f (%d requests, %d "
                  "failed)" % (n + 1, r["branch"]["ready"], r["branch"]["relieved"],
                               r["cloud"]["ready"], r["cloud"]["relieved"],
                               r["cloud"]["relieved"] / r["branch"]["relieved"], got["ok"],
                               got["fail"]))
            m = r["move"]
            print("round %d: moved to the cloud, one instance (no burst): switched %.2f s, "
                  "done %.2f s, %d of %d requests failed; two at the branch and one in the "
                  "cloud (whole): switched %.2f s, done %.2f s, %d of %d requests failed; "
                  "ratio whole/plain switched %.2f" % (
                      n + 1, m["plain"][0], m["plain"][1], m["failed"][0], m["requests"][0],
                      m["whole"][0], m["whole"][1], m["failed"][1], m["requests"][1],
                      m["whole"][0] / m["plain"][0]))
        med = {w: {k: statistics.median(r[w][k] for r in rows) for k in ("ready", "relieved")}
               for w in ("branch", "cloud")}
        mv = {w: statistics.median(r["move"][w][0] for r in rows) for w in ("plain", "whole")}
        print("median of %d rounds: a move to the cloud to its switch, one instance %.2f s, "
              "the service with its burst %.2f s (%.2fx); failed requests %d of %d, and %d "
              "of %d" % (ROUNDS, mv["plain"], mv["whole"], mv["whole"] / mv["plain"],
                         sum(r["move"]["failed"][0] for r in rows),
                         sum(r["move"]["requests"][0] for r in rows),
                         sum(r["move"]["failed"][1] for r in rows),
                         sum(r["move"]["requests"][1] for r in rows)))
        print("median of %d rounds: overload detected -> relieved at the branch %.2f s (ready "
              "%.2f s), in the cloud %.2f s (ready %.2f s); cloud/branch %.2fx" % (
                  ROUNDS, med["branch"]["relieved"], med["branch"]["ready"],
                  med["cloud"]["relieved"], med["cloud"]["ready"],
                  med["cloud"]["relieved"] / med["branch"]["relieved"]))
    finally:
        stop_estate(e)
        if e.wan.carried:
            print("the WAN link's delay line: " + e.wan.carried.replace("\n", "; "))


if __name__ == "__main__":
    main()
