#!/usr/bin/python3
"""The cloud VNFM scales itself out (issue 14, docs/HA.md "Self scale-out and
scale-in"): a cloud VNFM on a 3-member etcd on loopback, judged by its own CPU (any
use over 0.1% of a core for 1 s) with room for one more member. Its decision starts
another vnfmd as a manager VI of the cloud site's process VIM (a job on the
provisioning pool: the VI's cgroups, then the process in them). Measured, RUNS times
(a new cluster each): from the decision (its "created" time) to the new instance
answering its health as a member of the cluster (GET /v0/health "ha.state").

Reference, in the same round: the same command line (read from the instance's
/proc/PID/cmdline, another port) started directly with fork/exec, from the call to
the same answer. The difference is what the decision and the VIM add.

  cloud_scale.py [RUNS]      (BUILD=build by default; run as root from the tree's root)
"""
import calendar
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "bb"))
from vnfm import Daemon, Etcd, free_port, http_get, slurp, unique_subnet, wait_for  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
TOKEN = "bench-cloud-scale-admin-token-0123"


def wall(stamp):
    """Seconds since the epoch of a vnfmd time ("2026-12-04T23:39:50.896Z")."""
    whole, ms = stamp.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + int(ms) / 1000.0


def member(url):
    """Whether the vnfmd at url answers its health as a member of a cluster."""
    try:
        return json.loads(http_get(url + "/v0/health", timeout=0.5)[1]).get("ha", {}).get(
            "state") in ("primary", "standby")
    except (OSError, ValueError):
        return False


def until_member(url, timeout=60):
    return wait_for(lambda: member(url) and time.time(), timeout, 0.005, what=url + " a member")


def one_round(etcd, data):
    store = "etcd://%s/bench%d" % (etcd.endpoints, time.time_ns() % (1 << 30))
    cloud = Daemon("--cloud-scale-max", "2", "--cloud-scale-out-cpu", "0.001",
                   "--cloud-scale-for-s", "1", "--fed-report-interval-ms", "300",
                   role="cloud", site="cloud", subnet=unique_subnet(), store=store, data=data,
                   token=TOKEN)
    cloud.start()
    pids = []
    try:
        d = wait_for(lambda: next((d for d in cloud.get("/v0/decisions?limit=20")[1]["decisions"]
                                   if d.get("rule") == "cloud-vnfm"), None), 60, 0.005,
                     what="the scale-out decision")
        url = d["instance"]["url"]
        vi_ms = (until_member(url) - wall(d["created"])) * 1000
        done = wait_for(lambda: (lambda x: x if x["state"] != "running" else None)(
            cloud.get("/v0/decisions/" + d["id"])[1]), 30, 0.05, what="the decision ended")
        assert done["state"] == "completed", done
        pids.append(done["instance"]["pid"])
        # the same command line, started directly, on another port
        argv = slurp("/proc/%d/cmdline" % pids[0]).rstrip("\0").split("\0")
        port = free_port()
        i = argv.index("--listen")
        argv[i + 1] = "127.0.0.1:%d" % port
        t0 = time.time()
        raw = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
        pids.append(raw.pid)
        raw_ms = (until_member("http://127.0.0.1:%d" % port) - t0) * 1000
        return vi_ms, raw_ms
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in pids:
            wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
                     slurp("/proc/%d/stat" % pid).split(") ")[1][0] == "Z", 30, 0.05,
                     what="process %d gone" % pid)
        cloud.stop()
        cloud.purge_host()
        cloud.forget()


def main():
    etcd = Etcd(3)
    data = tempfile.mkdtemp(prefix="vnfm-bench-cscale-")
    rows = []
    try:
        for r in range(RUNS):
            rows.append(one_round(etcd, data))
            print("round %d: decision to member %.0f ms (manager VI), %.0f ms (raw fork/exec)"
                  % (r + 1, rows[-1][0], rows[-1][1]), flush=True)
    finally:
        etcd.stop()
        subprocess.run(["rm", "-rf", data, data + "-package-scripts"])
    vi = [a for a, _ in rows]
    raw = [b for _, b in rows]
    print("\n| %d rounds | median | max |" % RUNS)
    print("|---|---|---|")
    print("| decision to member, manager VI of the process VIM | %.0f ms | %.0f ms |"
          % (statistics.median(vi), max(vi)))
    print("| the same vnfmd started with fork/exec (reference) | %.0f ms | %.0f ms |"
          % (statistics.median(raw), max(raw)))
    print("| ratio of the medians | %.2fx | |" % (statistics.median(vi) / statistics.median(raw)))


if __name__ == "__main__":
    main()
