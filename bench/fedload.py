"""What the benchmarks of branch reports share (bench/fed_reports.py,
bench/shared_reports.py): the reports of a simulated branch of 8 deployments,
the wrk script that sends them (bodies made in Lua, each branch's seq rising,
round robin over the branches), and /proc readings of a process."""
import json
import os
import subprocess

# wrk: one Lua state (-t1), so each branch's seq rises; round robin over the
# branches, so that no two reports of a branch are ever in flight at once
LUA = """
local creds, mets, deps, seq, n, i, gap, full = {}, {}, {}, {}, 0, 0, 0, false
local head = '{"boot":"b","seq":%d,"load":{"value":0.1,"parts":{"cpu":0.1,"vcpu":0.1,' ..
  '"memory":0.1}},"site_state":{"capacity":{"vcpu":8,"memory_mb":4096},"allocated":' ..
  '{"vcpu":1,"memory_mb":256,"disk_mb":0,"vis":8}},"metrics":'
function init(args)
  local base = tonumber(args[1])
  gap = tonumber(args[3])
  full = args[4] == "full"
  for line in io.lines(args[2]) do
    local c, m, dp = line:match("([^\\t]*)\\t([^\\t]*)\\t(.*)")
    n = n + 1
    creds[n], mets[n], deps[n], seq[n] = c, m, dp, base
  end
end
function delay()
  return gap
end
function request()
  i = i % n + 1
  seq[i] = seq[i] + 1
  local d = full and (',"full":true,"deployments":' .. deps[i]) or ',"full":false,"deployments":[]'
  local body = string.format(head, seq[i]) .. mets[i] .. d ..
    ',"events":[],"results":[],"operations":[]}'
  return wrk.format("POST", "/fed/v1/report", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. creds[i]}, body)
end
"""


def cpu(pid):
    """The CPU seconds process pid used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss(pid):
    """Its resident memory, KiB."""
    with open("/proc/%d/status" % pid) as f:
        return int(f.read().split("VmRSS:")[1].split()[0])


def deployments(i):
    mon = {"metrics": {"rps": {"probe": "http", "port": 8080, "path": "/stats",
                               "json": "requests_per_s_1s"}}}
    return [{"id": "b%d-d%d" % (i, k), "tenant": "default", "vnfd": "v", "status": "active",
             "stage": "monitoring", "operation": None, "instances": {"web": 1},
             "monitoring": mon, "rules_owner": "cloud", "rules_owner_set": "cloud",
             "rules_owner_gen": 1,
             "vis": [{"id": "vi-%d-%d" % (i, k), "vdu": "web", "index": 0, "state": "running",
                      "ip": "10.%d.%d.%d" % (i // 65536, i // 256 % 256, i % 256)}]}
            for k in range(8)]


def metrics(i):
    return {"b%d-d%d" % (i, k): {"rps": 150 if k == 0 else 50} for k in range(8)}


def report(i, seq):
    return {"boot": "b", "seq": seq,
            "load": {"value": 0.1, "parts": {"cpu": 0.1, "vcpu": 0.1, "memory": 0.1}},
            "site_state": {"capacity": {"vcpu": 8, "memory_mb": 4096},
                           "allocated": {"vcpu": 1, "memory_mb": 256, "disk_mb": 0, "vis": 8}},
            "metrics": metrics(i), "deployments": deployments(i), "events": [], "results": [],
            "operations": []}


def write_creds(path, creds, branches):
    """The wrk script's input: a line per branch i of branches (its credential creds[i])."""
    with open(path, "w") as f:
        for i in branches:
            f.write("%s\t%s\t%s\n" % (creds[i], json.dumps(metrics(i)),
                                      json.dumps(deployments(i))))


def wrk(url, lua_file, creds_file, base, secs, conns, gap_ms=0, full=False):
    """wrk -t1 sending reports of the branches of creds_file to url for secs seconds, each
    branch's seq from base on: the reports answered."""
    out = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % secs, "-s", lua_file, url,
                          "--", str(base), creds_file, str(gap_ms), "full" if full else "changed"],
                         capture_output=True, text=True).stdout
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    return int(out.split(" requests in")[0].split()[-1])
