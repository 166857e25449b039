#!/usr/bin/python3
"""A branch manager moved to the cloud (docs/FEDERATION.md "Moving a branch manager to the
cloud"): the time from the request to the moved manager in charge (the move completed: it
reported with its site's VIM the agent's, connected and ok), and then to its VNF adopted by
it (its log says it found the VNF's process running); then its move back to the branch
("Moving it back to its branch"): from the request to the branch manager's report (the move
completed) and to its VNF adopted at the branch. A fresh
estate each run (tests/bb harness: a cloud with TLS, the branch behind a veth WAN link, one
VNF deployed through the cloud).

Reference, interleaved in the same run on a fresh estate of its own: the same branch manager
restarted in place (SIGTERM, started again, its VNF adopted: what a manager's restart costs),
from the stop to the cloud's first report of the new process and to its VNF adopted.

  manager_move.py [RUNS]      (BUILD=build by default; as root from the tree's root)
"""
import calendar
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "bb"))
os.environ.setdefault("BUILD", os.path.join(HERE, "..", "build"))
from vnfm import wait_for  # noqa: E402
from test_fed import manager_of  # noqa: E402
from test_move import start_estate, stop_estate, vnfd  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
SITE = "bmv"


class Estate:
    def __init__(self):
        start_estate(self, SITE)
        subprocess.run(self.wan.inside("sysctl", "-qw", "net.ipv4.ip_forward=1"), check=True)
        subprocess.run(["ip", "route", "add", self.b.subnet, "via", self.wan.branch_ip],
                       check=True)
        self.mgr = manager_of(self.cloud, SITE)["id"]
        self.cloud.onboard(vnfd("bmv-web"))
        op = self.cloud.ok("POST", "/v0/deployments", {"name": "w", "vnfd": "bmv-web",
                                                        "site": SITE}, expect=(202,))
        assert self.cloud.wait_op(op["id"])["state"] == "completed"
        self.pid = self.b.deployment("w")["vis"][0]["pid"]

    def close(self, moved):
        self.cloud.undeploy_all()
        if moved:
            self.cloud.ok("DELETE", "/v0/managers/" + self.mgr)
        wait_for(lambda: self.cloud.cgroups(managers=True) == [], 30, 0.2, "moved gone")
        if moved:
            self.b.proc.send_signal(signal.SIGTERM)
            self.b.proc.wait(timeout=60)
            self.b.proc = None
        subprocess.run(["ip", "route", "del", self.b.subnet], capture_output=True)
        stop_estate(self)


def stamp(iso):
    """Seconds of an ISO time with milliseconds (2026-12-05T20:35:57.042Z)."""
    return calendar.timegm(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S")) + float(iso[19:-1])


def adopted(log, pid):
    """Whether the manager logging to log found the VNF of pid running (its start)."""
    try:
        with open(log, "rb") as f:
            return b"adopted running VNF process %d" % pid in f.read()
    except OSError:
        return False


def move_once():
    e = Estate()
    try:
        t0 = time.monotonic()
        e.cloud.ok("POST", "/v0/managers/%s/move" % e.mgr, {"site": "cloud"}, expect=(202,))
        mv = wait_for(lambda: (lambda m: m if m.get("state") not in (None, "processing")
                               else None)(manager_of(e.cloud, SITE).get("move") or {}),
                      120, 0.01, "the move's end")
        t_done = time.monotonic() - t0
        assert mv["state"] == "completed", mv
        log = os.path.join(e.cloud.dir, "managers", e.mgr, "vnfmd.log")
        wait_for(lambda: adopted(log, e.pid), 60, 0.01, "adopted")
        t_adopted = time.monotonic() - t0
        stages = tuple(stamp(st["ended"]) - stamp(st["started"]) for st in mv["stages"])
        wait_for(lambda: e.cloud.get("/v0/managers/" + e.mgr)[1]["state"] == "active", 30, 0.01,
                 "the moved manager reporting")
        t1 = time.monotonic()
        e.cloud.ok("POST", "/v0/managers/%s/move" % e.mgr, {"site": SITE}, expect=(202,))
        back = wait_for(lambda: (lambda m: m if m.get("back") and m.get("state") != "processing"
                                 else None)(manager_of(e.cloud, SITE).get("move") or {}),
                        120, 0.01, "the move back's end")
        t_back = time.monotonic() - t1
        assert back["state"] == "completed", back
        wait_for(lambda: adopted(e.b.logfile, e.pid), 60, 0.01, "adopted at the branch")
        return (t_done, t_adopted) + stages + (t_back, time.monotonic() - t1)
    finally:
        e.close(moved=False)


def restart_once():
    e = Estate()
    try:
        t0 = time.monotonic()
        e.b.proc.send_signal(signal.SIGTERM)
        e.b.proc.wait(timeout=60)
        e.b.start()
        wait_for(lambda: manager_of(e.cloud, SITE)["pid"] == e.b.proc.pid, 60, 0.01,
                 "a report of the restarted manager")
        t_done = time.monotonic() - t0
        wait_for(lambda: adopted(e.b.logfile, e.pid), 60, 0.01, "adopted")
        return t_done, time.monotonic() - t0
    finally:
        e.close(moved=False)


def stats(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[int(0.9 * (len(xs) - 1))]


def main():
    moves, restarts = [], []
    for _ in range(RUNS):
        moves.append(move_once())
        restarts.append(restart_once())
    print("runs: %d each, alternating; %s" % (RUNS, open("/proc/loadavg").read().split()[:3]))
    for i, what in enumerate(("in charge", "its VNF adopted")):
        m, mp = stats([x[i] for x in moves])
        r, rp = stats([x[i] for x in restarts])
        print("%-16s move: median %.2f s (p90 %.2f)  restart in place: median %.2f s (p90 %.2f)"
              "  ratio of medians %.2f" % (what, m, mp, r, rp, m / r))
    print("the move's stages, median: " + ", ".join(
        "%s %.2f s" % (name, stats([x[2 + i] for x in moves])[0])
        for i, name in enumerate(("snapshot", "start", "handover"))))
    for i, what in enumerate(("back in charge", "back, VNF adopted")):
        m, mp = stats([x[5 + i] for x in moves])
        r, rp = stats([x[i] for x in restarts])
        print("%-16s move: median %.2f s (p90 %.2f)  restart in place: median %.2f s (p90 %.2f)"
              "  ratio of medians %.2f" % (what, m, mp, r, rp, m / r))


if __name__ == "__main__":
    main()
