"""Several active cloud VNFMs share the branches (docs/HA.md "Several active cloud VNFMs",
issue 14): three cloud VNFMs on one 3-member etcd on loopback, four branch managers (simulated
VIM). Each branch site is owned by exactly one cloud VNFM (a key PREFIX/ha/owners/SITE on
its lease, chosen by rendezvous hashing over the live members); a branch's channel and
reports that reach another cloud VNFM are sent to the owner (307), and an owner that is not
the primary forwards them to the primary, which stays the single writer. kill -9 of a cloud
VNFM: its sites move to the others within its lease, and the branches keep reporting.

A poller reads every cloud VNFM's view (GET /v0/health "ha.sites") over the whole run and
asserts that no two ever served one site at once: a VNFM that said it owns a site with a
key of create revision R before and after another one said it owns that site (R is unique
to one acquisition: a key given away and taken again has a new revision) is a double. Nor
may an answer lag its member: after a member logged an acquisition, its next answer names
the site (a health document kept from before, CI60, once hid a give-away that way)."""
import base64
import calendar
import glob
import json
import os
import random
import re
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from test_deploy import demo
from test_fed import Pki, branch
from vnfm import Daemon, Etcd, b64, cmdline, etcd_call, http_get, slurp, unique_subnet, wait_for

TOKEN = "share-test-admin-token-0123456789"
LEASE_MS = 4000
SITES = 4  # branch sites at first; more join until a standby serves one


def score(site, member):
    """src/ha/share.c score(): FNV-1a of SITE/MEMBER, then splitmix64's finaliser."""
    m = (1 << 64) - 1
    h = 0xcbf29ce484222325
    for ch in (site + "/" + member).encode():
        h = ((h ^ ch) * 0x100000001b3) & m
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & m
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & m
    return h ^ (h >> 31)


def choose(site, members):
    """The member that rendezvous hashing gives site (share.c choose())."""
    return min(members, key=lambda x: (-score(site, x), x))


def instance_cgroups(pid):
    """The cgroup dirs of manager VIs (vnfm/TAG/mgr-XXXXXX) whose cgroup.procs hold pid."""
    return sorted({os.path.dirname(p) for p in glob.glob("/sys/fs/cgroup/*/vnfm/*/mgr-*/"
                                                         "cgroup.procs") +
                   glob.glob("/sys/fs/cgroup/vnfm/*/mgr-*/cgroup.procs")
                   if str(pid) in slurp(p).split()})[:1]


def threads(pid):
    """The names of the threads of process pid."""
    out = []
    for t in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
            out.append(f.read().strip())
    return out


def owner_keys(etcd, prefix):
    """{site: member id} of the ownership keys in etcd."""
    key = "%s/ha/owners/" % prefix
    end = key[:-1] + chr(ord(key[-1]) + 1)
    for ep in etcd.endpoints.split(","):
        try:
            kvs = etcd_call(ep, "/v3/kv/range", {"key": b64(key), "range_end": b64(end)})
            break
        except OSError:
            continue
    out = {}
    for kv in kvs.get("kvs", []):
        import json
        out[base64.b64decode(kv["key"]).decode()[len(key):]] = json.loads(
            base64.b64decode(kv["value"]).decode())["id"]
    return out


class Poller(threading.Thread):
    """Asks every cloud VNFM which sites it serves, one after the other, for as long as it
    runs; keeps (sent, received, manager, {site: revision}) of each answer."""

    def __init__(self, clouds):
        super().__init__(daemon=True)
        self.clouds = clouds
        self.samples = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for i, c in enumerate(self.clouds):
                if not c.proc or c.proc.poll() is not None:
                    continue
                sent = time.time()
                try:
                    ha = c.request("GET", "/v0/health", token=None)[1].get("ha", {})
                except OSError:
                    continue
                owns = ha.get("sites", {}).get("owns", {})
                self.samples.append((sent, time.time(), i, dict(owns)))
            time.sleep(0.02)

    def doubles(self):
        """Sites two managers served at once, as the samples prove it: a manager that said
        it served a site with key revision R in answers received at t1 and sent at t3 held
        it throughout (R is that one acquisition's); another that said it served the site in
        an answer sent after t1 and received before t3 served it meanwhile too."""
        held = {}  # (manager, site, rev) -> [first received, last sent]
        for sent, recv, i, owns in self.samples:
            for site, rev in owns.items():
                span = held.setdefault((i, site, rev), [recv, sent])
                span[0], span[1] = min(span[0], recv), max(span[1], sent)
        found = []
        for sent, recv, i, owns in self.samples:
            for site, rev in owns.items():
                found += [(site, a, i, r, rev) for (a, s, r), (lo, hi) in held.items()
                          if s == site and a != i and sent > lo and recv < hi]
        return found

    def around(self, found):
        """Every sample from 1 s before the first answer that names a (site, revision) of
        found to 1 s after the last one, with those sites only, as lines to read (ms from
        the first sample)."""
        sites = {f[0] for f in found}
        keys = {(f[0], f[3]) for f in found} | {(f[0], f[4]) for f in found}
        at = [t for sent, recv, i, owns in self.samples for t in (sent, recv)
              if any((s, r) in keys for s, r in owns.items())]
        t0 = self.samples[0][0] if self.samples else 0
        return "\n".join("%9.1f %9.1f  manager %d  %s" % ((sent - t0) * 1000, (recv - t0) * 1000,
                                                        i, {s: r for s, r in owns.items()
                                                            if s in sites})
                         for sent, recv, i, owns in self.samples
                         if at and min(at) - 1 <= sent <= max(at) + 1)

    def late(self, log):
        """Acquisitions an answer did not show yet: after the log's line "acquired site S
        (key revision R)" at t, the first answer of the member that held R (the one whose
        answers named it) sent after t must name S, unless a site was given away, released
        or lost meanwhile (the class's members share one log: those lines are not told
        apart). [(site, rev, manager, ms after t)]"""
        events = []
        for line in log.splitlines():
            m = re.match(r"(\S+)Z \S+ +ha: (acquired site|giving site|released site|site|"
                         r"this member holds no) (\S+)(?: .*\(key revision (\d+)\))?", line)
            if m:
                t = calendar.timegm(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S"))
                events.append((t + float("0" + m.group(1)[19:]), m.group(2), m.group(3),
                               int(m.group(4) or 0)))
        holder = {(s, r): i for _, _, i, owns in self.samples for s, r in owns.items()}
        found = []
        for t, what, site, rev in events:
            i = holder.get((site, rev))
            if what != "acquired site" or i is None:
                continue
            after = [(sent, owns) for sent, _, j, owns in self.samples
                     if j == i and sent > t + 0.002]
            if not after:
                continue
            sent, owns = after[0]
            if owns.get(site) != rev and not any(
                    t < t2 <= sent and w != "acquired site" for t2, w, _, _ in events):
                found.append((site, rev, i, round((sent - t) * 1000)))
        return found

    def assert_none(self, test, log):
        """No double, and no answer behind its member's acquisitions (an answer kept from
        before them would hide a double)."""
        found = self.doubles()
        test.assertEqual(found, [], "samples naming those sites (sent, received):\n" +
                         self.around(found))
        test.assertEqual(self.late(log), [])


class Writer(threading.Thread):
    """Creates tenants on a branch manager, one after the other, for as long as it runs:
    events that its reports must bring to the cloud, whoever serves its site."""

    def __init__(self, branch):
        super().__init__(daemon=True)
        self.branch = branch
        self.n = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.branch.ok("POST", "/v0/tenants", {"id": "w%d" % self.n}, expect=(201,))
                self.n += 1
            except (OSError, AssertionError):
                pass
            time.sleep(0.05)


class CloudShareTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.etcd = Etcd(3)
        cls.data = tempfile.mkdtemp(prefix="vnfm-bb-share-")

    @classmethod
    def tearDownClass(cls):
        cls.etcd.stop()
        subprocess.run(["rm", "-rf", cls.data, cls.data + "-package-scripts"])

    def setUp(self):
        self.prefix = "share%d" % random.randint(0, 1 << 30)
        store = "etcd://%s/%s" % (self.etcd.endpoints, self.prefix)
        self.clouds = [Daemon("--ha-lease-ms", str(LEASE_MS), "--site-driver", "sim",
                              "--fed-report-interval-ms", "300", role="cloud", site="cloud",
                              store=store, data=self.data, token=TOKEN) for _ in range(3)]
        self.clouds[0].start()
        for c in self.clouds[1:]:
            c.start(primary=False)
        self.urls = ",".join(c.url for c in self.clouds)
        self.branches = []
        self.sites = []
        self.poller = None

    def tearDown(self):
        if self.poller:
            self.poller.stop.set()
            self.poller.join(10)
        for b in self.branches:
            b.cleanup()
        errors = []
        for c in self.clouds:  # every one stops, whatever the others did
            try:
                if c.proc and c.proc.poll() is None:
                    c.stop()
                c.check_sanitizers()
            except AssertionError as e:
                errors.append(e)
                if c.proc and c.proc.poll() is None:
                    c.kill9()
        for c in self.clouds:
            c.forget()
        if errors:
            raise errors[0]

    def primary(self):
        """The live primary (waiting while one is being elected)."""
        return wait_for(lambda: next((c for c in self.clouds if c.proc and c.proc.poll() is None
                                      and c.ha_state() == "primary"), None), 30,
                        what="a primary")

    def join(self, site):
        tok = self.primary().ok("POST", "/v0/join-tokens", {"site": site}, expect=(201,))["token"]
        b = Daemon("--cloud-url", self.urls, "--fed-insecure", "--join-token", tok,
                   "--site-driver", "sim", "--fed-report-interval-ms", "300", role="local",
                   site=site)
        self.branches.append(b)
        self.sites.append(site)
        return b.start()

    def views(self, skip=()):
        """{site: [index of each cloud VNFM that says it serves it]} of the live ones (but
        those of skip)."""
        out = {}
        for i, c in enumerate(self.clouds):
            if not c.proc or c.proc.poll() is not None or i in skip:
                continue
            ha = c.request("GET", "/v0/health", token=None)[1]["ha"]
            for site in ha["sites"]["owns"]:
                out.setdefault(site, []).append(i)
        return out

    def each_site_once(self, live, skip=()):
        v = self.views(skip)
        return v if (sorted(v) == sorted(self.sites) and all(len(x) == 1 and x[0] in live
                                                        for x in v.values())) else None

    def reports(self, site):
        m = [m for m in self.primary().get("/v0/managers")[1]["managers"] if m["site"] == site]
        return m[0].get("reports", 0) if m else 0

    def events_on_cloud(self, branch):
        """The seqs of branch's config events: at the branch, and as the cloud stored them."""
        mine = [r["seq"] for r in branch.get("/v0/logs?category=config&limit=10000")[1]["logs"]]
        theirs = [r["branch_seq"] for r in
                  self.primary().get("/v0/logs?category=config&limit=10000")[1]["logs"]
                  if r.get("site") == branch.site and "branch_seq" in r]
        return mine, theirs

    def deploy_at(self, site, name):
        """A deploy through the cloud at a branch: an instruction on the branch's channel
        (relayed by its site's owner), the cloud's operation following the branch's."""
        p = self.primary()
        op = p.ok("POST", "/v0/deployments", {"name": name, "vnfd": "share-sim", "site": site},
                  expect=(202,))
        done = p.wait_op(op["id"], timeout=60)
        self.assertEqual(done["state"], "completed", done)

    def shared(self, kill_primary):
        """Branches join; every site is served once; the cloud VNFM chosen dies (the
        primary, or the standby that serves the most sites): its sites move, nothing the
        branches reported is lost, instructions reach them through their new owner."""
        for i in range(SITES):
            self.join("b%d" % (i + 1))
        self.poller = Poller(self.clouds)
        self.poller.start()
        views = wait_for(lambda: self.each_site_once({0, 1, 2}), 30,
                         what="every site served by exactly one cloud VNFM")
        while all(x == [0] for x in views.values()) and len(self.sites) < 12:
            self.join("b%d" % (len(self.sites) + 1))  # (1/3)^4 of the runs
            views = wait_for(lambda: self.each_site_once({0, 1, 2}), 30,
                             what="every site served by exactly one cloud VNFM")
        self.primary().onboard(demo("share-sim"))
        # a branch whose site a standby serves talks to that one (a 307 sent it there)
        p = self.clouds.index(self.primary())
        for site, (i,) in views.items():
            if i != p:
                b = next(b for b in self.branches if b.site == site)
                wait_for(lambda: "talking to the cloud VNFM at %s now" % self.clouds[i].url
                         in b.log(), 30, what="branch %s talking to its owner" % site)
                self.deploy_at(site, "d-" + site)
        # the channels an owner relays to the primary share one thread (none yet where the
        # branch's channel still goes to the primary: CI54)
        for i in {i for (i,) in views.values()} - {p}:
            self.assertLessEqual(threads(self.clouds[i].proc.pid).count("fed-relays"), 1,
                                 threads(self.clouds[i].proc.pid))
        keys = owner_keys(self.etcd, self.prefix)
        self.assertEqual(sorted(keys), sorted(self.sites))
        ids = {}
        for i, c in enumerate(self.clouds):
            ids[i] = c.request("GET", "/v0/health", token=None)[1]["ha"]["sites"]["self"]
        for site, (i,) in views.items():
            self.assertEqual(keys[site], ids[i], (site, keys, ids))
        # vnfmctl health on any of them says who serves what
        out = self.clouds[(p + 1) % 3].ctl("health")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("SERVED BY", out.stdout)
        for site, (i,) in views.items():
            self.assertRegex(out.stdout, r"(?m)^%s\s+%s" % (site, self.clouds[i].url))
        # every branch reports, whoever owns it
        before = {s: self.reports(s) for s in self.sites}
        wait_for(lambda: all(self.reports(s) > before[s] + 2 for s in self.sites), 30,
                 what="every branch reporting")
        counts = {i: sum(1 for x in views.values() if x == [i]) for i in range(3) if i != p}
        victim = p if kill_primary else max(counts, key=lambda i: (counts[i], i))
        moved = [s for s, x in views.items() if x == [victim]]
        writers = [Writer(b) for b in self.branches]
        for w in writers:
            w.start()
        wait_for(lambda: all(w.n >= 5 for w in writers), 30, what="tenants at the branches")
        killed, mark = time.time(), len(self.clouds[p].log())  # the members share one log
        self.clouds[victim].kill9()
        live = {0, 1, 2} - {victim}
        if not kill_primary:  # HA peer not reachable, for a lease's time after the revoke
            wait_for(lambda: "its lease was revoked" in (lambda h: h["ha"].get("peer") or "" if
                     h["code"] == 2010 else "")(self.clouds[p].request(
                         "GET", "/v0/health", token=None)[1]), 10, 0.05,
                     what="2010 on the primary, the lease revoked")
        wait_for(lambda: self.each_site_once(live), LEASE_MS / 1000 * 3 + 20,
                 what="the sites of the killed VNFM served by the others")
        print("sites %s moved in %.1f s after kill -9 (lease %d ms)"
              % (moved, time.time() - killed, LEASE_MS))
        if not kill_primary:  # the primary did not wait for the silent member's lease
            self.assertIn("ha: member %s misses its heartbeats: revoking its lease" % ids[victim],
                          self.clouds[p].log())
        # nothing listens at a killed member's heartbeat address: its sites were given away
        # on its behalf before its lease was revoked, and taken at once (not 3/4 of a lease
        # after, as those of a member that may still run: test_stop_a_standby...)
        log = self.clouds[p].log()[mark:]
        if moved:
            self.assertRegex(log, r"ha: %s is not running \(nothing listens at its heartbeat "
                             r"address\): [1-9]\d* of its sites given away on its behalf"
                             % ids[victim])
        for s_ in moved:
            self.assertNotIn("ha: the key of site %s went without member" % s_, log)
        # and their branches keep reporting (to the primary, through their new owner)
        before = {s: self.reports(s) for s in self.sites}
        wait_for(lambda: all(self.reports(s) > before[s] + 2 for s in self.sites), 60,
                 what="every branch reporting after the kill")
        for w in writers:
            w.stop.set()
            w.join(10)
        # every event of every branch on the cloud, once
        for b in self.branches:
            wait_for(lambda: (lambda m, t: len(t) >= len(m))(*self.events_on_cloud(b)), 30,
                     what="the events of %s on the cloud" % b.site)
            mine, theirs = self.events_on_cloud(b)
            self.assertEqual(sorted(theirs), sorted(mine), b.site)
        # instructions reach a moved branch through its new owner
        for site in moved:
            self.deploy_at(site, "after-" + site)
        # a member joins (the killed one again, a new member): it takes the sites it wins
        # from their owners, which give them away without a report refused on the way
        logs = {b.site: len(b.log()) for b in self.branches}
        self.clouds[victim].start(primary=False)
        views = wait_for(lambda: self.each_site_once({0, 1, 2}), 30,
                         what="every site served once with the new member")
        for s_ in [s_ for s_, x in views.items() if x == [victim]]:
            b = next(b for b in self.branches if b.site == s_)
            wait_for(lambda: "talking to the cloud VNFM at %s now" % self.clouds[victim].url
                     in b.log()[logs[s_]:], 30, what="branch %s at the new member" % s_)
        time.sleep(1)
        for b in self.branches:
            self.assertNotIn("cloud-unreachable", b.log()[logs[b.site]:], b.site)
        self.poller.stop.set()
        self.poller.join(10)
        self.assertGreater(len(self.poller.samples), 50)
        self.poller.assert_none(self, self.clouds[0].log())

    def test_kill_a_standby_that_serves_sites(self):
        self.shared(kill_primary=False)

    def test_kill_the_primary(self):
        self.shared(kill_primary=True)

    def test_stop_a_standby_that_serves_sites(self):
        """A standby that serves sites stopped (SIGSTOP) until the primary revoked its
        lease and the others took its sites, then resumed: it never says it serves a site
        another one serves. It believes it serves its sites for 3/4 of its lease's TTL
        after its last renewal; the others take a site whose key went without being given
        away only that long after. (Before, a resumed member answered with the sites of
        its revoked lease until its watch or its renewal told it.)"""
        for i in range(SITES):
            self.join("b%d" % (i + 1))
        views = wait_for(lambda: self.each_site_once({0, 1, 2}), 30,
                         what="every site served by exactly one cloud VNFM")
        p = self.clouds.index(self.primary())
        while all(x == [p] for x in views.values()) and len(self.sites) < 12:
            self.join("b%d" % (len(self.sites) + 1))
            views = wait_for(lambda: self.each_site_once({0, 1, 2}), 30,
                             what="every site served by exactly one cloud VNFM")
        self.poller = Poller(self.clouds)
        self.poller.start()
        counts = {i: sum(1 for x in views.values() if x == [i]) for i in range(3) if i != p}
        victim = max(counts, key=lambda i: (counts[i], i))
        moved = {s for s, x in views.items() if x == [victim]}
        vid = self.clouds[victim].request("GET", "/v0/health", token=None)[1]["ha"]["sites"][
            "self"]
        pid, live, answer = self.clouds[victim].proc.pid, {0, 1, 2} - {victim}, {}
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_for(lambda: "ha: member %s misses its heartbeats: revoking its lease" % vid
                     in self.clouds[p].log(), 20, 0.05, what="the lease revoked")
            revoked = time.time()
            wait_for(lambda: self.each_site_once(live, skip={victim}), LEASE_MS / 1000 * 3,
                     what="its sites served by the others")
            took = time.time() - revoked
            # asked now, it answers once it runs again
            asked = threading.Thread(target=lambda: answer.update(self.clouds[victim].request(
                "GET", "/v0/health", token=None)[1]["ha"]["sites"]))
            asked.start()
            time.sleep(0.3)
        finally:
            mark = len(self.clouds[victim].log())  # the class's members share one log file
            os.kill(pid, signal.SIGCONT)
        asked.join(30)
        self.assertEqual(set(answer["owns"]) & moved, set(), answer)
        print("sites %s served by the others %.1f s after the revoke (lease %d ms)"
              % (sorted(moved), took, LEASE_MS))
        self.assertGreater(took, LEASE_MS * 3 / 4 / 1000 - 0.5)
        logs = "".join(self.clouds[i].log() for i in live)
        for s_ in moved:
            self.assertIn("ha: the key of site %s went without member %s giving it away"
                          % (s_, vid), logs)
        # it joins again with a new lease and serves its share; its own stop is not held
        # against the primary (it revoked the primary's lease on waking, once: a failover
        # for nothing)
        wait_for(lambda: self.each_site_once({0, 1, 2}), 30,
                 what="every site served once with the member back")
        self.assertEqual(self.clouds.index(self.primary()), p)
        log = self.clouds[victim].log()[mark:]
        self.assertRegex(log, r"ha: this manager did not run for \d+ ms \(stopped, or starved "
                         r"of CPU\): the others' silence meanwhile is not held against them")
        self.assertNotRegex(log, r"ha: the primary \S+ misses its heartbeats: revoking its lease")
        self.poller.stop.set()
        self.poller.join(40)
        self.poller.assert_none(self, self.clouds[0].log())



class ScaleTest(unittest.TestCase):
    """The cloud VNFM scales itself (docs/HA.md "Self scale-out and scale-in"): one cloud
    VNFM on etcd that may grow to two; branch reports over its threshold start a second,
    which takes a share of the sites; when the branches stop, it is stopped again. Both
    are decisions with their inputs."""

    @classmethod
    def setUpClass(cls):
        cls.etcd = Etcd(3)
        cls.data = tempfile.mkdtemp(prefix="vnfm-bb-scale-")

    @classmethod
    def tearDownClass(cls):
        cls.etcd.stop()
        subprocess.run(["rm", "-rf", cls.data, cls.data + "-package-scripts"])

    # what each test judges the cloud VNFM by
    RPS = ("--cloud-scale-out-rps", "6", "--cloud-scale-in-rps", "1")
    MEASURES = {"test_scale_out_on_its_cpu": ("--cloud-scale-out-cpu", "0.001"),
                "test_no_room_for_another": ("--cloud-scale-out-cpu", "0.001",
                                             "--cloud-scale-vcpu", "1000"),
                "test_scale_out_under_reports_and_in_when_they_stop": RPS,
                "test_kill9_while_it_starts_an_instance": RPS,
                # its standby notices a dead primary long after the test's standby does
                "test_a_new_primary_adopts_the_instance": RPS + (
                    "--cloud-scale-max", "3", "--ha-heartbeat-ms", "1000", "--ha-dead-ms",
                    "4000")}

    def setUp(self):
        self.store = "etcd://%s/scale%d" % (self.etcd.endpoints, random.randint(0, 1 << 30))
        self.subnet = unique_subnet()  # the cloud site's, which the members share
        self.cloud = self.member(*self.MEASURES[self._testMethodName]).start()
        self.branches = []
        self.pids = []

    def member(self, *extra):
        # the instances are manager VIs of the cloud site's VIM: the process VIM
        return Daemon("--ha-lease-ms", str(LEASE_MS), "--fed-report-interval-ms", "300",
                      "--cloud-scale-max", "2", "--cloud-scale-for-s", "2", *extra,
                      role="cloud", site="cloud", subnet=self.subnet, store=self.store,
                      data=self.data, token=TOKEN)

    def tearDown(self):
        for b in self.branches:
            b.cleanup()
        for pid in self.pids:  # an instance it started and did not stop
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in self.pids:
            wait_for(lambda: not cmdline(pid), 20, 0.1, what="instance %d gone" % pid)
        if self.cloud.proc and self.cloud.proc.poll() is None:
            self.cloud.stop()
        self.cloud.check_sanitizers()
        # instances the test did not follow (one started by an instance that was the
        # primary for a while, then stepped down and runs again as a standby) go too
        others = [int(p) for f in glob.glob("/sys/fs/cgroup/pids/vnfm/*/mgr-*/cgroup.procs")
                  for p in slurp(f).split() if self.data in cmdline(int(p))]
        for pid in others:
            print("\nstopping instance %d, left by the test's cluster" % pid)
            os.kill(pid, signal.SIGTERM)
        for pid in others:
            wait_for(lambda: not cmdline(pid), 20, 0.1, what="instance %d gone" % pid)
        # what the members made on the host: the VIs of the instances that ended (of a
        # primary killed, those it left), the cloud site's bridge
        self.cloud.purge_host()
        self.cloud.forget()

    def decisions(self, action, cloud=None):
        return [d for d in (cloud or self.cloud).get("/v0/decisions?limit=100")[1]["decisions"]
                if d.get("rule") == "cloud-vnfm" and d.get("action") == action]

    def join(self, n):
        for i in range(len(self.branches), len(self.branches) + n):
            tok = self.cloud.ok("POST", "/v0/join-tokens", {"site": "s%d" % i},
                                expect=(201,))["token"]
            b = Daemon("--cloud-url", self.cloud.url, "--fed-insecure", "--join-token", tok,
                       "--site-driver", "sim", "--fed-report-interval-ms", "300",
                       role="local", site="s%d" % i)
            self.branches.append(b)
            b.start()

    def test_scale_out_under_reports_and_in_when_they_stop(self):
        self.join(4)
        # 4 branches, a report every 0.3 s each: about 13 reports/s, over 6
        out = wait_for(lambda: [d for d in self.decisions("scale_out")
                                if d["state"] == "completed"], 90, 0.2,
                       what="a scale out completed")[0]
        self.pids.append(out["instance"]["pid"])
        self.assertGreater(out["inputs"]["reports_per_s"], 6)
        self.assertRegex(out["reason"], r"^reports_per_s [0-9.]+ over 6 for 2 s")
        self.assertEqual(out["inputs"]["thresholds"], {"reports_per_s": {"out": 6, "in": 1}})
        self.assertIn("joined the cluster", out["result"])
        self.assertEqual((out["inputs"]["members"], out["inputs"]["max"]), (1, 2))
        url = out["instance"]["url"]
        # a manager VI of the cloud site's VIM, with its limits (the cgroups of the
        # process VIM), held in the cloud site's allocation
        [cg] = instance_cgroups(out["instance"]["pid"])
        vi = os.path.basename(cg)
        self.assertRegex(out["reason"], r"another cloud VNFM at %s \(VI %s of site cloud\)" %
                         (re.escape(url), vi))
        self.assertEqual(os.path.basename(os.path.dirname(cg)), self.cloud.tag)
        quota = glob.glob("/sys/fs/cgroup/cpu/vnfm/*/%s/cpu.cfs_quota_us" % vi)
        if quota:
            self.assertEqual(slurp(quota[0]).strip(), "100000")  # 1 vCPU, the default
        site = self.cloud.get("/v0/sites/cloud")[1]
        self.assertEqual(site["reserved"], {"vcpu": 1, "memory_mb": 512, "managers": 1})
        # the site's view shows it among its VIM's manager VIs
        [mvi] = site["manager_vis"]
        self.assertEqual((mvi["id"], mvi["processes"]), (vi, 1), site)
        self.assertGreater(mvi["memory_bytes"], 0)
        shown = self.cloud.ctl("site", "show", "cloud")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertRegex(shown.stdout, r"manager_vis: +\[.*%s" % vi)
        self.assertRegex(shown.stdout, r"reserved: +vcpu=1 memory_mb=512 managers=1")
        # the cluster's instances, as the store keeps them (any member answers), and who
        # leads: the API and vnfmctl
        [inst] = [i for i in self.cloud.ok("GET", "/v0/vnfm/instances")["instances"]
                  if i["url"] == url]
        self.assertEqual((inst["pid"], inst["vi"], inst["joined"], inst["decision"]),
                         (out["instance"]["pid"], vi, True, out["id"]), inst)
        self.assertNotIn("ref", inst)
        shown = self.cloud.ctl("instances")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertRegex(shown.stdout, r"%s +%d +%s .* yes .*%s" % (
            re.escape(url), out["instance"]["pid"], vi, out["id"]))
        # (the primary's view of its peers follows their heartbeats: a moment after the join)
        ha = r"HA: primary of a cluster of 2 member\(s\); primary %s; peer reachable, store " \
             r"reachable" % re.escape(self.cloud.url)
        wait_for(lambda: re.search(ha, self.cloud.ctl("health").stdout), 10, 0.2,
                 what="vnfmctl health's HA line")
        self.assertEqual(self.cloud.get("/v0/vnfm/instances", token=None)[0], 401)
        # the new one serves its share of the sites: those rendezvous hashing gives it (with
        # 4 sites it gets none in 1 run of 16: then more branches join until it has one)
        members = [self.cloud.request("GET", "/v0/health", token=None)[1]["ha"]["sites"]
                   ["self"], json.loads(http_get(url + "/v0/health")[1])["ha"]["sites"]["self"]]
        while not [b for b in self.branches if choose(b.site, members) == members[1]]:
            self.join(1)
        share = sorted(b.site for b in self.branches if choose(b.site, members) == members[1])
        wait_for(lambda: sorted(site for site, u in self.cloud.request(
            "GET", "/v0/health", token=None)[1]["ha"]["sites"]["owners"].items()
            if u == url) == share, 30, what="sites %s served by the new instance" % share)
        self.assertIn("scale_out", self.cloud.log())
        # the sites moved to it without a report refused or lost on the way: no branch
        # thought the cloud gone (it would take its rules back)
        def owner(site):  # None while the site moves between members
            return self.cloud.request("GET", "/v0/health", token=None)[1]["ha"]["sites"][
                "owners"].get(site)

        for b in self.branches:
            wait_for(lambda: "talking to the cloud VNFM at" in b.log() or owner(b.site) not in (
                url, None), 30, what="branch %s at its owner" % b.site)
            self.assertNotIn("cloud-unreachable", b.log(), b.site)
        # the branches stop: under 1 report/s, the one it started goes
        for b in self.branches:
            b.stop()
        done = wait_for(lambda: [d for d in self.decisions("scale_in")
                                 if d["state"] == "completed"], 60, 0.2,
                        what="a scale in completed")[0]
        self.assertEqual(done["instance"]["pid"], out["instance"]["pid"])
        self.assertLess(done["inputs"]["reports_per_s"], 1)
        self.assertRegex(done["reason"], r"^reports_per_s [0-9.]+ under 1 for 2 s")
        self.assertEqual(done["inputs"]["members"], 2)
        with self.assertRaises(ProcessLookupError):
            os.kill(out["instance"]["pid"], 0)
        self.pids.remove(out["instance"]["pid"])
        wait_for(lambda: not glob.glob(cg), 10, 0.1, what="its cgroup removed")
        # (the job that removed the VI tells the loop after: CI123 read the site between)
        site = wait_for(lambda: (lambda s: s if s["reserved"]["managers"] == 0 else None)(
            self.cloud.get("/v0/sites/cloud")[1]), 10, 0.1, what="its reservation released")
        self.assertNotIn("manager_vis", site)
        # its lease revoked as it left: its keys go (the primary's watch sees it a moment later)
        wait_for(lambda: url not in self.cloud.request("GET", "/v0/health", token=None)[1][
            "ha"]["sites"]["owners"].values(), 5, 0.05, what="its sites gone from the owners")
        # the instance (its log is this one) wrote nothing while it was not the primary,
        # and did not try to: its events went to its log file only
        self.assertNotIn("its store is not fenced", self.cloud.log())
        self.assertIn("component-resized", self.cloud.log())

    def test_a_new_primary_adopts_the_instance(self):
        """The primary that started an instance hangs, then is killed: the standby that
        takes over (after the instance, when that one won the election) adopts the
        instance (kept in the store) and stops it once the load falls."""
        standby = self.member(*self.RPS, "--cloud-scale-max", "3", "--ha-heartbeat-ms", "100",
                              "--ha-dead-ms", "400")

        def stop_standby():
            if standby.proc and standby.proc.poll() is None:
                standby.stop()
            standby.check_sanitizers()
            standby.forget()
        self.addCleanup(stop_standby)
        standby.start(primary=False)
        self.join(4)
        out = wait_for(lambda: [d for d in self.decisions("scale_out")
                                if d["state"] == "completed"], 90, 0.2,
                       what="a scale out completed")[0]
        pid = out["instance"]["pid"]
        self.pids.append(pid)
        self.assertEqual(out["inputs"]["members"], 2)
        # the primary hangs; when the instance wins the election, it hangs too (it keeps
        # its own record for the next primary), so that the standby takes over
        self.cloud.proc.send_signal(signal.SIGSTOP)
        inst = Daemon.__new__(Daemon)
        inst.url, inst.tls = out["instance"]["url"], False
        first = wait_for(lambda: next((d for d in (standby, inst) if d.ha_state() == "primary"),
                                      None), 30, 0.1, what="a new primary")
        print("\nelected after the primary hung: %s" % ("the instance" if first is inst
                                                       else "the standby"))
        if first is inst:
            os.kill(pid, signal.SIGSTOP)
            wait_for(lambda: standby.ha_state() == "primary", 30, 0.1, what="the standby")
            os.kill(pid, signal.SIGCONT)
        self.cloud.kill9()
        wait_for(lambda: "cloud VNFM %s (pid %d), started by an earlier primary, adopted" % (
            out["instance"]["url"], pid) in standby.log(), 30, what="the instance adopted")
        for b in self.branches:
            b.stop()
        done = wait_for(lambda: [d for d in self.decisions("scale_in", standby)
                                 if d["state"] == "completed"], 60, 0.2,
                        what="a scale in completed by the new primary")[0]
        self.assertEqual(done["instance"]["pid"], pid)
        self.assertIn("stopped", done["result"])
        wait_for(lambda: not cmdline(pid), 20, 0.1, what="the instance gone")
        self.pids.remove(pid)

    def test_kill9_while_it_starts_an_instance(self):
        """The primary killed -9 while the instance it starts is not a member yet (its
        decision running), then started again: whichever member is the primary then
        ends the decision (completed once the instance is a member, the instance itself
        when it won the election; failed, its VI removed, when it did not start), and
        every process left in the cluster's manager VIs is that instance, a member."""
        self.join(4)
        running = wait_for(lambda: [d for d in self.decisions("scale_out")
                                    if d["state"] == "running"], 90, 0.02,
                           what="a scale out running")[0]
        self.cloud.kill9()
        self.cloud.start(primary=False)
        try:
            done = wait_for(lambda: next((d for d in self.decisions("scale_out")
                                          if d["id"] == running["id"] and d["state"] != "running"),
                                         None), 90, 0.2, what="the decision ended")
        except AssertionError as e:  # what the members did (the harness shows warnings only)
            url = running.get("instance", {}).get("url", "")
            try:
                inst = http_get(url + "/v0/health")[1]
            except (OSError, ValueError) as x:
                inst = x
            lines = [x for x in self.cloud.log().splitlines()
                     if re.search(r" (ha|fed|vnfm|site cloud|proc VIM|system)\b", x) and
                     "component-resized" not in x and "cloud-unreachable" not in x]
            raise AssertionError("%s\nthe restarted member: %s; the instance at %s: %s\n%s" % (
                e, self.cloud.ha_state(), url, inst, "\n".join(lines[-80:]))) from e
        print("\nafter the kill -9: %s, %s" % (done["state"], done.get("result")))
        pattern = "/sys/fs/cgroup/pids/vnfm/%s/mgr-*" % self.cloud.tag
        if done["state"] == "completed":
            pid = done["instance"]["pid"]
            self.assertGreater(pid, 0, done)  # (a kill of pid 0 would end this test's group)
            self.pids.append(pid)
            url = done["instance"]["url"]
            self.assertIn(url.rsplit("//", 1)[1], cmdline(pid))
            # a member: it answers its health with the cluster's view (once a takeover
            # it won, "promoting", has ended)
            wait_for(lambda: json.loads(http_get(url + "/v0/health")[1])["ha"]["state"] in
                     ("primary", "standby"), 30, 0.1, what="the instance a primary or standby")
            wait_for(lambda: len(glob.glob(pattern)) == 1, 30, 0.2, what="one manager VI")
            [cg] = glob.glob(pattern)
            self.assertEqual(slurp(os.path.join(cg, "cgroup.procs")).split(), [str(pid)])
        else:
            self.assertEqual(done["state"], "failed", done)
            wait_for(lambda: not glob.glob(pattern), 30, 0.2, what="its VI removed")

    def test_no_room_for_another(self):
        """Over its threshold, but its site has no room for an instance of 1,000 vCPU:
        the decision fails and says so."""
        self.join(1)
        d = wait_for(lambda: [d for d in self.decisions("scale_out")
                              if d["state"] == "failed"], 60, 0.2, what="a failed scale out")[0]
        self.assertIn("no room for another cloud VNFM (1000 vCPU, 512 MB)", d["reason"])
        self.assertIn("--cloud-scale-vcpu", d["reason"])
        self.assertEqual(self.cloud.get("/v0/sites/cloud")[1]["reserved"]["managers"], 0)

    def test_scale_out_on_its_cpu(self):
        """Judged by its own CPU alone (any use over 0.1% of a core): it scales out, and
        the decision names the measure; its inputs carry every measure."""
        self.join(2)
        out = wait_for(lambda: [d for d in self.decisions("scale_out")
                                if d["state"] == "completed"], 90, 0.2,
                       what="a scale out completed")[0]
        self.pids.append(out["instance"]["pid"])
        self.assertRegex(out["reason"], r"^cpu [0-9.]+ over 0.001 for 2 s")
        self.assertEqual(out["inputs"]["thresholds"], {"cpu": {"out": 0.001, "in": 0}})
        for k in ("reports_per_s", "cpu", "decisions_per_s", "queue"):
            self.assertIn(k, out["inputs"])
        self.assertGreater(out["inputs"]["cpu"], 0.001)


class TlsClusterTest(unittest.TestCase):
    """Two cloud VNFMs of one cluster serving HTTPS with certificates of a private CA
    (--cluster-ca): the member that owns a branch's site forwards its reports and relays
    its channel to the primary over HTTPS, checking the primary's certificate against
    that CA; the branch checks theirs against it too (--cloud-ca)."""

    @classmethod
    def setUpClass(cls):
        cls.etcd = Etcd(3)
        cls.data = tempfile.mkdtemp(prefix="vnfm-bb-tls-share-")
        cls.pki = Pki()

    @classmethod
    def tearDownClass(cls):
        cls.etcd.stop()
        cls.pki.close()
        subprocess.run(["rm", "-rf", cls.data, cls.data + "-package-scripts"])

    def test_owner_forwards_over_https(self):
        store = "etcd://%s/tls%d" % (self.etcd.endpoints, random.randint(0, 1 << 30))
        clouds = [self.pki.cloud("--ha-lease-ms", str(LEASE_MS), "--fed-report-interval-ms",
                                 "300", "--cluster-ca", self.pki.ca, store=store,
                                 data=self.data, token=TOKEN) for _ in range(2)]
        branches = []

        def cleanup():
            for b in branches:
                b.cleanup()
            for c in clouds:
                if c.proc and c.proc.poll() is None:
                    c.stop()
                c.check_sanitizers()
                c.forget()
        self.addCleanup(cleanup)
        primary = clouds[0].start()
        clouds[1].start(primary=False)
        ids = [c.request("GET", "/v0/health", token=None)[1]["ha"]["sites"]["self"]
               for c in clouds]
        # a site that rendezvous hashing gives the member that is not the primary
        site = next(s for s in ("t%d" % i for i in range(100)) if choose(s, ids) == ids[1])
        tok = primary.ok("POST", "/v0/join-tokens", {"site": site}, expect=(201,))["token"]
        b = branch(primary, site, tok, "--site-driver", "sim", "--fed-report-interval-ms", "300",
                   url=",".join(c.url for c in clouds))
        branches.append(b)
        b.start()
        wait_for(lambda: primary.request("GET", "/v0/health", token=None)[1]["ha"]["sites"][
            "owners"].get(site) == clouds[1].url, 30, what="the site owned by the second member")
        wait_for(lambda: "talking to the cloud VNFM at %s now" % clouds[1].url in b.log(), 30,
                 what="the branch at the site's owner")

        def reports():
            m = [m for m in primary.get("/v0/managers")[1]["managers"] if m["site"] == site]
            return m[0].get("reports", 0) if m else 0
        n = reports()
        wait_for(lambda: reports() >= n + 5, 30, what="reports forwarded to the primary")
        # an instruction reaches the branch on its channel, relayed by the owner
        primary.onboard(demo("tls-sim"))
        op = primary.ok("POST", "/v0/deployments", {"name": "over-tls", "vnfd": "tls-sim",
                                                    "site": site}, expect=(202,))
        self.assertEqual(primary.wait_op(op["id"], timeout=60)["state"], "completed")
        self.assertEqual(b.get("/v0/deployments/over-tls")[0], 200)
        self.assertNotIn("did not take the report", clouds[1].log() + b.log())
        self.assertNotIn("cloud-unreachable", b.log())


if __name__ == "__main__":
    unittest.main()
