#!/usr/bin/python3
"""Report load on a cloud VNFM: N branch managers (joined with real tokens)
report over kept-alive HTTP connections as fast as one client allows, each
report with 8 deployments of one VI; prints reports/s and the cloud's CPU
per 1,000 reports, and its memory per branch (RSS growth / N).
docs/BENCHMARKS.md "Branch reports on a cloud VNFM".

  fed_reports.py BUILD_DIR [N] [SECONDS]
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

B = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
SECS = float(sys.argv[3]) if len(sys.argv) > 3 else 8
d = tempfile.mkdtemp(prefix="fedbench-", dir="/var/tmp")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
p = subprocess.Popen([B + "/vnfmd", "--role", "cloud", "--site", "cloud", "--data-dir", d,
                      "--listen", "127.0.0.1:%d" % port, "--site-driver", "sim",
                      "--fed-missed", "1000", "--log-level", "warn"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(1.5)
tok = open(d + "/admin.token").read().strip()
c = http.client.HTTPConnection("127.0.0.1", port)

def req(method, path, body, auth):
    c.request(method, path, json.dumps(body), {"Content-Type": "application/json",
                                                "Authorization": "Bearer " + auth})
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"null")

def rss():
    return int(open("/proc/%d/status" % p.pid).read().split("VmRSS:")[1].split()[0])

def cpu():
    f = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

rss0 = rss()
creds = []
for i in range(N):
    _, t = req("POST", "/v0/join-tokens", {"site": "b%d" % i}, tok)
    _, j = req("POST", "/fed/v1/join", {"token": t["token"], "site": "b%d" % i, "tag": "%06x" % i},
               "")
    creds.append(j["credential"])
deps = [{"id": "d%d" % k, "tenant": "default", "vnfd": "v", "status": "active",
         "stage": "monitoring", "operation": None,
         "vis": [{"id": "vi%d" % k, "vdu": "web", "index": 0, "state": "running",
                  "ip": "10.0.0.%d" % k}]} for k in range(8)]
seq = [0] * N
def report(i):
    seq[i] += 1
    s, _ = req("POST", "/fed/v1/report", {"boot": "b", "seq": seq[i], "load": {
        "value": 0.1, "parts": {"cpu": 0.1, "vcpu": 0.1, "memory": 0.1}},
        "site_state": {"capacity": {"vcpu": 8, "memory_mb": 4096},
                       "allocated": {"vcpu": 1, "memory_mb": 256, "disk_mb": 0, "vis": 8}},
        "deployments": deps, "events": [], "results": [], "operations": []}, creds[i])
    assert s == 200, s
for i in range(N):  # the first report of each mirrors its deployments
    report(i)
rss1 = rss()
n, c0, t0 = 0, cpu(), time.time()
while time.time() - t0 < SECS:
    report(n % N)
    n += 1
dt, dc = time.time() - t0, cpu() - c0
print("branches %d, reports %d in %.1f s: %.0f reports/s; cloud CPU %.2f s = %.0f ms per 1,000 "
      "reports; RSS %d KiB -> %d KiB: %.1f KiB per branch (8 deployments each)" %
      (N, n, dt, n / dt, dc, dc * 1e6 / n, rss0, rss1, (rss1 - rss0) / N))
p.send_signal(signal.SIGTERM)
p.wait()
subprocess.run(["rm", "-rf", d])
