#!/usr/bin/python3
"""Commit latency by store backend (issue 14, docs/HA.md): one small write (POST
/v0/tenants, one record and its event-log entry in one transaction), sent one after the
other on a kept-alive connection, timed from the request to the answer, against three
managers measured in the same run, interleaved in rounds: SQLite in the data dir (the
default), etcd of one member, etcd of three members (the primary of an HA pair on it; the
standby beside it). All on loopback, etcd's data in memory (/dev/shm).

  commit_latency.py [ROUNDS] [WRITES]   (BUILD=build by default; as root from the tree's root)
"""
import http.client
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "bb"))
from vnfm import Daemon, Etcd  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
WRITES = int(sys.argv[2]) if len(sys.argv) > 2 else 100
TOKEN = "bench-admin-token-0123456789"


def writes(m, conn, first, n):
    """n writes; the latency of each, in ms."""
    out = []
    for i in range(first, first + n):
        body = json.dumps({"id": "t%d" % i})
        t0 = time.perf_counter()
        conn.request("POST", "/v0/tenants", body, {"Authorization": "Bearer " + TOKEN,
                                                   "Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status == 201, "%s: POST /v0/tenants -> %d" % (m.url, r.status)
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def main():
    etcd1, etcd3 = Etcd(1), Etcd(3)
    data = tempfile.mkdtemp(prefix="vnfm-bench-commit-")
    q = ("--log-level", "warn")
    managers = {
        "SQLite (--data-dir)": [Daemon(*q, token=TOKEN)],
        "etcd, 1 member": [Daemon(*q, token=TOKEN, store="etcd://%s/b1" % etcd1.endpoints)],
        "etcd, 3 members, with a standby": [
            Daemon(*q, token=TOKEN, data=data, store="etcd://%s/b3" % etcd3.endpoints)
            for _ in range(2)],
    }
    lat = {name: [] for name in managers}
    try:
        for ms in managers.values():
            ms[0].start()
            for m in ms[1:]:
                m.start(primary=False)
        conns = {name: http.client.HTTPConnection("127.0.0.1", ms[0].port)
                 for name, ms in managers.items()}
        for name, ms in managers.items():  # warm-up
            writes(ms[0], conns[name], 10 ** 6, 20)
        for r in range(ROUNDS):
            for name, ms in managers.items():
                lat[name] += writes(ms[0], conns[name], r * WRITES, WRITES)
    finally:
        for ms in managers.values():
            for m in ms:
                if m.proc and m.proc.poll() is None:
                    m.stop()
                if m.tag:
                    m.purge_host()
                m.forget()
        etcd1.stop()
        etcd3.stop()
        os.system("rm -rf " + data)
    base = statistics.median(lat["SQLite (--data-dir)"])
    for name, xs in lat.items():
        print("%-34s n=%d median %.2f ms  p90 %.2f ms  p99 %.2f ms  (%.1fx SQLite's median)" %
              (name, len(xs), statistics.median(xs), pct(xs, 0.9), pct(xs, 0.99),
               statistics.median(xs) / base))


if __name__ == "__main__":
    main()
