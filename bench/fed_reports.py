#!/usr/bin/python3
"""Branch reports on a cloud VNFM, against nginx answering the same requests
(docs/BENCHMARKS.md "Branch reports on a cloud VNFM").

N branch managers join a cloud VNFM (--role cloud, sim site, HTTPS with a
certificate made here) with real join tokens; each sends a first, full
report (8 deployments of one VI each, with their monitoring), which the
cloud mirrors. One branch in ten then gets a rule of the cloud's on one of
its deployments (requests per second over 100, cooldown 2 s, a log action),
which every report of it makes fire once the cooldown has passed. wrk
(bodies made in Lua, each branch's seq rising, round robin over the
branches, 8 connections) sends the reports over TLS (POST /fed/v1/report,
the real protocol; no channel is held open):

  1. steady-state reports (load, site, metrics; no deployment changed), as
     fast as the cloud takes them: reports/s and the cloud's CPU per 1,000
     reports; then the same requests to nginx (HTTPS, one worker, each
     answered with a fixed acknowledgement) and its worker's CPU;
     report-to-decision latency p50/p99 of the decisions taken meanwhile
     (their inputs' report_to_decision_us: from the moment the report was
     read off the connection to the decision record);
  2. the same, paced (wrk waits between an answer and the next report on
     each connection): CPU per 1,000 reports and latency below saturation;
  3. full reports (all 8 deployments in each), saturated, cloud and nginx;
  4. steady-state reports one at a time, as a branch sends them, on one
     kept connection (as branches do: docs/FEDERATION.md "Reports keep their
     connection") and each on a new TLS connection with a full handshake
     (as they did before): the cloud's CPU per report.

Memory per branch: the growth of the cloud's RSS from before the joins to
after every branch's first report, and with N idle kept TLS connections
opened at the end (a branch holds two: its channel and its reports). PERF=FILE records the cloud during 1
(perf record --call-graph dwarf).

  fed_reports.py BUILD_DIR [N] [SECONDS] [RATE]
"""
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedload import LUA, cpu, report, write_creds  # noqa: E402
from fedload import rss as rss_of, wrk as wrk_of  # noqa: E402

B = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
SECS = float(sys.argv[3]) if len(sys.argv) > 3 else 5
RATE = int(sys.argv[4]) if len(sys.argv) > 4 else 0
RULED = max(1, N // 10)
CONNS = 8
d = tempfile.mkdtemp(prefix="fedbench-", dir="/var/tmp")
resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", d + "/key.pem", "-out",
                d + "/cert.pem", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
port, nport = free_port(), free_port()
p = subprocess.Popen([B + "/vnfmd", "--role", "cloud", "--site", "cloud", "--data-dir", d,
                      "--listen", "127.0.0.1:%d" % port, "--site-driver", "sim",
                      "--tls-cert", d + "/cert.pem", "--tls-key", d + "/key.pem",
                      "--fed-missed", "1000000", "--log-level", "warn",
                      "--http-max-conns-per-client", "4096"],
                     stdout=subprocess.DEVNULL, stderr=open(d + "/cloud.log", "w"))
os.makedirs(d + "/ngx")
with open(d + "/ngx/nginx.conf", "w") as f:
    f.write("""daemon off;
worker_processes 1;
pid %(d)s/ngx/nginx.pid;
error_log %(d)s/ngx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %(d)s/ngx/body;
  client_body_buffer_size 64k;
  server {
    listen 127.0.0.1:%(port)d ssl;
    ssl_certificate %(d)s/cert.pem;
    ssl_certificate_key %(d)s/key.pem;
    location = /fed/v1/report {
      default_type application/json;
      return 200 '{"seq":1,"event_seq":0,"results":[]}';
    }
  }
}
""" % {"d": d, "port": nport})
ngx = subprocess.Popen(["nginx", "-c", d + "/ngx/nginx.conf", "-p", d + "/ngx"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ctx = ssl.create_default_context(cafile=d + "/cert.pem")
for _ in range(100):
    try:
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
        c.request("GET", "/v0/health")
        c.getresponse().read()
        break
    except OSError:
        time.sleep(0.1)
tok = open(d + "/admin.token").read().strip()


def req(method, path, body, auth):
    c.request(method, path, json.dumps(body), {"Content-Type": "application/json",
                                                "Authorization": "Bearer " + auth})
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"null")


def rss():
    return rss_of(p.pid)


def nginx_worker():
    kids = open("/proc/%d/task/%d/children" % (ngx.pid, ngx.pid)).read().split()
    return int(kids[0])


rss0 = rss()
creds = []
for i in range(N):
    _, t = req("POST", "/v0/join-tokens", {"site": "b%d" % i}, tok)
    _, j = req("POST", "/fed/v1/join", {"token": t["token"], "site": "b%d" % i,
                                        "tag": "%06x" % i}, "")
    creds.append(j["credential"])
for i in range(N):  # the first report of each mirrors its deployments
    s, _ = req("POST", "/fed/v1/report", report(i, 1), creds[i])
    assert s == 200, s
rss1 = rss()
rule = {"name": "hot", "metric": "rps", "op": ">", "threshold": 100, "occurrences": 1,
        "cooldown_s": 2, "stage": "overloaded",
        "actions": [{"action": "log", "message": "hot"}]}
for i in range(0, N, N // RULED):
    s, doc = req("PUT", "/v0/deployments/b%d-d0/rules" % i, {"rules": [rule]}, tok)
    assert s == 200, doc

write_creds(d + "/creds", creds, range(N))
with open(d + "/report.lua", "w") as f:
    f.write(LUA)


def wrk(url, base, secs, gap_ms=0, full=False):
    return wrk_of(url, d + "/report.lua", d + "/creds", base, secs, CONNS, gap_ms, full)


def measure(pid, url, base, secs, gap_ms=0, full=False):
    c0, t0 = cpu(pid), time.time()
    n = wrk(url, base, secs, gap_ms, full)
    return n, time.time() - t0, cpu(pid) - c0


def decisions(min_seq):
    out, off = [], 0
    while True:
        _, doc = req("GET", "/v0/decisions?limit=10000&offset=%d" % off, None, tok)
        out += [x["inputs"]["report_to_decision_us"] for x in doc["decisions"]
                if x["inputs"].get("report_seq", 0) > min_seq]
        if len(doc["decisions"]) < 10000:
            return out
        off += 10000


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


cloud_url, ngx_url = "https://127.0.0.1:%d" % port, "https://127.0.0.1:%d" % nport
# PERF=FILE: perf record -g of the cloud while it is saturated
perf = subprocess.Popen(["perf", "record", "--call-graph", "dwarf,16384", "-F", "499", "-o",
                         os.environ["PERF"], "-p", str(p.pid), "--", "sleep", str(SECS)],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL) if os.environ.get("PERF") else None
n1, dt1, dc1 = measure(p.pid, cloud_url, 10, SECS)
if perf:
    perf.wait()
lat1 = decisions(10)
nn, dtn, dcn = measure(nginx_worker(), ngx_url, 10, SECS)
rate = RATE or int(n1 / dt1 / 2)
gap = max(1, int(CONNS * 1000 / rate))
n2, dt2, dc2 = measure(p.pid, cloud_url, 10 ** 8, SECS, gap)
lat2 = decisions(10 ** 8)
n3, dt3, dc3 = measure(p.pid, cloud_url, 2 * 10 ** 8, SECS, 0, True)
nf, dtf, dcf = measure(nginx_worker(), ngx_url, 10, SECS, 0, True)


def one_by_one(new_each, base, count=1000):
    """count steady-state reports sent one at a time, as a branch sends them: each on
    a new TLS connection (a full handshake: no session resumed), or all on one
    kept connection. The cloud's CPU per report (us)."""
    conn, c0 = None, cpu(p.pid)
    for k in range(count):
        i = k % N
        if conn is None or new_each:
            if conn:
                conn.close()
            conn = http.client.HTTPSConnection("127.0.0.1", port,
                                               context=ssl.create_default_context(
                                                   cafile=d + "/cert.pem"))
        body = dict(report(i, base + k), full=False, deployments=[])
        conn.request("POST", "/fed/v1/report", json.dumps(body),
                     {"Content-Type": "application/json", "Authorization": "Bearer " + creds[i]})
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
    conn.close()
    return (cpu(p.pid) - c0) * 1e6 / count


def held(count):
    """The growth of the cloud's RSS with count idle kept TLS connections (what each
    branch holds twice: its channel, its reports), per connection (KiB)."""
    conns, r0 = [], rss()
    for k in range(count):
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(
            cafile=d + "/cert.pem"))
        conn.request("GET", "/v0/version")
        conn.getresponse().read()
        conns.append(conn)
    time.sleep(0.5)
    per = (rss() - r0) / count
    for conn in conns:
        conn.close()
    return per


kept1 = one_by_one(False, 3 * 10 ** 8)
new1 = one_by_one(True, 4 * 10 ** 8)
kept2 = one_by_one(False, 5 * 10 ** 8)
new2 = one_by_one(True, 6 * 10 ** 8)
conn_kib = held(N)


def line(what, n, dt, dc):
    return "%s %.0f reports/s, CPU %.0f ms per 1,000 reports (one core: %.0f reports/s)" % (
        what, n / dt, dc * 1e6 / n, n / dc)


def lat(v):
    return "%d decisions, p50 %d us, p99 %d us" % (len(v), pct(v, 0.5), pct(v, 0.99)) if v \
        else "no decision"


print("branches %d (%d with a cloud rule), 8 deployments each, reports over TLS, wrk -t1 -c%d"
      % (N, RULED, CONNS))
print("reports of the deployments that changed (none; the steady state), saturated:")
print(line("  cloud", n1, dt1, dc1))
print(line("  nginx", nn, dtn, dcn))
print("  report-to-decision: " + lat(lat1))
print("paced (wrk: %d ms between a connection's answer and its next report; asked %d/s): "
      "%.0f reports/s, cloud CPU %.0f ms per 1,000 reports; report-to-decision: %s"
      % (gap, rate, n2 / dt2, dc2 * 1e6 / n2, lat(lat2)))
print("full reports (all 8 deployments in each), saturated:")
print(line("  cloud", n3, dt3, dc3))
print(line("  nginx", nf, dtf, dcf))
print("steady-state reports one at a time (1,000 each, twice, alternating), the cloud's CPU "
      "per report: on one kept connection %.0f and %.0f us; each on a new TLS connection "
      "%.0f and %.0f us" % (kept1, kept2, new1, new2))
print("memory: RSS %d KiB -> %d KiB: %.1f KiB per branch; an idle kept TLS connection %.1f "
      "KiB (%d of them): with its two, %.1f KiB per branch" % (
          rss0, rss1, (rss1 - rss0) / N, conn_kib, N, (rss1 - rss0) / N + 2 * conn_kib))
p.send_signal(signal.SIGTERM)
ngx.send_signal(signal.SIGTERM)
p.wait()
ngx.wait()
shutil.rmtree(d)
