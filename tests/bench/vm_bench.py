#!/usr/bin/python3
"""Real-guest benchmark (part of `make bench`, section 9).

Starts novalite-api with its embedded agent on qemu:///system (virt type from the
agent's own probe: TCG on machines where KVM cannot run guests) on an isolated
libvirt network, uploads the test guest (tests/fixtures/make-guest-image.sh), boots
one guest to warm the image cache, then, side by side in one run, ROUNDS times:

  novalite  POST /servers -> ACTIVE, and -> the guest's first marker line
            (NOVALITE-GUEST-BOOTED) in its console log file, and -> the marker seen
            through the API (os-getConsoleOutput; the agent ships console output
            once a second)
  bare      `virsh define X.xml && virsh start X` of the same XML (the instance's own
            domain XML, renamed, with its own overlay on the same cached base, its own
            config drive copy and console file) -> the marker in its console file
  delete    DELETE /servers/{id} -> the domain gone from libvirt, vs `virsh destroy &&
            virsh undefine` of the bare domain

and finally five guests created at once (five POSTs, one host) -> all ACTIVE, all
markers: wall time against one guest alone (the rounds' medians), as a ratio. The agent
runs up to [compute] max_concurrent_tasks tasks at once (BENCH_VM_MAX_TASKS, default the
option's default, 4; 1 gives the one-task-at-a-time agent as a baseline).
Prints key=value lines for the report; vms_skipped=<reason> when libvirt, QEMU or
the guest image are not available.

Usage: vm_bench.py API_BIN WORKDIR
"""

import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid as uuidlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROUNDS = int(os.environ.get("BENCH_VM_ROUNDS", "3"))
MARKER = b"NOVALITE-GUEST-BOOTED"
TIMEOUT = 300


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


def virsh(*args, check=True):
    r = subprocess.run(["virsh", "-c", "qemu:///system"] + list(args),
                       capture_output=True, text=True)
    if check and r.returncode:
        raise RuntimeError("virsh %s: %s" % (" ".join(args), r.stderr))
    return r.stdout


def skip(reason):
    print("vms_skipped=%s" % reason.replace("\n", " ")[:200])
    sys.exit(0)


class Api:
    def __init__(self, port, token):
        self.port, self.h = port, {"X-Auth-Token": token, "Content-Type": "application/json"}

    def req(self, method, path, body=None, port=None, prefix="/v2.1"):
        c = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=120)
        c.request(method, prefix + path, body=body if isinstance(body, (bytes, type(None)))
                  else json.dumps(body), headers=self.h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            return r.status, json.loads(data) if data else None
        except ValueError:
            return r.status, data


def wait_file_marker(path, t0):
    """Seconds from t0 until MARKER is in the file."""
    while time.perf_counter() - t0 < TIMEOUT:
        try:
            with open(path, "rb") as f:
                if MARKER in f.read():
                    return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError("no marker in %s" % path)


def main():
    api_bin, work = sys.argv[1], sys.argv[2]
    guest = os.path.join(REPO, "build", "guest", "guest.qcow2")
    if subprocess.run(["sh", os.path.join(REPO, "tools", "libvirtd.sh")],
                      capture_output=True).returncode:
        skip("libvirtd is not available")
    if not shutil.which("qemu-system-x86_64"):
        skip("QEMU is not installed")
    r = subprocess.run(["sh", os.path.join(REPO, "tests/fixtures/make-guest-image.sh"),
                        os.path.dirname(guest)], capture_output=True, text=True)
    if r.returncode:
        skip("no guest image: " + r.stderr.strip()[-150:])

    vdir = os.path.join(work, "vm")
    os.makedirs(vdir, exist_ok=True)
    for d in [vdir] + [os.path.dirname(vdir)]:
        os.chmod(d, os.stat(d).st_mode | 0o111)
    tag = str(os.getpid() % 100000)
    net = "nlbench-" + tag
    conf = os.path.join(vdir, "vm.conf")
    with open(conf, "w") as f:
        # BENCH_VM_VIRT_TYPE=qemu where the probe passes but real KVM guests do not boot
        f.write("[compute]\nlibvirt_uri = qemu:///system\nvirt_type = %s\n"
                "network_mode = isolated\nnetwork_name = %s\nnetwork_bridge = nlb%s\n"
                "shutdown_timeout = 10\n" % (os.environ.get("BENCH_VM_VIRT_TYPE", "auto"), net, tag))
        if os.environ.get("BENCH_VM_MAX_TASKS"):
            f.write("max_concurrent_tasks = %d\n" % int(os.environ["BENCH_VM_MAX_TASKS"]))
    iport, cport, gport, nport = free_ports(4)
    state = os.path.join(vdir, "state")
    env = dict(os.environ, NOVALITE_ADMIN_PASSWORD="bench-vm-pw")
    log = open(os.path.join(vdir, "daemon.log"), "ab")
    proc = subprocess.Popen([api_bin, "--config", conf, "--state-dir", state,
                             "--identity-port", str(iport), "--compute-port", str(cport),
                             "--image-port", str(gport), "--internal-port", str(nport),
                             "--log-level", "warn"], stdout=log, stderr=log, env=env)
    out = {}
    bare_names = []
    try:
        deadline = time.time() + 60
        while not os.path.exists(os.path.join(state, "openrc")):
            if time.time() > deadline or proc.poll() is not None:
                raise SystemExit("bench: vm daemon did not start")
            time.sleep(0.05)
        c = http.client.HTTPConnection("127.0.0.1", iport, timeout=30)
        c.request("POST", "/v3/auth/tokens", body=json.dumps({"auth": {"identity": {
            "methods": ["password"], "password": {"user": {"name": "admin", "domain": {
                "name": "Default"}, "password": "bench-vm-pw"}}}, "scope": {"project": {
                    "name": "admin", "domain": {"name": "Default"}}}}}),
            headers={"Content-Type": "application/json"})
        resp = c.getresponse()
        resp.read()
        api = Api(cport, resp.getheader("X-Subject-Token"))
        st, img = api.req("POST", "/v2/images", {"name": "tiny", "disk_format": "qcow2",
                                                 "container_format": "bare"},
                          port=gport, prefix="")
        with open(guest, "rb") as f:
            api.h["Content-Type"] = "application/octet-stream"
            st, _ = api.req("PUT", "/v2/images/%s/file" % img["id"], f.read(), port=gport, prefix="")
            api.h["Content-Type"] = "application/json"
        assert st == 204, st
        image = img["id"]
        inst_dir = os.path.join(state, "compute", "instances")
        probe = os.path.join(state, "compute", "virt-probe.json")
        vt = json.load(open(probe)).get("result", "?") if os.path.exists(probe) else \
            os.environ.get("BENCH_VM_VIRT_TYPE", "?")
        out["vms_virt_type"] = vt

        def create(name):
            st, b = api.req("POST", "/servers", {"server": {
                "name": name, "imageRef": image, "flavorRef": "1", "config_drive": True}})
            assert st == 202, (st, b)
            return b["server"]["id"]

        def wait_active(sid, t0):
            while time.perf_counter() - t0 < TIMEOUT:
                st, b = api.req("GET", "/servers/%s" % sid)
                s = b["server"]
                if s["status"] == "ACTIVE" and s["OS-EXT-STS:task_state"] is None:
                    return time.perf_counter() - t0
                if s["status"] == "ERROR":
                    raise RuntimeError("ERROR: %s" % s.get("fault"))
                time.sleep(0.01)
            raise RuntimeError("never ACTIVE")

        def wait_api_marker(sid, t0):
            while time.perf_counter() - t0 < TIMEOUT:
                st, b = api.req("POST", "/servers/%s/action" % sid, {"os-getConsoleOutput": {}})
                if st == 200 and MARKER.decode() in b["output"]:
                    return time.perf_counter() - t0
                time.sleep(0.05)
            raise RuntimeError("no marker via the API")

        def delete(sid):
            t0 = time.perf_counter()
            st, _ = api.req("DELETE", "/servers/%s" % sid)
            assert st == 204
            while sid in virsh("list", "--all", "--uuid").split():
                time.sleep(0.02)
            return time.perf_counter() - t0

        # warm the image cache (the first build downloads the base)
        t0 = time.perf_counter()
        sid = create("warm")
        out["vms_first_boot_active_s"] = "%.2f" % wait_active(sid, t0)
        wait_file_marker(os.path.join(inst_dir, sid, "console.log"), t0)
        delete(sid)

        ours_active, ours_file, ours_api, bare, del_ours, del_bare = [], [], [], [], [], []
        for i in range(ROUNDS):
            t0 = time.perf_counter()
            sid = create("b%d" % i)
            ours_active.append(wait_active(sid, t0))
            ours_file.append(wait_file_marker(os.path.join(inst_dir, sid, "console.log"), t0))
            ours_api.append(wait_api_marker(sid, t0))
            # the bare run: the same domain XML, renamed, with its own files
            xml = virsh("dumpxml", "--inactive", sid)
            bdir = os.path.join(vdir, "bare-%d" % i)
            os.makedirs(bdir, exist_ok=True)
            os.chmod(bdir, 0o711)
            info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json",
                                              os.path.join(inst_dir, sid, "disk")],
                                             capture_output=True, text=True, check=True).stdout)
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                            info["backing-filename"], os.path.join(bdir, "disk"), "1G"], check=True)
            shutil.copy(os.path.join(inst_dir, sid, "disk.config"), os.path.join(bdir, "disk.config"))
            name = "nlbench-bare-%s-%d" % (tag, i)
            new_uuid = str(uuidlib.uuid4())
            xml = re.sub(r"<name>[^<]*</name>", "<name>%s</name>" % name, xml, count=1)
            xml = re.sub(r"<uuid>[^<]*</uuid>", "<uuid>%s</uuid>" % new_uuid, xml, count=1)
            xml = xml.replace(os.path.join(inst_dir, sid), bdir)
            xml = re.sub(r"<mac address='[^']*'/>", "<mac address='52:54:00:%02x:%02x:%02x'/>"
                         % (i, os.getpid() & 0xff, 7), xml)
            xml = re.sub(r"<entry name='(serial|uuid)'>[^<]*</entry>",
                         lambda m: "<entry name='%s'>%s</entry>" % (m.group(1), new_uuid), xml)
            xpath = os.path.join(bdir, "domain.xml")
            with open(xpath, "w") as f:
                f.write(xml)
            bare_names.append(name)
            t0 = time.perf_counter()
            subprocess.run("virsh -c qemu:///system define %s >/dev/null && "
                           "virsh -c qemu:///system start %s >/dev/null" % (xpath, name),
                           shell=True, check=True)
            bare.append(wait_file_marker(os.path.join(bdir, "console.log"), t0))
            t0 = time.perf_counter()
            subprocess.run("virsh -c qemu:///system destroy %s >/dev/null && "
                           "virsh -c qemu:///system undefine %s >/dev/null" % (name, name),
                           shell=True, check=True)
            del_bare.append(time.perf_counter() - t0)
            bare_names.remove(name)
            del_ours.append(delete(sid))

        med = statistics.median
        out["vms_rounds"] = str(ROUNDS)
        out["vms_active_median_s"] = "%.2f" % med(ours_active)
        out["vms_marker_file_median_s"] = "%.2f" % med(ours_file)
        out["vms_marker_api_median_s"] = "%.2f" % med(ours_api)
        out["vms_bare_marker_median_s"] = "%.2f" % med(bare)
        out["vms_ratio_file"] = "%.3f" % (med(ours_file) / med(bare))
        out["vms_ratio_api"] = "%.3f" % (med(ours_api) / med(bare))
        out["vms_delete_median_s"] = "%.2f" % med(del_ours)
        out["vms_bare_delete_median_s"] = "%.2f" % med(del_bare)

        # five at once on the one host, against one alone (the medians above)
        t0 = time.perf_counter()
        ids = [create("five-%d" % k) for k in range(5)]
        acts = [wait_active(s, t0) for s in ids]
        marks = [wait_file_marker(os.path.join(inst_dir, s, "console.log"), t0) for s in ids]
        out["vms_max_concurrent_tasks"] = os.environ.get("BENCH_VM_MAX_TASKS", "4 (default)")
        out["vms_five_first_active_s"] = "%.2f" % min(acts)
        out["vms_five_all_active_s"] = "%.2f" % max(acts)
        out["vms_five_all_marker_s"] = "%.2f" % max(marks)
        out["vms_five_ratio_active"] = "%.2f" % (max(acts) / med(ours_active))
        out["vms_five_ratio_marker"] = "%.2f" % (max(marks) / med(ours_file))
        for s in ids:
            delete(s)
    finally:
        for name in bare_names:
            virsh("destroy", name, check=False)
            virsh("undefine", name, check=False)
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        for name in virsh("list", "--all", "--name", check=False).split():
            if state in virsh("dumpxml", name, check=False):
                virsh("destroy", name, check=False)
                virsh("undefine", name, "--managed-save", check=False)
        virsh("net-destroy", net, check=False)
        virsh("net-undefine", net, check=False)
    for k, v in out.items():
        print("%s=%s" % (k, v))


if __name__ == "__main__":
    main()
