#!/usr/bin/python3
"""The branch sites of a cloud VNFM killed with -9 (issue 14, docs/HA.md "Several active
cloud VNFMs"): three cloud VNFMs on a 3-member etcd on loopback share 8 branch sites
(simulated VIM); kill -9 of the member that is not the primary and serves the most sites,
RUNS times (it starts again as a standby each time and takes its share back). Measured:
from the kill until every site is served by exactly one live member (GET /v0/health
"ha.sites" of each).

Reference, interleaved in the same run: the same cluster with --ha-dead-ms 60000, where the
primary never judges a member dead before its etcd lease (--ha-lease-ms 4000) runs out:
how the sites moved before the primary revoked a silent member's lease.

  site_move.py [RUNS]      (BUILD=build by default; run as root from the tree's root)
"""
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "bb"))
from vnfm import Daemon, Etcd, wait_for  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
LEASE_MS = 4000
SITES = 8
TOKEN = "site-move-bench-admin-token-0123456789"


class Cluster:
    def __init__(self, etcd, data, dead_ms):
        store = "etcd://%s/move%d" % (etcd.endpoints, random.randint(0, 1 << 30))
        self.clouds = [Daemon("--ha-lease-ms", str(LEASE_MS), "--ha-dead-ms", str(dead_ms),
                              "--site-driver", "sim", "--fed-report-interval-ms", "300",
                              role="cloud", site="cloud", store=store, data=data, token=TOKEN)
                       for _ in range(3)]
        self.clouds[0].start()
        for c in self.clouds[1:]:
            c.start(primary=False)
        urls = ",".join(c.url for c in self.clouds)
        self.branches = []
        for i in range(SITES):
            tok = self.primary().ok("POST", "/v0/join-tokens", {"site": "m%d" % i},
                                    expect=(201,))["token"]
            self.branches.append(Daemon("--cloud-url", urls, "--fed-insecure", "--join-token",
                                        tok, "--site-driver", "sim",
                                        "--fed-report-interval-ms", "300", role="local",
                                        site="m%d" % i).start())
        self.sites = sorted(b.site for b in self.branches)

    def live(self):
        return [i for i, c in enumerate(self.clouds) if c.proc and c.proc.poll() is None]

    def primary(self):
        return wait_for(lambda: next((c for i, c in enumerate(self.clouds) if i in self.live()
                                      and c.ha_state() == "primary"), None), 30, what="a primary")

    def views(self):
        out = {}
        for i in self.live():
            ha = self.clouds[i].request("GET", "/v0/health", token=None)[1]["ha"]
            for site in ha["sites"]["owns"]:
                out.setdefault(site, []).append(i)
        return out

    def once(self):
        """{site: member} when every site is served by exactly one live member, else None."""
        v = self.views()
        ok = sorted(v) == self.sites and all(len(x) == 1 for x in v.values())
        return {s: x[0] for s, x in v.items()} if ok else None

    def kill_one(self):
        """Kills the non-primary member that serves the most sites: seconds until its
        sites are served once by the others."""
        owners = wait_for(self.once, 60, 0.05, what="every site served once")
        p = self.clouds.index(self.primary())
        counts = {i: sum(1 for x in owners.values() if x == i) for i in self.live() if i != p}
        victim = max(counts, key=lambda i: (counts[i], i))
        mark = len(self.clouds[p].log())  # the members share one data dir and log
        t0 = time.monotonic()
        self.clouds[victim].kill9()
        while True:
            o = self.once()
            if o and victim not in o.values():
                took = time.monotonic() - t0
                break
            if time.monotonic() - t0 > 60:
                raise SystemExit("sites not moved within 60 s")
            time.sleep(0.02)
        log = self.clouds[p].log()[mark:]
        print("kill of a member serving %d sites: %.2f s (%s)" % (
            counts[victim], took, "given away on its behalf" if "given away on its behalf" in
            log else "waited for" if "went without member" in log else "lease ran out"),
            file=sys.stderr)
        self.clouds[victim].start(primary=False)
        return took

    def close(self):
        for b in self.branches:
            b.cleanup()
        for c in self.clouds:
            if c.proc and c.proc.poll() is None:
                c.stop()
            c.forget()


def main():
    etcd = Etcd(3)
    data = tempfile.mkdtemp(prefix="vnfm-bench-move-", dir="/dev/shm")
    os.makedirs(os.path.join(data, "a"))
    os.makedirs(os.path.join(data, "b"))
    kinds = [("revoked on missed heartbeats (--ha-dead-ms 1000)", 1000),
             ("the lease runs out (--ha-dead-ms 60000, lease 4000 ms)", 60000)]
    took = {k: [] for k, _ in kinds}
    try:
        clusters = {k: Cluster(etcd, os.path.join(data, sub), dead)
                    for (k, dead), sub in zip(kinds, ("a", "b"))}
        for _ in range(RUNS):
            for k, _ in kinds:
                took[k].append(clusters[k].kill_one())
        for c in clusters.values():
            c.close()
    finally:
        etcd.stop()
        subprocess.run(["rm", "-rf", data] + [os.path.join(data, x) + "-package-scripts"
                                              for x in ("a", "b")])
    ref = statistics.median(took[kinds[1][0]])
    print("| sites of a killed member served again | median | p90 | max | median against the "
          "lease |")
    print("|---|---|---|---|---|")
    for k, _ in kinds:
        xs = sorted(took[k])
        print("| %s (%d kills) | %.2f s | %.2f s | %.2f s | %.2f |" % (
            k, len(xs), statistics.median(xs), xs[int(0.9 * (len(xs) - 1))], xs[-1],
            statistics.median(xs) / ref))


if __name__ == "__main__":
    main()
