#!/usr/bin/python3
"""What the agent VIM costs (docs/VIM_AGENT.md): deploy and undeploy times of
one VNF at a site whose VIs a VIM agent makes (vnfmd --vim-agent, here on
the same host, plain HTTP over loopback) against the same at the manager's
own process VIM site, in one run, alternating. Both sites keep no warm VIs,
so that both make every VI from nothing; the difference is the agent's
round trips (a line on its stream, a POST of each outcome).

  agent_vim.py BUILD [RUNS]
"""
import hashlib
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BUILD = os.path.abspath(sys.argv[1])
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
VNFMD = os.path.join(BUILD, "vnfmd")
EXAMPLES = os.path.join(BUILD, "examples")


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Api:
    def __init__(self, url, token):
        self.url, self.token = url, token

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": "Bearer " + self.token,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def wait_op(self, op_id):
        while True:
            _, op = self.call("GET", "/v0/operations/" + op_id)
            if op["state"] not in ("starting", "processing", "rolling_back"):
                return op
            time.sleep(0.002)


def wait(pred, what, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("agent_vim: timed out waiting for " + what)


def main():
    tmp = tempfile.mkdtemp(prefix="vnfm-bench-agent-")
    port = free_port()
    n = random.randint(2, 250)
    mgr = subprocess.Popen([VNFMD, "--data-dir", tmp + "/mgr", "--listen", "127.0.0.1:%d" % port,
                            "--subnet", "10.203.%d.0/24" % n, "--vnf-path", EXAMPLES,
                            "--site-warm-vis", "0", "--log-level", "warn"],
                           stdout=subprocess.DEVNULL, stderr=open(tmp + "/mgr.log", "w"))
    url = "http://127.0.0.1:%d" % port
    wait(lambda: urllib.request.urlopen(url + "/v0/health", timeout=2), "the manager")
    api = Api(url, open(tmp + "/mgr/admin.token").read().strip())
    token = secrets.token_hex(24)
    with open(tmp + "/token", "w") as f:
        f.write(token + "\n")
    status, body = api.call("POST", "/v0/sites", {
        "id": "far", "driver": "agent", "subnet": "10.204.%d.0/24" % n,
        "capacity": {"vcpu": 8, "memory_mb": 4096},
        "options": {"token_sha256": hashlib.sha256(token.encode()).hexdigest()}})
    assert status == 201, body
    agent = subprocess.Popen([VNFMD, "--vim-agent", url, "--fed-insecure", "--site", "far",
                              "--vim-agent-token-file", tmp + "/token", "--data-dir",
                              tmp + "/agent", "--vnf-path", EXAMPLES, "--log-level", "warn"],
                             stdout=subprocess.DEVNULL, stderr=open(tmp + "/agent.log", "w"))
    try:
        wait(lambda: api.call("GET", "/v0/sites/far")[1].get("agent", {}).get("connected"),
             "the agent")
        api.call("POST", "/v0/vnfds", {"id": "bench-agent", "vdus": [{
            "id": "web", "vcpu": 0.1, "memory_mb": 32,
            "command": ["vnf-demo", "--listen", "{{ip}}:8080", "--threads", "1"],
            "ready": {"tcp": 8080}, "stop_grace_s": 1}]})
        times = {"local": {"deploy": [], "undeploy": []}, "far": {"deploy": [], "undeploy": []}}
        for i in range(RUNS):
            for site in ("local", "far") if i % 2 == 0 else ("far", "local"):
                name = "b%s%d" % (site, i)
                t0 = time.perf_counter()
                _, op = api.call("POST", "/v0/deployments",
                                 {"name": name, "vnfd": "bench-agent", "site": site})
                op = api.wait_op(op["id"])
                times[site]["deploy"].append((time.perf_counter() - t0) * 1000)
                assert op["state"] == "completed", op
                t0 = time.perf_counter()
                _, op = api.call("DELETE", "/v0/deployments/" + name)
                op = api.wait_op(op["id"])
                times[site]["undeploy"].append((time.perf_counter() - t0) * 1000)
                assert op["state"] == "completed", op
        print("%d runs each, alternating; ms, median (p90)" % RUNS)
        for what in ("deploy", "undeploy"):
            local, far = times["local"][what], times["far"][what]
            ml, mf = statistics.median(local), statistics.median(far)
            p90 = lambda v: sorted(v)[int(len(v) * 0.9) - 1]
            print("%-8s  process VIM %6.1f (%6.1f)   agent VIM %6.1f (%6.1f)   ratio %.2f" %
                  (what, ml, p90(local), mf, p90(far), mf / ml))
    finally:
        for p in (agent, mgr):
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)
        subprocess.run(["rm", "-rf", tmp])


main()
