"""The agent VIM (docs/VIM_AGENT.md): a site whose VIs another host makes, through a VIM
agent there (`vnfmd --vim-agent URL`) that dials in to the manager. Here the agent's
"host" is a network namespace of its own, reached over a veth pair; its VIs are real
processes in real namespaces and cgroups under the agent's instance tag, made only by
the agent: the manager deploys, probes (over the link), heals and undeploys them, and
says so when the agent is not there."""
import glob
import hashlib
import os
import secrets
import signal
import subprocess
import tempfile
import time
import unittest

from vnfm import VNFMD, EXAMPLES_BIN, Daemon, pid_alive, slurp, unique_subnet, wait_for
from test_deploy import demo
from test_fed import Pki


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def cgroup_procs(tag):
    """The pids in the VI cgroups of the agent of instance tag (its VIs, any controller)."""
    pids = set()
    for f in glob.glob("/sys/fs/cgroup/*/vnfm/%s/*/cgroup.procs" % tag) + \
            glob.glob("/sys/fs/cgroup/vnfm/%s/*/cgroup.procs" % tag):
        if "/mgr-" not in f:
            pids.update(int(p) for p in slurp(f).split())
    return pids


class AgentTest(unittest.TestCase):

    def setUp(self):
        # the agent's host: a namespace behind a veth pair, the manager at 10.98.x.1
        self.ns = "vat%d" % (os.getpid() % 100000)
        n = os.getpid() % 200 + 20
        self.mgr_ip, self.agent_ip = "10.98.%d.1" % n, "10.98.%d.2" % n
        self.host_if, self.ns_if = "va%dh" % n, "va%da" % n
        sh("ip", "netns", "add", self.ns)
        self.addCleanup(sh, "ip", "netns", "del", self.ns)
        sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        self.addCleanup(subprocess.run, ["ip", "link", "del", self.host_if], capture_output=True)
        sh("ip", "link", "set", self.ns_if, "netns", self.ns)
        sh("ip", "addr", "add", self.mgr_ip + "/30", "dev", self.host_if)
        sh("ip", "link", "set", self.host_if, "up")
        ns = ["ip", "netns", "exec", self.ns]
        sh(*ns, "ip", "addr", "add", self.agent_ip + "/30", "dev", self.ns_if)
        sh(*ns, "ip", "link", "set", self.ns_if, "up")
        sh(*ns, "ip", "link", "set", "lo", "up")
        sh(*ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # the site: its VIs' subnet routed to the agent's host
        self.subnet = unique_subnet()
        sh("ip", "route", "add", self.subnet, "via", self.agent_ip)
        self.addCleanup(subprocess.run, ["ip", "route", "del", self.subnet], capture_output=True)
        # TLS: the agent checks the manager's certificate against its CA
        self.pki = Pki(ips=(self.mgr_ip,))
        self.addCleanup(self.pki.close)
        self.d = Daemon("--tls-cert", self.pki.cert, "--tls-key", self.pki.key, host=self.mgr_ip,
                        ca=self.pki.ca).start()
        self.token = secrets.token_hex(24)
        self.dir = tempfile.mkdtemp(prefix="vnfm-bb-agent-")
        self.token_file = os.path.join(self.dir, "token")
        with open(self.token_file, "w") as f:
            f.write(self.token + "\n")
        self.d.ok("POST", "/v0/sites", {
            "id": "far", "driver": "agent", "subnet": self.subnet,
            "capacity": {"vcpu": 4, "memory_mb": 2048},
            "options": {"token_sha256": hashlib.sha256(self.token.encode()).hexdigest()}})
        self.agent = None
        self.addCleanup(self.stop_agent)

    def tearDown(self):
        self.d.cleanup()

    def agent_args(self, token_file=None, url=None):
        return ["nsenter", "--net=/run/netns/" + self.ns, VNFMD, "--vim-agent",
                url or self.d.url, "--vim-agent-ca", self.pki.ca, "--site", "far",
                "--vim-agent-token-file", token_file or self.token_file, "--data-dir",
                os.path.join(self.dir, "data"), "--vnf-path", EXAMPLES_BIN, "--log-level",
                "debug"]

    def start_agent(self, token_file=None):
        log = open(os.path.join(self.dir, "agent.log"), "ab")
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
        self.agent = subprocess.Popen(self.agent_args(token_file), stdout=log, stderr=log,
                                      env=env)
        log.close()
        return self.agent

    def agent_log(self):
        return slurp(os.path.join(self.dir, "agent.log"))

    def stop_agent(self):
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            self.assertEqual(self.agent.wait(timeout=60), 0, self.agent_log()[-3000:])
        log = self.agent_log() if os.path.exists(os.path.join(self.dir, "agent.log")) else ""
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            self.assertNotIn(marker, log)

    def site(self):
        return self.d.get("/v0/sites/far")[1]

    def connected(self):
        return self.site().get("agent", {}).get("connected")

    def agent_tag(self):
        return slurp(os.path.join(self.dir, "data", "agent.tag")).strip()

    def test_deploy_probe_heal_undeploy_through_the_agent(self):
        d = self.d
        self.start_agent()
        wait_for(self.connected, 30, 0.1, "the agent connected")
        agent = self.site()["agent"]
        self.assertEqual(agent["instance"], self.agent_tag())
        self.assertEqual(agent["host"], os.uname().nodename)
        out = d.ctl("site", "show", "far")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"agent\.state:?\s+connected")
        d.onboard(demo("demo-far"))
        d.deploy("f1", "demo-far", site="far")
        dep = d.deployment("f1")
        self.assertEqual(dep["status"], "active")
        vi = dep["vis"][0]
        # the VNF runs in the agent's host: its cgroups are the agent's, its address the site's
        tag = self.agent_tag()
        self.assertNotEqual(tag, d.tag)
        pid = vi["pid"]
        self.assertIn(pid, cgroup_procs(tag))
        # the manager reaches it over the link (its ready probe passed; a client does too)
        ip = vi["addresses"][0] if "addresses" in vi else vi.get("ip")
        out = subprocess.run(["curl", "-sf", "--max-time", "5", "http://%s:8080/" % ip],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        # killed at the agent's host: the agent reports the exit, the manager heals it there
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: (lambda f: not f.get("operation") and f.get("vis") and
                          f["vis"][0]["pid"] != pid and pid_alive(f["vis"][0]["pid"]))(
            d.deployment("f1")), 60, 0.2, "f1 healed through the agent, its heal ended")
        self.assertIn("has ended", self.agent_log())
        new = d.deployment("f1")["vis"][0]["pid"]
        self.assertIn(new, cgroup_procs(tag))
        # undeployed: nothing of it left at the agent's host
        op = d.ok("DELETE", "/v0/deployments/f1", expect=(202,))
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        self.assertEqual(cgroup_procs(tag), set())
        self.assertFalse(pid_alive(new))

    def test_without_its_agent_the_site_says_so(self):
        d = self.d
        agent = wait_for(lambda: self.site().get("agent"), 10, 0.1, "the site open")
        self.assertFalse(agent["connected"])
        self.assertIn("has not connected", agent["state"])
        d.onboard(demo("demo-far"))
        op = d.ok("POST", "/v0/deployments", {"name": "f2", "vnfd": "demo-far", "site": "far"},
                  expect=(202,))
        done = d.wait_op(op["id"])
        self.assertEqual(done["state"], "failed", done)
        self.assertIn("its VIM agent has not connected", str(done))
        # plain HTTP only when asked for
        p = subprocess.run(self.agent_args(url=self.d.url.replace("https:", "http:")),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--vim-agent must be https://", p.stderr)
        # a wrong token: refused, the agent says why and exits 1
        bad = os.path.join(self.dir, "bad")
        with open(bad, "w") as f:
            f.write("not-the-token\n")
        p = self.start_agent(bad)
        self.assertEqual(p.wait(timeout=30), 1)
        self.assertIn("refuses the agent of site far (HTTP 401)", self.agent_log())
        self.agent = None
        # the right one: the site is up; the agent stopped: down again, its VIs kept
        self.start_agent()
        wait_for(self.connected, 30, 0.1, "the agent connected")
        d.ok("DELETE", "/v0/deployments/f2", expect=(202, 404))
        d.deploy("f3", "demo-far", site="far")
        pid = d.deployment("f3")["vis"][0]["pid"]
        self.stop_agent()
        wait_for(lambda: not self.connected(), 10, 0.1, "the site down")
        self.assertIn("VIM agent", str(self.site()))
        self.assertTrue(pid_alive(pid))
        # back: the same VI, not made again
        self.start_agent()
        wait_for(self.connected, 30, 0.1, "the agent back")
        time.sleep(2)
        self.assertEqual(d.deployment("f3")["vis"][0]["pid"], pid)
        op = d.ok("DELETE", "/v0/deployments/f3", expect=(202,))
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        self.assertFalse(pid_alive(pid))

    def test_manager_killed_adopts_the_vis_at_the_agent(self):
        """The manager killed -9 and started again while its agent keeps running: the
        agent dials in again, the VNF it runs is adopted (same pid), not made anew, and
        what the agent has without a record is swept."""
        d = self.d
        self.start_agent()
        wait_for(self.connected, 30, 0.1, "the agent connected")
        d.onboard(demo("demo-far"))
        d.deploy("f4", "demo-far", site="far")
        pid = d.deployment("f4")["vis"][0]["pid"]
        d.kill9()
        # and a VI the agent has that the manager's store does not know (a crash between
        # the VIM's create and the record): swept once the agent is back
        orphan = "vnfm-%s-0a1b2c3d4e" % self.agent_tag()
        sh("ip", "netns", "add", orphan)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", orphan], capture_output=True)
        d.start()
        wait_for(self.connected, 30, 0.1, "the agent connected again")
        wait_for(lambda: orphan not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                      text=True).stdout, 30, 0.2,
                 "the orphan swept")
        # the event follows the worker's destroy, on the manager's loop
        wait_for(lambda: "VI 0a1b2c3d4e existed on the VIM without a record: destroyed"
                 in d.log(), 10, 0.1, "the orphan's event")
        time.sleep(3)  # the adoption and a monitoring round
        dep = d.deployment("f4")
        self.assertEqual(dep["status"], "active", dep)
        self.assertEqual(dep["vis"][0]["pid"], pid)
        self.assertTrue(pid_alive(pid))
        # and it is still watched: killed, healed through the agent
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: (lambda f: not f.get("operation") and f.get("vis") and
                          f["vis"][0]["pid"] != pid and pid_alive(f["vis"][0]["pid"]))(
            d.deployment("f4")), 60, 0.2, "f4 healed after the restart, its heal ended")
        op = d.ok("DELETE", "/v0/deployments/f4", expect=(202,))
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")


if __name__ == "__main__":
    unittest.main()
