#!/usr/bin/python3
"""Failure to heal start, in probe intervals: kill -9 a VNF's process and
time until the rules engine has started its heal operation (the operation's
creation), for two rules side by side on the same manager (the VNFDs opt out
of restarts on exit, which would heal first: bench/restart_latency.py):

  probe:   a TCP probe every INTERVAL s, rule health.up == 0 (1 occurrence)
  process: the manager's own exit watch (pidfd), rule process.up == 0

The reference is the Kubernetes liveness rule with its defaults
(failureThreshold 3): the kubelet restarts a container only after three
failed probes, i.e. between 2 and 3 probe intervals after the failure.

  heal_latency.py URL TOKEN [RUNS] [INTERVAL_S]
"""
import datetime
import json
import os
import statistics
import sys
import time
import urllib.request

URL, TOKEN = sys.argv[1], sys.argv[2]
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 10
INTERVAL = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0


def call(method, path, body=None):
    req = urllib.request.Request(URL + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + TOKEN,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return json.loads(e.read() or b"null")


def vnfd(name, rule):
    return {"id": name, "vdus": [{
        "id": "web", "vcpu": 0.1, "memory_mb": 32,
        "command": ["vnf-demo", "--listen", "{{ip}}:8080", "--threads", "1"],
        "ready": {"tcp": 8080}}],
        "monitoring": {"interval_s": INTERVAL, "metrics": {
            "health": {"probe": "tcp", "port": 8080, "timeout_ms": 200}}},
        "rules": [dict(rule, name="heal", stage="vnf_failure", cooldown_s=0,
                       actions=[{"action": "heal", "policy": "reboot"}])],
        "restart": {"policy": "never"}}


def wait(pred, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    raise SystemExit("heal_latency: timed out")


def heals(dep):
    return call("GET", "/v0/operations?deployment=%s&type=heal" % dep)["operations"]


def one(dep):
    vi = call("GET", "/v0/deployments/" + dep)["vis"][0]
    before = {o["id"] for o in heals(dep)}
    time.sleep(INTERVAL * (0.1 + 0.8 * (time.time() % 1)))  # a random phase of the probe
    killed = time.time()
    os.kill(vi["pid"], 9)
    op = wait(lambda: [o for o in heals(dep) if o["id"] not in before])[0]
    created = datetime.datetime.fromisoformat(op["created"].replace("Z", "+00:00")).timestamp()
    wait(lambda: call("GET", "/v0/operations/" + op["id"])["state"] != "processing")
    wait(lambda: not call("GET", "/v0/deployments/" + dep)["operation"])
    time.sleep(INTERVAL * 1.5)  # a healthy probe again
    return (created - killed) / INTERVAL


def main():
    kinds = {"probe": {"metric": "health.up", "op": "==", "threshold": 0, "occurrences": 1},
             "process": {"metric": "process.up", "op": "==", "threshold": 0}}
    for k, rule in kinds.items():
        call("POST", "/v0/vnfds", vnfd("heal-" + k, rule))
        op = call("POST", "/v0/deployments", {"name": "heal-" + k, "vnfd": "heal-" + k})
        wait(lambda: call("GET", "/v0/operations/" + op["id"])["state"] != "processing")
    time.sleep(2 * INTERVAL)
    got = {k: [] for k in kinds}
    for _ in range(RUNS):
        for k in kinds:
            got[k].append(one("heal-" + k))
    print("runs: %d per rule, probe interval %.1f s (kill at a random phase of it)" %
          (RUNS, INTERVAL))
    for k, v in got.items():
        print("%-8s rule: kill -9 to heal start median %.2f, max %.2f probe intervals" %
              (k, statistics.median(v), max(v)))
    print("reference, Kubernetes liveness rule (failureThreshold 3): 2 to 3 probe intervals")
    print("ratio of medians (probe rule / Kubernetes' lower bound 2): %.2f" %
          (statistics.median(got["probe"]) / 2))
    for k in kinds:
        call("DELETE", "/v0/deployments/heal-" + k)


if __name__ == "__main__":
    main()
