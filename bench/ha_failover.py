#!/usr/bin/python3
"""Failover of the cloud VNFM (issue 14, docs/HA.md): two vnfmd on a 3-member etcd on
loopback, a client that keeps on-boarding VNFDs and follows the documented endpoint rule
(tests/bb/test_ha.py Client); kill -9 of the primary, RUNS times (the killed one comes back
as a standby each time). Measured: from the kill to the first write the new primary
acknowledged, and the acknowledged writes missing at the end (must be 0).

Reference, in the same run, interleaved: keepalived VRRP between two network namespaces
joined by a veth pair; kill -9 of the master's keepalived, time until the backup holds the
virtual address. Once with keepalived's default timers (VRRPv2, advert_int 1), once with
VRRPv3 and advert_int 0.1.

  ha_failover.py [RUNS]      (BUILD=build by default; run as root from the tree's root)
"""
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "bb"))
from vnfm import Daemon, Etcd, unique_subnet, wait_for  # noqa: E402
from test_deploy import demo  # noqa: E402
from test_ha import TOKEN, Writer  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
VIP = "10.253.%d.100"

KEEPALIVED_CONF = """global_defs {
    vrrp_version %(version)d
    script_user root
}
vrrp_instance VI {
    state %(state)s
    interface %(dev)s
    virtual_router_id 51
    priority %(prio)d
    advert_int %(advert)s
    virtual_ipaddress {
        %(vip)s/24
    }
}
"""


class Vrrp:
    """Two namespaces, a veth pair between them, keepalived in each."""

    def __init__(self, n, version, advert):
        self.dir = tempfile.mkdtemp(prefix="vnfm-vrrp-")
        self.ns = ["vnfmvrrp%da" % n, "vnfmvrrp%db" % n]
        self.n, self.vip = n, VIP % n
        self.version, self.advert = version, advert
        self.procs = [None, None]
        for ns in self.ns:
            sh("ip netns delete %s" % ns, check=False)  # left by a run that was stopped
            sh("ip netns add %s" % ns)
        sh("ip link add vr%da netns %s type veth peer name vr%db netns %s" %
           (n, self.ns[0], n, self.ns[1]))
        for i, ns in enumerate(self.ns):
            dev = "vr%d%s" % (n, "ab"[i])
            sh("ip -n %s addr add 10.253.%d.%d/24 dev %s" % (ns, n, i + 1, dev))
            sh("ip -n %s link set %s up" % (ns, dev))
            sh("ip -n %s link set lo up" % ns)
            with open(os.path.join(self.dir, "%d.conf" % i), "w") as f:
                f.write(KEEPALIVED_CONF % dict(version=version, state=("MASTER", "BACKUP")[i],
                                               dev=dev, prio=(150, 100)[i], advert=advert,
                                               vip=self.vip))

    def start(self, i):
        conf = os.path.join(self.dir, "%d" % i)
        self.procs[i] = subprocess.Popen(
            ["ip", "netns", "exec", self.ns[i], "keepalived", "-n", "-P", "-f", conf + ".conf",
             "-p", conf + ".pid", "-r", conf + ".vrrp.pid", "--no-syslog"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def holds(self, i):
        out = subprocess.run(["ip", "-n", self.ns[i], "-4", "-o", "addr"], capture_output=True,
                             text=True).stdout
        return (" %s/" % self.vip) in out

    def kill(self, i):
        os.killpg(self.procs[i].pid, signal.SIGKILL)
        self.procs[i].wait()

    def once(self):
        """One failover: seconds from the kill of the master to the backup holding the VIP."""
        for i in (0, 1):
            self.start(i)
        wait_for(lambda: self.holds(0), 20, 0.01, "VRRP master")
        time.sleep(self.advert * 5 + 1)  # the backup has seen adverts
        t0 = time.time()
        self.kill(0)
        wait_for(lambda: self.holds(1), 20, 0.002, "VRRP backup takes over")
        took = time.time() - t0
        self.kill(1)
        for i in (0, 1):  # a keepalived killed leaves its address behind
            sh("ip -n %s addr del %s/24 dev vr%d%s" % (self.ns[i], self.vip, self.n, "ab"[i]),
               check=False)
        return took

    def close(self):
        for i in (0, 1):
            if self.procs[i] and self.procs[i].poll() is None:
                self.kill(i)
        for ns in self.ns:
            sh("ip netns delete %s" % ns, check=False)
        subprocess.run(["rm", "-rf", self.dir])


def sh(cmd, check=True):
    subprocess.run(cmd.split(), check=check, capture_output=True)


class Cluster:
    """Two managers on one 3-member etcd, sharing the data dir."""

    def __init__(self):
        self.etcd = Etcd(3)
        self.data = tempfile.mkdtemp(prefix="vnfm-bench-ha-")
        store = "etcd://%s/bench" % self.etcd.endpoints
        subnet = unique_subnet()
        self.m = [Daemon("--log-level", "warn", subnet=subnet, store=store, data=self.data,
                         token=TOKEN) for _ in range(2)]
        self.m[0].start()
        self.m[1].start(primary=False)
        self.primary = 0
        # the writes are VNFDs: records without a sandbox uid, so that the store that grows
        # during the run does not make every takeover longer (docs/BENCHMARKS.md)
        self.writer = Writer([m.url for m in self.m], "/v0/vnfds", demo)
        self.writer.start()
        wait_for(lambda: len(self.writer.acked) >= 20, 30, what="writes")

    def once(self):
        """One failover: seconds from the kill -9 of the primary to the first write
        acknowledged by the other."""
        other = 1 - self.primary
        killed = time.time()
        self.m[self.primary].kill9()
        try:
            first = wait_for(lambda: next((t for _, t, u in list(self.writer.acked)
                                           if t > killed and u == other), None), 30, 0.005,
                             "a write on the new primary")
        except AssertionError:
            print(self.m[other].log()[-6000:])  # one log: the data dir is shared
            raise
        self.m[self.primary].start(primary=False)  # back, as a standby
        wait_for(lambda: self.m[self.primary].ha_state() == "standby", 20, what="standby")
        self.primary = other
        n = len(self.writer.acked)
        wait_for(lambda: len(self.writer.acked) >= n + 20, 30, what="writes")
        time.sleep(1)
        return first - killed

    def close(self):
        self.writer.stop.set()
        self.writer.join(30)
        assert self.writer.error is None, self.writer.error
        have = {v["id"] for v in self.m[self.primary].get("/v0/vnfds")[1]["vnfds"]}
        lost = [tid for tid, _, _ in self.writer.acked if tid not in have]
        acked = len(self.writer.acked)
        for m in self.m:
            m.stop() if m.proc.poll() is None else None
        self.m[0].purge_host()
        for m in self.m:
            m.forget()
        self.etcd.stop()
        subprocess.run(["rm", "-rf", self.data])
        return acked, lost


def summary(name, xs):
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]
    print("%-44s n=%d median %.3f s  p90 %.3f s  max %.3f s" %
          (name, len(xs), statistics.median(xs), p90, xs[-1]), flush=True)


def main():
    vrrp = [Vrrp(1, 2, 1), Vrrp(2, 3, 0.1)]
    cluster = Cluster()
    times = {"vnfmd on etcd": [], "keepalived defaults (VRRPv2, advert_int 1)": [],
             "keepalived VRRPv3, advert_int 0.1": []}
    try:
        for run in range(RUNS):
            for name, f in zip(times, (cluster.once, vrrp[0].once, vrrp[1].once)):
                took = f()
                times[name].append(took)
                print("run %d %-40s %.3f s" % (run + 1, name, took), flush=True)
    finally:
        acked, lost = cluster.close()
        for v in vrrp:
            v.close()
    for name, xs in times.items():
        summary(name, xs)
    print("vnfmd: %d writes acknowledged, %d lost %s" % (acked, len(lost), lost[:10]))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
