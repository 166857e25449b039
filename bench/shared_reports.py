#!/usr/bin/python3
"""What a cloud VNFM that shares the branches takes off the primary (issue 14; docs/HA.md
"Writes: the primary stays the single writer (choice (a))").

Two cloud VNFMs of one cluster on a 1-member etcd on loopback (plain HTTP), N branches
joined through the API (8 deployments each, as bench/fed_reports.py's), each sending a
first, full report to the cloud VNFM that owns its site. Then wrk (one thread, 8
connections) sends steady-state reports as fast as they are taken, in turn:

  direct:     the reports of the sites the primary owns, to the primary (it parses and
              applies them itself)
  forwarded:  the reports of the sites the other member owns, to that member (it takes
              them and forwards each to the primary on a connection it keeps, and hands
              the answer back; the primary applies them)

The CPU of both processes per report, from /proc, ROUNDS times each, alternating. What the
member takes off the primary is the difference between the primary's CPU per report in
the two phases; what forwarding costs in all is the sum of both processes' against the
primary's alone.

  shared_reports.py BUILD [N] [SECONDS] [ROUNDS]
"""
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 400
SECS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 3
CONNS = 8
TOKEN = "bench-shared-reports-admin-token-01"
os.environ["BUILD"] = BUILD
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "bb"))

from fedload import LUA, cpu, report, write_creds, wrk  # noqa: E402
from vnfm import Daemon, Etcd, unique_subnet, wait_for  # noqa: E402


def health(m):
    return m.get("/v0/health")[1]


def main():
    etcd = Etcd(1)
    store = "etcd://%s/shared%d" % (etcd.endpoints, time.time_ns() % (1 << 30))
    data = tempfile.mkdtemp(prefix="vnfm-bench-shared-")
    args = ("--site-driver", "sim", "--fed-missed", "1000000", "--log-level", "warn",
            "--http-max-conns-per-client", "4096")
    members = []
    try:
        for k in range(2):
            m = Daemon(*args, role="cloud", site="cloud", subnet=unique_subnet(), store=store,
                       data=data, token=TOKEN)
            m.start(primary=(k == 0))
            members.append(m)
        primary, other = members
        wait_for(lambda: health(other).get("ha", {}).get("state") == "standby", 30, 0.1,
                 "the second member a standby")
        creds = []
        for i in range(N):
            t = primary.ok("POST", "/v0/join-tokens", {"site": "sb%d" % i}, expect=(201,))
            j = primary.request("POST", "/fed/v1/join", {"token": t["token"], "site": "sb%d" % i,
                                                         "tag": "%06x" % i}, token=None)[1]
            creds.append(j["credential"])
        urls = {m.url: m for m in members}

        def owners():
            o = health(primary)["ha"]["sites"]["owners"]
            return o if len(o) == N and all(u in urls for u in o.values()) else None
        own = wait_for(owners, 60, 0.2, "every site owned")
        mine = [i for i in range(N) if own["sb%d" % i] == primary.url]
        theirs = [i for i in range(N) if own["sb%d" % i] == other.url]
        for i in range(N):  # the first, full report of each, at its site's owner
            status, doc = urls[own["sb%d" % i]].request("POST", "/fed/v1/report", report(i, 1),
                                                        token=creds[i])[:2]
            assert status == 200, (status, doc)
        with open(data + "/report.lua", "w") as f:
            f.write(LUA)
        write_creds(data + "/direct", creds, mine)
        write_creds(data + "/forwarded", creds, theirs)
        print("%d branches: %d owned by the primary, %d by the other member; plain HTTP, "
              "wrk -t1 -c%d, %d s a phase" % (N, len(mine), len(theirs), CONNS, SECS))
        rows = {"direct": [], "forwarded": []}
        base = 10
        for r in range(ROUNDS):
            for phase, url in (("direct", primary.url), ("forwarded", other.url)):
                c0 = (cpu(primary.proc.pid), cpu(other.proc.pid))
                n = wrk(url, data + "/report.lua", data + "/" + phase, base, SECS, CONNS)
                c1 = (cpu(primary.proc.pid), cpu(other.proc.pid))
                base += 10 ** 8
                row = (n / SECS, (c1[0] - c0[0]) * 1e6 / n, (c1[1] - c0[1]) * 1e6 / n)
                rows[phase].append(row)
                print("round %d, %-9s %5.0f reports/s; CPU per report: primary %3.0f us, the "
                      "other member %3.0f us" % ((r + 1, phase) + row), flush=True)
        med = {p: [statistics.median(x[k] for x in rows[p]) for k in range(3)] for p in rows}
        d, f = med["direct"], med["forwarded"]
        print("medians: direct %.0f us on the primary; forwarded %.0f us on the primary + %.0f "
              "us on the member: the primary's share %.2f of a direct report's, both %.2f" % (
                  d[1], f[1], f[2], f[1] / d[1], (f[1] + f[2]) / d[1]))
        print(json.dumps(med))
    finally:
        for m in reversed(members):
            m.stop()
        etcd.stop()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
