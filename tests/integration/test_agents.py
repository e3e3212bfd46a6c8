"""Separate compute agents: novalite-api without its embedded agent, plus
`novalite-compute` processes on the libvirt test driver. Two hosts, many fake
hosts, concurrency without over-commit, the service-token rule, and an agent
killed with SIGKILL in the middle of a build."""

import concurrent.futures
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

import novalite_testlib as lib

wait_status = lib.wait_server


def compute_bin():
    return str(Path(lib.api_bin()).parent / "novalite-compute")


class Agent:
    def __init__(self, daemon, tmp, host, *extra):
        self.daemon = daemon
        self.log = tmp / ("agent-%s.log" % host)
        self.argv = [compute_bin(), "--credentials",
                     str(daemon.state_dir / "compute-openrc"),
                     "--host", host, "--state-dir", str(tmp / ("st-" + host)),
                     "--log-level", "info"] + [str(x) for x in extra]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "ab"))
        return self

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                pytest.fail("agent did not stop on SIGTERM:\n" + self.log.read_text())
            assert rc == 0, self.log.read_text()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = lib.start_daemon(tmp_path_factory.mktemp("novalite"),
                         extra_args=["--no-embedded-agent"])
    yield d
    lib.stop_daemon(d)




@pytest.fixture(scope="module")
def agents(daemon, tmp_path_factory, http):
    tmp = tmp_path_factory.mktemp("agents")
    a = Agent(daemon, tmp, "node-a").start()
    b = Agent(daemon, tmp, "node-b").start()
    wait_hosts(http, {"node-a", "node-b"})
    yield a, b
    a.stop()
    b.stop()


def wait_hosts(http, names, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = http.compute("GET", "/os-hypervisors/detail")
        if r.status_code == 200:
            up = {h["service"]["host"] for h in r.json()["hypervisors"]
                  if h.get("state") == "up"}
            if names <= up:
                return
        time.sleep(0.1)
    pytest.fail("hosts %s never came up" % names)




def boot(http, image, **extra):
    r = http.compute("POST", "/servers", json={"server": dict(
        {"name": lib.unique("vm"), "imageRef": image, "flavorRef": "1"},
        **extra)})
    assert r.status_code == 202, r.text
    return r.json()["server"]["id"]


def test_two_agents_register_and_anti_affinity_spreads(http, agents, image,
                                                       osc):
    services = osc("compute", "service", "list")
    hosts = {s["Host"]: s for s in services if s["Binary"] == "nova-compute"}
    assert {"node-a", "node-b"} <= set(hosts)
    assert hosts["node-a"]["State"] == "up"
    g = osc("server", "group", "create", "--policy", "anti-affinity",
            lib.unique("g"))
    r = http.compute("POST", "/servers", json={
        "server": {"name": lib.unique("aa"), "imageRef": image,
                   "flavorRef": "1", "min_count": 2,
                   "return_reservation_id": True},
        "os:scheduler_hints": {"group": g["id"]}})
    assert r.status_code == 202, r.text
    rid = r.json()["reservation_id"]
    listed = http.compute("GET", "/servers/detail",
                          params={"reservation_id": rid}).json()["servers"]
    assert len(listed) == 2
    mine = [wait_status(http, s["id"], "ACTIVE") for s in listed]
    assert sorted(s["OS-EXT-SRV-ATTR:host"] for s in mine) == [
        "node-a", "node-b"]
    # A third member has nowhere to go.
    r = http.compute("POST", "/servers", json={
        "server": {"name": lib.unique("aa3"), "imageRef": image,
                   "flavorRef": "1"},
        "os:scheduler_hints": {"group": g["id"]}})
    s = wait_status(http, r.json()["server"]["id"], "ERROR")
    assert "ServerGroupAntiAffinityFilter" in s["fault"]["message"]


def test_disabled_host_is_not_scheduled(http, agents, image, osc):
    osc("compute", "service", "set", "--disable", "--disable-reason",
        "maintenance", "node-a", "nova-compute", json=False)
    try:
        for _ in range(3):
            s = wait_status(http, boot(http, image), "ACTIVE")
            assert s["OS-EXT-SRV-ATTR:host"] == "node-b"
    finally:
        osc("compute", "service", "set", "--enable", "node-a",
            "nova-compute", json=False)


def test_user_token_is_403_on_internal_port(daemon, tenant):
    url = "http://127.0.0.1:%d/internal/v1/agents/x/heartbeat" % \
        daemon.internal_port
    r = requests.post(url, headers={"X-Auth-Token": tenant.member.token},
                      timeout=10)
    assert r.status_code == 403, r.text
    r = requests.post(url, timeout=10)
    assert r.status_code == 401


def test_agent_restart_reconciles(http, agents, image):
    a, b = agents
    sid = wait_status(http, boot(http, image, availability_zone="nova:node-b"),
                      "ACTIVE")["id"]
    b.stop()
    b.start()
    wait_hosts(http, {"node-b"})
    # The fake lost every domain; the agent re-created it and the server is
    # still running (no power-state drift to SHUTOFF).
    time.sleep(1)
    s = wait_status(http, sid, "ACTIVE")
    assert s["OS-EXT-STS:power_state"] == 1
    r = http.compute("POST", "/servers/%s/action" % sid,
                     json={"os-stop": None})
    assert r.status_code == 202
    wait_status(http, sid, "SHUTOFF")


def test_kill9_mid_build_converges(http, daemon, image, tmp_path):
    slow = Agent(daemon, tmp_path, "node-slow",
                 "--fake-spawn-delay-ms", 4000).start()
    try:
        wait_hosts(http, {"node-slow"})
        sid = boot(http, image, availability_zone="nova:node-slow")
        time.sleep(1.0)          # the agent has leased the build and sleeps
        s = http.compute("GET", "/servers/%s" % sid).json()["server"]
        assert s["status"] == "BUILD", s
        slow.kill9()
        slow = Agent(daemon, tmp_path, "node-slow").start()
        s = wait_status(http, sid, "ACTIVE", timeout=30)
        assert s["OS-EXT-SRV-ATTR:host"] == "node-slow"
    finally:
        slow.stop()


def test_concurrent_creates_none_lost_no_overcommit(http, daemon, image,
                                                    tmp_path):
    # Four small fake hosts: 4096 MB x 1.5 - 512 reserved = 5632 MB usable,
    # 11 m1.tiny each, 44 in all: 100 creates must leave 44 ACTIVE and 56 in
    # ERROR with a reason, and no host past its capacity.
    fleet = Agent(daemon, tmp_path, "small-", "--fake-hosts", 4,
                  "--fake-ram-mb", 4096, "--fake-vcpus", 64).start()
    try:
        wait_hosts(http, {"small-0001", "small-0004"})
        # Only the small fleet takes these (node-slow's agent is gone but its
        # host stays "up" until service_down_time: Nova would schedule to it too).
        for h in ("node-a", "node-b", "node-slow"):
            r = http.compute("PUT", "/os-services/disable", json={
                "host": h, "binary": "nova-compute"})
            assert r.status_code == 200, r.text
        pid = http.admin_project_id
        http.compute("PUT", "/os-quota-sets/%s" % pid, json={"quota_set": {
            "instances": -1, "cores": -1, "ram": -1}})

        def create(i):
            r = http.compute("POST", "/servers", json={"server": {
                "name": "conc-%03d" % i, "imageRef": image, "flavorRef": "1",
                "availability_zone": "nova"}})
            assert r.status_code == 202, r.text
            return r.json()["server"]["id"]

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            ids = list(ex.map(create, range(100)))
        assert len(set(ids)) == 100
        final = {}
        deadline = time.time() + 60
        while time.time() < deadline and len(final) < 100:
            for sid in ids:
                if sid in final:
                    continue
                s = http.compute("GET", "/servers/%s" % sid).json()["server"]
                if s["status"] in ("ACTIVE", "ERROR") and \
                        s["OS-EXT-STS:task_state"] is None:
                    final[sid] = s
            time.sleep(0.1)
        assert len(final) == 100, "servers stuck: %d done" % len(final)
        active = [s for s in final.values() if s["status"] == "ACTIVE"]
        errors = [s for s in final.values() if s["status"] == "ERROR"]
        assert all("No valid host" in s["fault"]["message"] for s in errors)
        per_host = {}
        for s in active:
            per_host[s["OS-EXT-SRV-ATTR:host"]] = \
                per_host.get(s["OS-EXT-SRV-ATTR:host"], 0) + 1
        assert set(per_host) <= {"small-0001", "small-0002", "small-0003",
                                 "small-0004"}
        assert all(n <= 11 for n in per_host.values()), per_host
        assert len(active) == 44, per_host
        names = [s["name"] for s in final.values()]
        assert len(set(names)) == 100
    finally:
        for h in ("node-a", "node-b", "node-slow"):
            http.compute("PUT", "/os-services/enable", json={
                "host": h, "binary": "nova-compute"})
        fleet.stop()


def test_two_hundred_fake_hosts_from_one_agent(http, daemon, tmp_path, osc):
    many = Agent(daemon, tmp_path, "many-", "--fake-hosts", 200,
                 "--fake-vcpus", 8, "--fake-ram-mb", 16384).start()
    try:
        wait_hosts(http, {"many-0001", "many-0200"}, timeout=60)
        hyp = http.compute("GET", "/os-hypervisors/detail").json()[
            "hypervisors"]
        mine = [h for h in hyp if h["hypervisor_hostname"].startswith("many-")]
        assert len(mine) == 200
        assert {h["vcpus"] for h in mine} == {8}
        assert {h["memory_mb"] for h in mine} == {16384}
        stats = osc("hypervisor", "stats", "show")
        assert stats["count"] >= 200
    finally:
        many.stop()


# ---- concurrent tasks (compute/agent_pool.c) ------------------------------------------------

def test_slow_stop_does_not_delay_another_build(http, daemon, image, tmp_path):
    # A guest that takes 5 s to shut down: another server's build on the same
    # host goes on meanwhile and is ACTIVE long before the stop finishes.
    ag = Agent(daemon, tmp_path, "node-par", "--fake-stop-delay-ms", 5000,
               "--max-concurrent-tasks", 4).start()
    try:
        wait_hosts(http, {"node-par"})
        slow = wait_status(http, boot(http, image,
                                      availability_zone="nova:node-par"),
                           "ACTIVE")["id"]
        t0 = time.time()
        r = http.compute("POST", "/servers/%s/action" % slow,
                         json={"os-stop": None})
        assert r.status_code == 202, r.text
        time.sleep(0.5)          # the stop is leased: the guest "shuts down"
        others = [boot(http, image, availability_zone="nova:node-par")
                  for _ in range(3)]
        for sid in others:
            s = wait_status(http, sid, "ACTIVE", timeout=4)
            assert s["OS-EXT-SRV-ATTR:host"] == "node-par"
        t_others = time.time() - t0
        s = http.compute("GET", "/servers/%s" % slow).json()["server"]
        assert s["OS-EXT-STS:task_state"] == "powering-off", s
        wait_status(http, slow, "SHUTOFF", timeout=20)
        t_slow = time.time() - t0
        assert t_slow >= 5.0
        assert t_others < t_slow - 2.0, (t_others, t_slow)
    finally:
        ag.stop()


def test_tasks_of_one_instance_stay_serialized(http, daemon, image, tmp_path):
    # A delete queued behind a slow stop of the same server waits for the
    # stop's result: one task per instance at a time, in order.
    ag = Agent(daemon, tmp_path, "node-ser", "--fake-stop-delay-ms", 3000).start()
    try:
        wait_hosts(http, {"node-ser"})
        sid = wait_status(http, boot(http, image,
                                     availability_zone="nova:node-ser"),
                          "ACTIVE")["id"]
        t0 = time.time()
        r = http.compute("POST", "/servers/%s/action" % sid,
                         json={"os-stop": None})
        assert r.status_code == 202, r.text
        time.sleep(0.5)
        r = http.compute("DELETE", "/servers/%s" % sid)
        assert r.status_code == 204, r.text
        time.sleep(1.0)          # the delete is leased too, but waits
        r = http.compute("GET", "/servers/%s" % sid)
        assert r.status_code == 200, r.text
        assert r.json()["server"]["OS-EXT-STS:task_state"] == "deleting"
        wait_status(http, sid, "DELETED", timeout=20)
        assert time.time() - t0 >= 3.0
        log = ag.log.read_text()
        stop_at = log.find("stop %s on node-ser: done" % sid)
        delete_at = log.find("delete %s on node-ser: done" % sid)
        assert 0 <= stop_at < delete_at, log
    finally:
        ag.stop()


class FlakyProxy:
    """Stands between an agent and the internal port: the API as an agent sees
    it when its disk is full. While `failing` holds task ids, results posted
    for them get 500 (the other requests pass through untouched). No hook in
    the API: the agent cannot tell this from a real 5xx."""

    def __init__(self, upstream_port):
        import http.client
        import http.server
        import re
        import threading
        proxy = self
        self.failing = set()
        self.fail_all = False
        self.refused = {}            # task id -> 500s answered
        self.first_result = None     # the first task id a result came for
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                m = re.match(r"^/internal/v1/tasks/(\d+)$", self.path)
                if m and self.command == "POST":
                    tid = int(m.group(1))
                    with proxy.lock:
                        if proxy.first_result is None:
                            proxy.first_result = tid
                        fail = proxy.fail_all or tid in proxy.failing
                        if fail:
                            proxy.refused[tid] = proxy.refused.get(tid, 0) + 1
                    if fail:
                        out = b'{"computeFault": {"code": 500, "message": ' \
                              b'"database or disk is full"}}'
                        self.send_response(500)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(out)))
                        self.end_headers()
                        self.wfile.write(out)
                        return
                c = http.client.HTTPConnection("127.0.0.1", upstream_port,
                                               timeout=60)
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() in ("x-auth-token", "content-type",
                                         "accept")}
                c.request(self.command, self.path, body=body, headers=hdrs)
                resp = c.getresponse()
                out = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() in ("content-type",):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
                c.close()

            do_GET = do_POST = do_PUT = do_DELETE = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_result_refused_with_5xx_is_posted_again(http, daemon, image, tmp_path):
    # The API answers 500 to the result of one build: the agent keeps it and
    # posts it again with back-off; another build on the same agent is not held
    # up meanwhile; once the API takes results again the first server goes
    # ACTIVE without the agent re-registering.
    proxy = FlakyProxy(daemon.internal_port)
    ag = Agent(daemon, tmp_path, "node-5xx", "--api-url",
               "http://127.0.0.1:%d" % proxy.port).start()
    try:
        wait_hosts(http, {"node-5xx"})
        proxy.fail_all = True
        first = boot(http, image, availability_zone="nova:node-5xx")
        deadline = time.time() + 10
        while time.time() < deadline and proxy.first_result is None:
            time.sleep(0.05)
        assert proxy.first_result is not None
        with proxy.lock:
            proxy.failing.add(proxy.first_result)
            proxy.fail_all = False
        second = wait_status(http, boot(http, image,
                                        availability_zone="nova:node-5xx"),
                             "ACTIVE", timeout=10)
        assert second["OS-EXT-SRV-ATTR:host"] == "node-5xx"
        # 1 s, 2 s, 4 s back-off: at least three refusals within ~8 s.
        deadline = time.time() + 15
        while time.time() < deadline and \
                proxy.refused.get(proxy.first_result, 0) < 3:
            time.sleep(0.1)
        assert proxy.refused[proxy.first_result] >= 3, proxy.refused
        s = http.compute("GET", "/servers/%s" % first).json()["server"]
        assert s["status"] == "BUILD", s
        with proxy.lock:
            proxy.failing.clear()
        s = wait_status(http, first, "ACTIVE", timeout=40)
        assert s["OS-EXT-SRV-ATTR:host"] == "node-5xx"
        log = ag.log.read_text()
        assert "posting it again with back-off" in log, log
        assert "registered" in log and log.count("host node-5xx registered") == 1
    finally:
        ag.stop()
        proxy.close()
