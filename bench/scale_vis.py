#!/usr/bin/python3
"""A site holds as many VIs as its subnet allows (issue 10 finding 19): a
vnfmd of its own with a /21 site deploys N deployments of one VI each of
the sample VNF, then every VI must answer TCP from the host; then all are
undeployed and the host must be clean. A site used to stop at about 512
VIs (the kernel's neighbour table: gc_thresh3 1024, two dynamic entries a
VI), and a Linux bridge holds at most 1023 ports.

  scale_vis.py BUILD_DIR [N] [CONCURRENCY] [SUBNET]
"""
import concurrent.futures
import glob
import json
import os
import signal
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BUILD = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
CONC = int(sys.argv[3]) if len(sys.argv) > 3 else 8
SUBNET = sys.argv[4] if len(sys.argv) > 4 else "10.224.0.0/21"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = free_port()
URL = "http://127.0.0.1:%d" % PORT


def call(method, path, body=None, token=None):
    req = urllib.request.Request(URL + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def answers(ip, timeout=2):
    try:
        with socket.create_connection((ip, 8080), timeout=timeout):
            return True
    except OSError:
        return False


def explain(vi, tag):
    """What the host shows of a VI that did not answer."""
    def run(*cmd):
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    ns = "vnfm-%s-%s" % (tag, vi["id"])
    return "%s %s state %s pid %s (%s); link: %s; inside: %s; host neigh: %s" % (
        vi["name"], vi["ip"], vi["state"], vi["pid"],
        "alive" if os.path.exists("/proc/%d" % vi["pid"]) else "gone",
        run("ip", "-br", "-d", "link", "show", "vh" + vi["id"]).replace("\n", " "),
        run("ip", "netns", "exec", ns, "sh", "-c",
            "ip -br addr show eth0; ip neigh; ss -ltn | tail -n +2").replace("\n", " | "),
        run("ip", "neigh", "show", vi["ip"]))


def sysctl(name):
    with open("/proc/sys/net/ipv4/neigh/default/" + name) as f:
        return int(f.read())


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def main():
    tmp, tag = tempfile.mkdtemp(prefix="vnfm-scale-"), None
    log = open(os.path.join(tmp, "vnfmd.log"), "w")
    d = subprocess.Popen([os.path.join(BUILD, "vnfmd"), "--data-dir", os.path.join(tmp, "d"),
                          "--listen", "127.0.0.1:%d" % PORT, "--subnet", SUBNET,
                          "--vnf-path", os.path.abspath(os.path.join(BUILD, "examples")),
                          "--log-level", "warn", "--site-vcpu", "4096",
                          "--site-memory-mb", "4000000", "--workers", "8"],
                         stdout=log, stderr=log)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(URL + "/v0/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        token = open(os.path.join(tmp, "d", "admin.token")).read().strip()
        tag = call("GET", "/v0/version", token=token)[1]["instance"]
        print("gc_thresh2/3 before the site opened: see the log; now %d/%d" %
              (sysctl("gc_thresh2"), sysctl("gc_thresh3")))
        call("POST", "/v0/vnfds", {"id": "scale", "vdus": [{
            "id": "web", "vcpu": 0.01, "memory_mb": 16,
            "command": ["vnf-demo", "--listen", "{{ip}}:8080", "--threads", "1"],
            "ready": {"tcp": 8080, "timeout_s": 60}}]}, token)

        def deploy(i):
            t0 = time.time()
            st, op = call("POST", "/v0/deployments", {"name": "s%d" % i, "vnfd": "scale"}, token)
            if st != 202:
                return None, "deploy s%d: %s %s" % (i, st, op)
            while True:
                st, o = call("GET", "/v0/operations/" + op["id"], token=token)
                if o["state"] not in ("starting", "processing"):
                    return time.time() - t0, (None if o["state"] == "completed" else
                                              "s%d: %s %s" % (i, o["state"], o.get("error")))
                time.sleep(0.05)

        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(CONC) as ex:
            results = list(ex.map(deploy, range(N)))
        took = time.time() - t0
        for part, rs in (("first", results[:200]), ("last", results[-200:])):
            lat = sorted(t for t, e in rs if t is not None)
            if lat:
                print("  the %s 200 deploys: median %.0f ms" % (part, 1000 * statistics.median(lat)))
        errors = [e for _, e in results if e]
        lat = sorted(t for t, e in results if t is not None and not e)
        print("deployed %d of %d in %.1f s (%.1f deploys/s, %d in flight); per deploy: median "
              "%.0f ms, p90 %.0f ms" % (len(lat), N, took, len(lat) / took, CONC,
                                        1000 * statistics.median(lat) if lat else 0,
                                        1000 * lat[int(len(lat) * 0.9)] if lat else 0))
        for e in errors[:5]:
            print("  error:", e)
        st, deps = call("GET", "/v0/deployments", token=token)
        vis = []
        for dep in deps["deployments"]:
            vis += call("GET", "/v0/deployments/" + dep["id"], token=token)[1]["vis"]
        with concurrent.futures.ThreadPoolExecutor(32) as ex:
            first = list(ex.map(lambda v: answers(v["ip"]), vis))
        # one that did not answer at once gets two more tries, one at a time
        late = [v for v, a in zip(vis, first) if not a]
        dead = [v for v in late if not answers(v["ip"], 5) and not answers(v["ip"], 5)]
        ok = len(vis) - len(dead)
        print("VIs answering TCP from the host: %d of %d (%d only on a second try)" %
              (ok, len(vis), len(late) - len(dead)))
        for v in dead[:5]:
            print("  not answering:", explain(v, tag))
        leaves = subprocess.run(["ip", "-br", "link", "show", "type", "bridge"],
                                capture_output=True, text=True).stdout.count("vb%s0l" % tag)
        neigh = subprocess.run(["ip", "neigh", "show", "nud", "permanent"], capture_output=True,
                               text=True).stdout.count("\n")
        print("leaf bridges: %d; permanent neighbour entries on the host: %d; gc_thresh2/3 "
              "%d/%d; vnfmd RSS %.0f MB" % (leaves, neigh, sysctl("gc_thresh2"),
                                            sysctl("gc_thresh3"), rss_mb(d.pid)))
        dmesg = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
        print("kernel 'neighbor table overflow' lines: %d" %
              dmesg.count("neighbor table overflow"))
        t0 = time.time()

        def undeploy(dep):
            st, op = call("DELETE", "/v0/deployments/" + dep["id"], token=token)
            while st == 202:
                o = call("GET", "/v0/operations/" + op["id"], token=token)[1]
                if o["state"] not in ("starting", "processing"):
                    return o["state"]
                time.sleep(0.05)
            return st

        with concurrent.futures.ThreadPoolExecutor(CONC) as ex:
            done = list(ex.map(undeploy, deps["deployments"]))
        print("undeployed %d in %.1f s" % (sum(1 for s in done if s == "completed"),
                                           time.time() - t0))
        d.terminate()
        d.wait(timeout=120)
        left = [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                          text=True).stdout.split() if tag in n]
        bridges = subprocess.run(["ip", "-br", "link"], capture_output=True,
                                 text=True).stdout.count("vb" + tag)
        print("after a clean stop: %d namespaces, %d bridge interfaces of the instance left" %
              (len(left), bridges))
        return 0 if ok == N and not errors and not left and not bridges else 1
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
        if tag and d.returncode != 0:  # what the failed run left: its VNFs, then the rest
            for procs in glob.glob("/sys/fs/cgroup/*/vnfm/%s/*/cgroup.procs" % tag):
                for pid in open(procs).read().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(1)
            subprocess.run([os.path.join(BUILD, "vnfmd"), "--cleanup", tag])
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
