"""Real guests: the all-in-one cloud with its embedded agent on qemu:///system.

The whole sequence of issue 6 with the real `openstack` CLI: upload the tiny
test guest (tests/fixtures/make-guest-image.sh), boot it with a key pair, user
data and a config drive, read its console, get a VNC URL, drive every power
action and check the real domain follows, snapshot it and boot the snapshot,
delete everything and check nothing is left on the host.

The guest runs under whatever the agent chose (on these machines KVM cannot
run guests, so its probe picks TCG). Its network is an isolated libvirt
network made for this module: guest traffic stays on the host, and the tests
never send anything to guest addresses; what the guest did is read from its
console log. Skips (with the reason) only where libvirt/QEMU or the guest
image cannot be had.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

import novalite_testlib as lib

# One worker runs every real-guest file, one after another (conftest.py).
XDIST_GROUP = "real-guests"

REPO = Path(__file__).resolve().parents[2]
GUEST = REPO / "build" / "guest" / "guest.qcow2"
BOOT_TIMEOUT = 240       # TCG under ASan on a busy 2-core machine


def virsh(*args, check=True):
    r = subprocess.run(["virsh", "-c", "qemu:///system"] + list(args),
                       capture_output=True, text=True, timeout=120)
    if check:
        assert r.returncode == 0, r.stderr
    return r.stdout


def why_no_real_guests():
    """None when real guests can run here, else the reason."""
    if not shutil.which("virsh") or not os.path.exists("/usr/sbin/libvirtd"):
        return "libvirt is not installed (apt-get install libvirt-daemon-system)"
    if not os.path.exists("/run/libvirt/libvirt-sock"):
        return "libvirtd is not running (sh tools/libvirtd.sh starts it)"
    r = subprocess.run(["virsh", "-c", "qemu:///system", "version"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return "qemu:///system does not answer: " + r.stderr.strip()
    if not shutil.which("qemu-system-x86_64"):
        return "QEMU is not installed (apt-get install qemu-system-x86)"
    if not shutil.which("genisoimage"):
        return "genisoimage is not installed (config drives)"
    r = subprocess.run(["sh", str(REPO / "tests/fixtures/make-guest-image.sh"),
                        str(GUEST.parent)], capture_output=True, text=True)
    if r.returncode == 2:      # no kernel package to be had (no apt lists, offline)
        return "the test guest could not be built: " + r.stderr.strip()[-300:]
    if r.returncode != 0:      # anything else is a bug, not an environment
        pytest.fail("tests/fixtures/make-guest-image.sh failed:\n" + r.stderr[-2000:])
    return None


def open_path(p):
    """QEMU runs as libvirt-qemu: every directory down to the instance files
    must let it through (pytest's base temp dir is 0700)."""
    p = Path(p)
    for d in [p] + list(p.parents):
        if str(d) in ("/", "/tmp"):
            break
        st = d.stat()
        if not st.st_mode & 0o001:
            os.chmod(d, st.st_mode | 0o111)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    reason = why_no_real_guests()
    if reason:
        pytest.skip("real guests cannot run here: " + reason)
    tmp = tmp_path_factory.mktemp("realvm")
    open_path(tmp)
    tag = "%d" % (os.getpid() % 100000)
    conf = tmp / "novalite.conf"
    conf.write_text(
        "[compute]\n"
        "libvirt_uri = qemu:///system\n"
        "virt_type = auto\n"
        "kvm_probe_kernel = %s\n"
        "network_mode = isolated\n"
        "network_name = nltest-%s\n"
        "network_bridge = nlt%s\n"
        "shutdown_timeout = 20\n"
        "sync_power_state_interval = 5\n" % (GUEST.parent / "vmlinuz", tag, tag))
    d = lib.start_daemon(tmp, extra_args=["--config", str(conf)],
                         ready_timeout=120)
    d.net_name = "nltest-" + tag
    yield d
    try:
        lib.stop_daemon(d)
    finally:
        # Whatever a failed test left: our domains, our network.
        for name in virsh("list", "--all", "--name", check=False).split():
            xml = virsh("dumpxml", name, check=False)
            if str(d.state_dir) in xml:
                virsh("destroy", name, check=False)
                virsh("undefine", name, "--managed-save", check=False)
        virsh("net-destroy", d.net_name, check=False)
        virsh("net-undefine", d.net_name, check=False)


def console(osc, name):
    return osc("console", "log", "show", name, json=False) or ""


def wait_console(osc, name, marker, count=1, timeout=BOOT_TIMEOUT):
    """Polls the console log until marker appears count times."""
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = console(osc, name)
        if text.count(marker) >= count:
            return text
        time.sleep(1)
    pytest.fail("%r never appeared %d time(s) on the console of %s:\n%s"
                % (marker, count, name, text[-3000:]))


def domstate(uuid):
    return virsh("domstate", uuid).strip()


def wait_domstate(uuid, want, timeout=60):
    deadline = time.time() + timeout
    st = None
    while time.time() < deadline:
        st = domstate(uuid)
        if st == want:
            return
        time.sleep(0.2)
    pytest.fail("domain %s is %r, not %r" % (uuid, st, want))


@pytest.fixture(scope="module")
def vm(osc, tmp_path_factory, http):
    """vm1 booted from the uploaded guest, with a key, user data and a config
    drive; returns its `server show`."""
    tmp = tmp_path_factory.mktemp("vm1")
    osc("image", "create", "--disk-format", "qcow2", "--container-format",
        "bare", "--file", GUEST, "tiny")
    key = tmp / "k1"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    str(key)], check=True)
    osc("keypair", "create", "--public-key", str(key) + ".pub", "k1")
    hello = tmp / "hello.sh"
    hello.write_text("#!/bin/sh\necho HELLO-FROM-USER-DATA $(hostname)\n")
    s = osc("server", "create", "--image", "tiny", "--flavor", "m1.tiny",
            "--key-name", "k1", "--user-data", hello, "--config-drive", "true",
            "--wait", "vm1")
    assert s["status"] == "ACTIVE"
    return s


def test_the_agent_chose_a_virt_type_and_reports_it(daemon, osc, vm):
    probe = json.loads((daemon.state_dir / "compute" / "virt-probe.json")
                       .read_text())
    hv = osc("hypervisor", "list", "--long")
    assert len(hv) == 1
    want = "KVM" if probe.get("result") == "kvm" else "QEMU"
    assert hv[0]["Hypervisor Type"] == want, (hv, probe)
    xml = virsh("dumpxml", vm["id"])
    assert ("<domain type='kvm'" in xml) == (want == "KVM"), xml[:200]
    if want == "QEMU":
        assert "host-passthrough" not in xml


def test_guest_boots_reads_config_drive_and_runs_user_data(daemon, osc, vm):
    text = wait_console(osc, "vm1", "NOVALITE-GUEST-READY")
    assert "NOVALITE-GUEST-BOOTED" in text
    assert "NOVALITE-CONFIG-DRIVE found" in text
    assert "NOVALITE-INSTANCE-UUID %s" % vm["id"] in text
    assert "NOVALITE-HOSTNAME vm1" in text
    assert "HELLO-FROM-USER-DATA vm1" in text
    assert "NOVALITE-USER-DATA exit=0" in text
    # The DHCP reservation gives the guest the address the API shows.
    s = osc("server", "show", "vm1")
    addrs = s["addresses"]
    ip = (addrs["private"][0] if isinstance(addrs, dict)
          else re.search(r"private=([\d.]+)", addrs).group(1))
    if isinstance(ip, dict):
        ip = ip["addr"]
    if "falling back to user-mode networking" in daemon.stderr_text(10 ** 7):
        # 10.0.0.0/16 is taken on this host (say, by `make run-vm`'s network): the
        # agent said so and fell back to QEMU's user-mode networking.
        assert "NOVALITE-IP 10.0.2.15" in text, text[-2000:]
    else:
        assert "NOVALITE-IP %s" % ip in text, text[-2000:]


def test_domain_and_files_are_named_by_the_instance(daemon, vm):
    xml = virsh("dumpxml", vm["id"])
    assert "<uuid>%s</uuid>" % vm["id"] in xml
    assert "<nova:name>vm1</nova:name>" in xml
    inst = daemon.state_dir / "compute" / "instances" / vm["id"]
    assert (inst / "disk").exists() and (inst / "disk.config").exists()
    info = json.loads(subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", str(inst / "disk")],
        capture_output=True, text=True, check=True).stdout)
    assert info["format"] == "qcow2"
    assert info["backing-filename"].startswith(
        str(daemon.state_dir / "compute" / "images"))
    assert info["virtual-size"] == 1024 ** 3      # m1.tiny: 1 GB root disk


def test_console_url_is_a_live_vnc_server(osc, vm):
    c = osc("console", "url", "show", "vm1")
    m = re.match(r"vnc://127\.0\.0\.1:(\d+)$", c["url"])
    assert m, c
    with socket.create_connection(("127.0.0.1", int(m.group(1))), 5) as so:
        assert so.recv(12).startswith(b"RFB 003.")


def test_power_actions_drive_the_real_guest(osc, vm, http):
    uuid = vm["id"]
    osc("server", "stop", "vm1")
    lib.wait_server(http, uuid, "SHUTOFF", timeout=90)
    assert domstate(uuid) == "shut off"
    osc("server", "start", "vm1")
    lib.wait_server(http, uuid, "ACTIVE", timeout=90)
    assert domstate(uuid) == "running"
    wait_console(osc, "vm1", "NOVALITE-GUEST-READY", 2)

    osc("server", "reboot", "--hard", "vm1")
    lib.wait_server(http, uuid, "ACTIVE", timeout=90)
    wait_console(osc, "vm1", "NOVALITE-GUEST-READY", 3)
    osc("server", "reboot", "vm1")         # soft: the guest shuts down itself
    lib.wait_server(http, uuid, "ACTIVE", timeout=90)
    text = wait_console(osc, "vm1", "NOVALITE-GUEST-READY", 4)
    assert "NOVALITE-GUEST-POWEROFF" in text

    osc("server", "pause", "vm1")
    lib.wait_server(http, uuid, "PAUSED", timeout=60)
    assert domstate(uuid) == "paused"
    osc("server", "unpause", "vm1")
    lib.wait_server(http, uuid, "ACTIVE", timeout=60)
    assert domstate(uuid) == "running"

    osc("server", "suspend", "vm1")
    lib.wait_server(http, uuid, "SUSPENDED", timeout=90)
    assert domstate(uuid) == "shut off"
    assert "Managed save" in virsh("dominfo", uuid) and \
        "yes" in virsh("dominfo", uuid).split("Managed save:")[1].split("\n")[0]
    osc("server", "resume", "vm1")
    lib.wait_server(http, uuid, "ACTIVE", timeout=90)
    assert domstate(uuid) == "running"


def test_guest_that_shuts_itself_down_becomes_shutoff(osc, vm, http):
    uuid = vm["id"]
    # Behind novalite's back, as a guest's own `poweroff` would: the lifecycle
    # event, not a periodic poll, brings the API up to date.
    virsh("shutdown", uuid)
    wait_domstate(uuid, "shut off")
    t0 = time.time()
    lib.wait_server(http, uuid, "SHUTOFF", timeout=10)
    assert time.time() - t0 < 3
    osc("server", "start", "vm1")
    lib.wait_server(http, uuid, "ACTIVE", timeout=90)


def test_snapshot_boots(osc, vm, http):
    img = osc("server", "image", "create", "--name", "snap", "--wait", "vm1")
    assert img["status"] == "active"
    shown = osc("image", "show", "snap")
    assert shown["disk_format"] == "qcow2"
    s = osc("server", "create", "--image", "snap", "--flavor", "m1.tiny",
            "--config-drive", "true", "--wait", "vm2")
    text = wait_console(osc, "vm2", "NOVALITE-GUEST-READY")
    assert "NOVALITE-INSTANCE-UUID %s" % s["id"] in text
    vm["vm2"] = s["id"]


def test_delete_leaves_nothing_behind(daemon, osc, vm):
    ids = [vm["id"], vm["vm2"]]
    osc("server", "delete", "--wait", "vm1", "vm2")
    names = virsh("list", "--all", "--uuid").split()
    for uuid in ids:
        assert uuid not in names
        assert not (daemon.state_dir / "compute" / "instances" / uuid).exists()
    leases = virsh("net-dumpxml", daemon.net_name, check=False)
    assert "<host mac=" not in leases, leases
    left = list((daemon.state_dir / "compute").glob("snapshot-*"))
    assert not left
