#!/usr/bin/python3
"""Failover of a branch manager to a hot standby (issue 12, docs/FEDERATION.md "Standby
managers"): one vnfmd with VNFS deployments (real VNF processes), a `vnfmd --standby-for`
of its data dir; kill -9 of the active, RUNS times per heartbeat (0.2 s and 1 s; after each
takeover a new standby is started for the promoted manager). Measured: from the kill to
the standby taking the data dir (its exec), and to the new active answering for the VNFs
(GET /v0/deployments/NAME with the same pids). Target: at most two heartbeats.

Also a hung active (SIGSTOP: it keeps its lock), fenced by the standby after two
heartbeats without an answer to its health check: from the SIGSTOP to the takeover and to
the new active answering.

Reference, in the same run, interleaved: keepalived VRRP (bench/ha_failover.py's Vrrp),
kill -9 of the master, time until the backup holds the virtual address; advert_int 1 and
0.1 (VRRPv3).

  standby_failover.py [RUNS]      (BUILD=build by default; run as root from the tree's root)
"""
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "bb"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vnfm import Daemon, pid_alive, wait_for  # noqa: E402
from test_deploy import demo  # noqa: E402
from test_standby import cmdline, start_standby  # noqa: E402
from ha_failover import Vrrp, summary  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
VNFS = 5


class Branch:
    def __init__(self):
        self.d = Daemon("--log-level", "warn").start()
        self.d.onboard(demo("demo-bench"))
        self.names = ["f%d" % i for i in range(VNFS)]
        for n in self.names:
            self.d.deploy(n, "demo-bench")
        self.pids = {n: self.vnf_pids(n) for n in self.names}
        self.sb = None

    def vnf_pids(self, name):
        return sorted(v["pid"] for v in self.d.deployment(name)["vis"])

    def answers(self):
        try:
            return all(self.vnf_pids(n) == self.pids[n] for n in self.names)
        except (OSError, AssertionError, KeyError):
            return False

    def once(self, hb_ms, hang=False):
        """One failover: (seconds to the takeover, seconds to the VNFs answered for); hang:
        the active is stopped (SIGSTOP), not killed."""
        log = os.path.join(self.d.dir, "standby-%d.log" % time.monotonic_ns())
        sb = start_standby([self.d.dir], log, hb_ms)
        wait_for(lambda: "--standby-for" in cmdline(sb.pid), 10, 0.01, "standby up")
        if hang:  # fenced only once it has seen the active answer
            wait_for(lambda: "answers at" in open(log).read(), 10, 0.01, "standby watching")
        # it watches; the kill falls at a random point of its heartbeat
        time.sleep(hb_ms / 1000 * (2 + random.random()))
        t0 = time.monotonic()
        self.d.proc.send_signal(signal.SIGSTOP if hang else signal.SIGKILL)
        wait_for(lambda: "--data-dir" in cmdline(sb.pid), 30, 0.002, "the takeover")
        took = time.monotonic() - t0
        wait_for(self.answers, 60, 0.005, "the VNFs answered for")
        answered = time.monotonic() - t0
        self.d.proc.wait()  # the standbys are this script's children: exec keeps the pid
        self.d.proc, self.d.logfile = sb, log
        assert all(pid_alive(p) for ps in self.pids.values() for p in ps)
        return took, answered

    def close(self):
        self.d.cleanup()


def main():
    vrrp = [Vrrp(3, 2, 1), Vrrp(4, 3, 0.1)]
    b = Branch()
    times = {}
    try:
        for run in range(RUNS):
            for hb, hang in ((200, False), (1000, False), (200, True), (1000, True)):
                took, answered = b.once(hb, hang)
                how = "SIGSTOP, fenced" if hang else "kill -9"
                for what, t in (("takeover", took), ("answering", answered)):
                    times.setdefault("standby %.1f s heartbeat, %s: %s" % (hb / 1000, how, what),
                                     []).append(t)
                print("run %d heartbeat %4d ms, %s: takeover %.3f s, answering %.3f s"
                      % (run + 1, hb, how, took, answered), flush=True)
            for name, v in (("keepalived defaults (VRRPv2, advert_int 1)", vrrp[0]),
                            ("keepalived VRRPv3, advert_int 0.1", vrrp[1])):
                t = v.once()
                times.setdefault(name, []).append(t)
                print("run %d %-44s %.3f s" % (run + 1, name, t), flush=True)
    finally:
        b.close()
        for v in vrrp:
            v.close()
    for name, xs in times.items():
        summary(name, xs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
