#!/usr/bin/python3
"""Server lifecycle benchmark (part of `make bench`).

Starts novalite-api (embedded agent on libvirt's test driver, --fake-hosts 10) on
free 127.0.0.1 ports in a temporary state dir and measures, with keep-alive HTTP
clients in this process:
  1. create -> ACTIVE latency, sequential (POST, then GET until ACTIVE): p50, p99
  2. servers/s to ACTIVE with 8 concurrent clients (each: create, wait ACTIVE)
  3. delete throughput: DELETE every server, wait until each is gone
  4. GET /servers/detail with 1,000 servers: p50, p99 (sequential requests)
  5. GET /servers/{id} requests/s at 16 connections (wrk -t2 -c16)
and runs the scheduler micro-benchmark (build/sched-bench: one decision over 1,000
and 10,000 simulated hosts). Prints `key=value` lines (merged into the bench report).

Usage: servers_bench.py API_BIN SCHED_BENCH_BIN WORKDIR [WRK_LUA]
"""

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

SEQ_N = int(os.environ.get("BENCH_SERVERS_SEQ", "200"))
CONC_N = int(os.environ.get("BENCH_SERVERS_CONC", "400"))
CONC_CLIENTS = 8
DETAIL_N = 1000
DETAIL_REQS = int(os.environ.get("BENCH_SERVERS_DETAIL_REQS", "50"))
WRK_SECONDS = int(os.environ.get("BENCH_DURATION", "10"))


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Client:
    def __init__(self, port, token):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.h = {"X-Auth-Token": token, "Content-Type": "application/json"}

    def req(self, method, path, body=None, retry=True, raw=False):
        try:
            self.c.request(method, "/v2.1" + path,
                           body=json.dumps(body) if body is not None else None,
                           headers=self.h)
            r = self.c.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The daemon closes keep-alive connections idle for connection_timeout
            # (10 s), e.g. while wrk runs: reconnect once.
            if not retry:
                raise
            self.c.close()
            return self.req(method, path, body, retry=False, raw=raw)
        data = r.read()
        if raw:    # the response as received: client-side JSON parsing is not timed
            return r.status, data
        return r.status, (json.loads(data) if data else None)


def token(iport, password):
    c = http.client.HTTPConnection("127.0.0.1", iport, timeout=30)
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    c.request("POST", "/v3/auth/tokens", body=json.dumps(body),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status == 201, r.status
    return r.getheader("X-Subject-Token")


def create(cl, image, name, count=1):
    st, body = cl.req("POST", "/servers", {"server": {
        "name": name, "imageRef": image, "flavorRef": "bench-nano",
        "min_count": count}})
    assert st == 202, (st, body)
    return body["server"]["id"]


def wait_active(cl, sid):
    while True:
        st, body = cl.req("GET", "/servers/%s" % sid)
        s = body["server"]
        if s["status"] == "ACTIVE" and s["OS-EXT-STS:task_state"] is None:
            return
        if s["status"] == "ERROR":
            raise RuntimeError("server %s ERROR: %s" % (sid, s.get("fault")))
        time.sleep(0.0005)


def wait_gone(cl, sid):
    while True:
        st, _ = cl.req("GET", "/servers/%s" % sid)
        if st == 404:
            return
        time.sleep(0.0005)


def main():
    api_bin, sched_bin, work = sys.argv[1], sys.argv[2], sys.argv[3]
    lua = sys.argv[4] if len(sys.argv) > 4 else None
    iport, cport, gport, nport = free_ports(4)
    state = os.path.join(work, "servers-state")
    env = dict(os.environ, NOVALITE_ADMIN_PASSWORD="bench-servers-pw")
    log = open(os.path.join(work, "servers-daemon.log"), "ab")
    proc = subprocess.Popen([api_bin, "--state-dir", state, "--identity-port", str(iport),
                             "--compute-port", str(cport), "--image-port", str(gport),
                             "--internal-port", str(nport), "--fake-hosts", "10",
                             "--log-level", "warn"], stdout=log, stderr=log, env=env)
    out = {}
    try:
        deadline = time.time() + 30
        while not os.path.exists(os.path.join(state, "openrc")):
            if time.time() > deadline or proc.poll() is not None:
                raise SystemExit("bench: servers daemon did not start")
            time.sleep(0.05)
        tok = token(iport, "bench-servers-pw")
        cl = Client(cport, tok)
        # A flavor small enough that 1,400 servers fit on 10 fake hosts, no quota.
        st, b = cl.req("POST", "/flavors", {"flavor": {"name": "bench-nano", "id": "bench-nano",
                                                       "ram": 64, "vcpus": 1, "disk": 0}})
        assert st == 200, (st, b)
        g = http.client.HTTPConnection("127.0.0.1", gport, timeout=30)
        g.request("POST", "/v2/images", body=json.dumps({
            "name": "bench", "disk_format": "raw", "container_format": "bare"}),
            headers={"X-Auth-Token": tok, "Content-Type": "application/json"})
        r = g.getresponse()
        image = json.loads(r.read())["id"]
        g.request("PUT", "/v2/images/%s/file" % image, body=b"\0" * 1024,
                  headers={"X-Auth-Token": tok, "Content-Type": "application/octet-stream"})
        g.getresponse().read()
        c2 = http.client.HTTPConnection("127.0.0.1", iport, timeout=30)
        c2.request("GET", "/v3/auth/tokens", headers={"X-Auth-Token": tok, "X-Subject-Token": tok})
        pid = json.loads(c2.getresponse().read())["token"]["project"]["id"]
        st, _ = cl.req("PUT", "/os-quota-sets/%s" % pid, {"quota_set": {
            "instances": -1, "cores": -1, "ram": -1}})
        assert st == 200

        # 1. sequential create -> ACTIVE
        for i in range(10):    # warm-up
            wait_active(cl, create(cl, image, "warm-%d" % i))
        lat = []
        for i in range(SEQ_N):
            t0 = time.perf_counter()
            wait_active(cl, create(cl, image, "seq-%d" % i))
            lat.append((time.perf_counter() - t0) * 1000)
        out["servers_create_active_p50_ms"] = "%.2f" % statistics.median(lat)
        out["servers_create_active_p99_ms"] = "%.2f" % pct(lat, 99)

        # 2. 8 concurrent clients
        per = CONC_N // CONC_CLIENTS
        errors = []

        def worker(k):
            c = Client(cport, tok)
            try:
                for i in range(per):
                    wait_active(c, create(c, image, "conc-%d-%d" % (k, i)))
            except Exception as e:    # reported below: a lost server fails the run
                errors.append(repr(e))
        t0 = time.perf_counter()
        ths = [threading.Thread(target=worker, args=(k,)) for k in range(CONC_CLIENTS)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        wall = time.perf_counter() - t0
        out["servers_conc8_per_s"] = "%.1f" % (per * CONC_CLIENTS / wall)
        out["servers_conc8_errors"] = str(len(errors))

        # 4. detail with 1,000 servers (top up to exactly 1,000)
        st, body = cl.req("GET", "/servers?limit=1000")
        have = len(body["servers"])
        while have < DETAIL_N:
            n = min(100, DETAIL_N - have)
            create(cl, image, "fill", n)
            have += n
        time.sleep(0.5)
        st, body = cl.req("GET", "/servers/detail")
        assert st == 200 and len(body["servers"]) == DETAIL_N, (st, len(body["servers"]))
        lat = []
        for _ in range(DETAIL_REQS):
            t0 = time.perf_counter()
            st, data = cl.req("GET", "/servers/detail", raw=True)
            lat.append((time.perf_counter() - t0) * 1000)
            assert st == 200 and len(data) > 1000 * 1000, (st, len(data))
        out["servers_detail1000_p50_ms"] = "%.2f" % statistics.median(lat)
        out["servers_detail1000_p99_ms"] = "%.2f" % pct(lat, 99)

        # 5. GET /servers/{id} at 16 connections
        sid = body["servers"][0]["id"]
        wrk = ["wrk", "-t2", "-c16", "-d%ds" % WRK_SECONDS, "-H", "X-Auth-Token: " + tok]
        if lua:
            wrk += ["-s", lua]
        r = subprocess.run(wrk + ["http://127.0.0.1:%d/v2.1/servers/%s" % (cport, sid)],
                           capture_output=True, text=True)
        for line in r.stdout.splitlines():
            if line.startswith("Requests/sec:"):
                out["servers_show_rps"] = "%.0f" % float(line.split()[1])
            if line.startswith("WRKRESULT"):
                kv = dict(w.split("=") for w in line.split()[1:])
                out["servers_show_p50_ms"] = "%.2f" % (int(kv["p50_us"]) / 1000)
                out["servers_show_p99_ms"] = "%.2f" % (int(kv["p99_us"]) / 1000)
                out["servers_show_non2xx"] = kv["non2xx3xx"]

        # 3. delete throughput: every server, each waited until gone
        st, body = cl.req("GET", "/servers?limit=1000")
        ids = [s["id"] for s in body["servers"]][:400]
        t0 = time.perf_counter()
        for s in ids:
            st, _ = cl.req("DELETE", "/servers/%s" % s)
            assert st == 204, st
        for s in ids:
            wait_gone(cl, s)
        out["servers_delete_per_s"] = "%.1f" % (len(ids) / (time.perf_counter() - t0))

        # 6. one scheduling decision over 1,000 and 10,000 hosts
        r = subprocess.run([sched_bin], capture_output=True, text=True, timeout=300)
        for line in r.stdout.splitlines():
            # "sched 1000 hosts: p50 123.4 us p99 150.2 us"
            w = line.split()
            if len(w) >= 8 and w[0] == "sched" and w[2] == "hosts:":
                out["sched_%s_p50_us" % w[1]] = w[4]
                out["sched_%s_p99_us" % w[1]] = w[7]
    finally:
        proc.terminate()
        proc.wait(30)
    for k, v in out.items():
        print("%s=%s" % (k, v))


if __name__ == "__main__":
    main()
