"""Health codes of Table 5 (F9), each reached through its real cause."""
import glob
import os
import sqlite3
import subprocess
import time
import unittest

from vnfm import Daemon, DaemonTest, wait_for


def health(d):
    status, doc, _ = d.get("/v0/health", token=None)
    return status, doc


class HealthFaultTest(DaemonTest):
    daemon_args = ("--enable-fault-injection", "--vim-watchdog-s", "1")

    def wait_code(self, code, timeout=15):
        return wait_for(lambda: health(self.d)[1]["code"] == code and health(self.d), timeout,
                        0.2, "health %d" % code)

    def fault(self, name, seconds=4):
        return self.d.ok("POST", "/v0/debug/faults", {"fault": name, "seconds": seconds})

    def test_1_ok(self):
        status, doc = health(self.d)
        self.assertEqual((status, doc["code"]), (200, 2000))
        self.assertEqual(doc["services"]["vnfm"], "running")

    def test_2_loop_stall_is_5010_then_recovers(self):
        t0 = time.monotonic()
        self.fault("loop-stall", 8)
        # answered before the stall (it answered after it, and a loaded run then
        # missed the moment the loop was seen stalled)
        self.assertLess(time.monotonic() - t0, 4)
        status, doc = self.wait_code(5010)
        self.assertEqual(status, 503)
        self.assertEqual(doc["message"], "VNF manager service, VNF manager not running.")
        self.wait_code(2000, 20)

    def test_3_vim_stall_is_5040_then_recovers(self):
        self.fault("vim-stall", 5)
        status, doc = self.wait_code(5040)
        self.assertEqual(doc["message"], "VNF manager service, VIM manager not running.")
        self.wait_code(2000, 20)

    def test_4_fault_injection_needs_admin(self):
        tenant_tok = self.d.ok("POST", "/v0/tenants/default/tokens")["token"]
        self.assertEqual(self.d.post("/v0/debug/faults", {"fault": "loop-stall"},
                                     token=tenant_tok)[0], 403)
        self.assertEqual(self.d.post("/v0/debug/faults", {"fault": "reboot"})[0], 400)

    def test_5_monitor_stall_is_5030_then_recovers(self):
        """The monitor registers itself as a service: its scheduler's loop
        blocked is the health monitoring service not running."""
        self.fault("monitor-stall", 8)
        status, doc = self.wait_code(5030)
        self.assertEqual(status, 503)
        self.assertEqual(doc["services"]["monitor"], "not running")
        self.assertEqual(doc["services"]["health"], "running")
        self.wait_code(2000, 20)

    def test_6_faults_are_those_of_the_services(self):
        status, doc, _ = self.d.post("/v0/debug/faults", {"fault": "reboot"})
        self.assertEqual((status, doc["field"]), (400, "fault"))
        for name in ("loop-stall", "vim-stall", "health-thread", "monitor-stall",
                     "netconf-thread"):
            self.assertIn(name, doc["message"])
        self.assertEqual(self.d.post("/v0/debug/faults", {"fault": "netconf-thread"})[0], 409)
        services = health(self.d)[1]["services"]
        want = {"vnfm": "running", "rest": "running", "health": "running", "vim": "running",
                "netconf": "disabled", "configuration": "running", "monitor": "running"}
        if self.d.store:  # on etcd (STORE=etcd), the store is a service of its own
            want["store"] = "running"
        self.assertEqual(services, want)

    def test_9_health_thread_down_is_5030(self):
        self.fault("health-thread")
        status, doc = self.wait_code(5030)
        self.assertEqual(status, 503)
        self.assertEqual(doc["services"]["health"], "not running")


class HealthVimTest(unittest.TestCase):

    def test_fault_injection_off_by_default(self):
        d = Daemon().start()
        try:
            self.assertEqual(d.post("/v0/debug/faults", {"fault": "loop-stall"})[0], 403)
        finally:
            d.cleanup()

    def test_vim_unreachable_is_2020(self):
        d = Daemon().start()
        try:
            subprocess.run(["ip", "link", "delete", d.bridge()], check=True)
            doc = wait_for(lambda: health(d)[1]["code"] == 2020 and health(d)[1], 15, 0.2,
                           "health 2020")
            self.assertEqual(doc["vims"][0]["health"], "unreachable")
            self.assertIn("bridge", doc["vims"][0]["message"])
            site = d.get("/v0/sites/local")[1]
            self.assertEqual(site["vim"]["health"], "unreachable")
            logs = d.get("/v0/logs?category=vim")[1]["logs"]
            self.assertTrue(any(l["event"] == "health" for l in logs))
            d.stop()
            d.restart()  # opening the site makes its bridge again
            wait_for(lambda: health(d)[1]["code"] == 2000, 15, 0.2, "health 2000 again")
        finally:
            d.cleanup()

    def test_subnet_of_another_manager(self):
        """A site whose subnet another manager's bridge holds reports 2020
        naming that manager and the remedy, leaves nothing on the host, and
        opens once the other manager has stopped (its bridge goes with it:
        issue 10 finding 11)."""
        a = Daemon().start()
        b = Daemon(subnet=a.subnet)
        try:
            b.start()
            doc = health(b)[1]
            self.assertEqual(doc["code"], 2020, doc)
            msg = doc["vims"][0]["message"]
            self.assertIn("vnfm instance " + a.tag, msg)
            self.assertIn("vnfmd --cleanup " + a.tag, msg)
            self.assertEqual(glob.glob("/sys/fs/cgroup/*/vnfm/" + b.tag), [])
            a.cleanup()  # a clean stop with no VI: its bridge goes
            self.assertFalse(a.has_bridge())
            wait_for(lambda: health(b)[1]["code"] == 2000, 15, 0.2, "the site opened")
            b.onboard("demo-web")
            b.deploy("after", "demo-web")
        finally:
            a.cleanup()
            b.cleanup()

    def test_no_vim_credentials_is_2030(self):
        """Without CAP_NET_ADMIN and CAP_SYS_ADMIN the proc VIM cannot act for
        us: the manager runs, reports 2030, and refuses deploys clearly."""
        d = Daemon()
        drop = ["setpriv", "--inh-caps=-net_admin,-sys_admin",
                "--bounding-set=-net_admin,-sys_admin", "--"]
        orig = d.args
        d.args = lambda: drop + orig()
        try:
            d.start()
            status, doc = health(d)
            self.assertEqual((status, doc["code"]), (200, 2030), doc)
            self.assertEqual(doc["message"], "Services running but VIM credentials not provided.")
            d.onboard("demo-web")
            resp = d.post("/v0/deployments", {"name": "x", "vnfd": "demo-web"})
            self.assertEqual(resp[0], 503, resp)
            self.assertEqual(resp[1]["field"], "site")
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()


class StartupTest(unittest.TestCase):

    def test_port_in_use_is_a_clear_error(self):
        """A second manager on a port that is taken says so and exits; it
        used to crash on the way out (its monitor read the event bus after
        unsubscribing)."""
        first = Daemon().start()
        second = Daemon(subnet=None)
        second.port = first.port
        try:
            env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1",
                       UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
            out = subprocess.run(second.args(), capture_output=True, text=True, env=env,
                                 timeout=30)
            self.assertEqual(out.returncode, 1, out.stderr[-3000:])
            self.assertIn("cannot listen on 127.0.0.1:%d" % first.port, out.stderr)
            for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error"):
                self.assertNotIn(marker, out.stderr)
            self.assertEqual(health(first)[0], 200)  # the first one is untouched
        finally:
            first.cleanup()
            db = os.path.join(second.dir, "vnfm.db")
            if os.path.exists(db):  # the site bridge it made before it gave up
                with sqlite3.connect(db) as conn:
                    row = conn.execute("SELECT value FROM meta WHERE key = 'instance_tag'")
                    second.tag = (row.fetchone() or [None])[0]
                second.purge_host()
            second.forget()
