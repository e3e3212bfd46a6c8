"""Server snapshots (createImage) and remote consoles, driven by a raw-HTTP agent.

The daemon runs without its embedded agent; the tests play the compute agent
themselves over the agent protocol (docs/agent-protocol.md) with the service
credentials the daemon writes to STATE/compute-openrc: register a host, long-poll
its tasks, upload a snapshot's data to Glance with the service token, post
results (with console_address).  That proves the contract the real agent is
written against: task params, the INSTANCE payload's new fields, the result's
console_address, the snapshot's image row and the service role's image access.

Nova behaviour referenced: nova/api/openstack/compute/servers.py
_action_create_image, nova/compute/api.py snapshot, nova/compute/utils.py
create_image / initialize_instance_snapshot_metadata, nova/compute/manager.py
snapshot_instance (delete_image_on_error), remote_consoles.py and its schemas.
"""

import subprocess
import time

import pytest
import requests

import novalite_testlib as lib
from test_responses_schema import validate  # noqa: E402

tempest_images_v21 = pytest.importorskip(
    "tempest.lib.api_schema.response.compute.v2_1.images")
from tempest.lib.api_schema.response.compute.v2_1 import (  # noqa: E402
    servers as servers_v21)
from tempest.lib.api_schema.response.compute.v2_45 import (  # noqa: E402
    images as images_v245)
from tempest.lib.api_schema.response.compute.v2_6 import (  # noqa: E402
    servers as servers_v26)
from tempest.lib.api_schema.response.compute.v2_8 import (  # noqa: E402
    servers as servers_v28)

HOST = "raw-node"
VNC = "127.0.0.1:5901"


# --------------------------------------------------------------------------
# the raw agent
# --------------------------------------------------------------------------

class RawAgent:
    """The agent protocol by hand: one host, tasks kept in a backlog so a test
    can wait for the one it cares about."""

    def __init__(self, daemon, http):
        rc = lib.parse_openrc((daemon.state_dir / "compute-openrc").read_text())
        self.http = http
        self.url = rc.get("NOVALITE_INTERNAL_URL",
                          "http://127.0.0.1:%d" % daemon.internal_port)
        self.url += "/internal/v1"
        self.token, self.auth = http.token(rc["OS_USERNAME"],
                                           rc["OS_PASSWORD"],
                                           rc["OS_PROJECT_NAME"])
        self.s = requests.Session()
        self.s.trust_env = False
        self.s.headers["X-Auth-Token"] = self.token
        self.backlog = []

    def register(self):
        r = self.s.post(self.url + "/hosts", json={"host": {
            "host": HOST, "agent": HOST, "hypervisor_type": "QEMU",
            "vcpus": 64, "memory_mb": 65536, "local_gb": 1000}}, timeout=10)
        assert r.status_code == 200, r.text

    def poll(self, wait=5):
        r = self.s.get(self.url + "/agents/%s/tasks" % HOST,
                       params={"wait": wait}, timeout=wait + 10)
        assert r.status_code == 200, r.text
        return r.json()["tasks"]

    def expect(self, kind, uuid, timeout=15):
        """The next task of this kind for this instance (others are kept)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for t in self.backlog:
                if t["kind"] == kind and t["instance"]["uuid"] == uuid:
                    self.backlog.remove(t)
                    return t
            self.backlog.extend(self.poll(wait=2))
        pytest.fail("no %s task for %s; backlog: %r" % (
            kind, uuid, [(t["kind"], t["instance"]["uuid"])
                         for t in self.backlog]))

    def result(self, task, status="done", **extra):
        body = {"result": dict({"status": status}, **extra)}
        r = self.s.post(self.url + "/tasks/%d" % task["id"], json=body,
                        timeout=10)
        assert r.status_code == 204, r.text
        return r


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = lib.start_daemon(tmp_path_factory.mktemp("novalite"),
                         extra_args=["--no-embedded-agent"])
    yield d
    lib.stop_daemon(d)


@pytest.fixture(scope="module")
def agent(daemon, http):
    a = RawAgent(daemon, http)
    a.register()
    return a


@pytest.fixture(scope="module")
def base_image(http):
    """The image servers boot from: custom properties Nova would copy into a
    snapshot and some it must not."""
    img = lib.image_create(
        http, name=lib.unique("base"), disk_format="raw",
        container_format="bare", visibility="public", min_disk=1,
        min_ram=64, hw_disk_bus="virtio", hw_vif_model="e1000",
        os_shutdown_timeout="30", img_signature="c2lnbmF0dXJl",
        img_signature_hash_method="SHA-256")
    r = lib.image_upload(http, img["id"], b"\0" * 4096)
    assert r.status_code == 204, r.text
    return lib.image_get(http, img["id"])


def boot(http, agent, image, token=lib._DEFAULT, console=VNC, **extra):
    """Creates a server and plays its build; returns (uuid, build task)."""
    body = {"name": lib.unique("vm"), "imageRef": image, "flavorRef": "1"}
    body.update(extra)
    r = http.compute("POST", "/servers", token=token, json={"server": body})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    task = agent.expect("build", sid)
    res = {"power_state": 1}
    if console is not None:
        res["console_address"] = console
    agent.result(task, **res)
    lib.wait_server(http, sid, "ACTIVE", token=token)
    return sid, task


@pytest.fixture(scope="module")
def flavor(http):
    """A 2 GB root disk: a snapshot's min_disk is the larger of the base
    image's (1) and the flavor's."""
    r = http.compute("POST", "/flavors", json={"flavor": {
        "name": lib.unique("snapflavor"), "ram": 128, "vcpus": 1,
        "disk": 2}})
    assert r.status_code == 200, r.text
    return r.json()["flavor"]["id"]


@pytest.fixture(scope="module")
def server(http, agent, base_image, flavor):
    sid, _ = boot(http, agent, base_image["id"], flavorRef=flavor)
    return sid


def action(http, sid, body, mv=None, token=lib._DEFAULT):
    return http.compute("POST", "/servers/%s/action" % sid, json=body,
                        microversion=mv, token=token)


def console(http, sid, protocol="vnc", type_="novnc", mv="2.6",
            token=lib._DEFAULT):
    return http.compute("POST", "/servers/%s/remote-consoles" % sid,
                        microversion=mv, token=token,
                        json={"remote_console": {"protocol": protocol,
                                                 "type": type_}})


def fault(r):
    body = r.json()
    (kind, inner), = body.items()
    return r.status_code, inner["message"]


def server_of(http, sid, token=lib._DEFAULT):
    r = http.compute("GET", "/servers/%s" % sid, token=token)
    assert r.status_code == 200, r.text
    return r.json()["server"]


def qcow2_bytes(tmp_path, size="1M"):
    path = tmp_path / "snap.qcow2"
    lib.qemu_img("create", "-f", "qcow2", path, size)
    return path.read_bytes()


def snapshot(http, sid, name=None, metadata=None, mv="2.45", token=lib._DEFAULT):
    body = {"name": name or lib.unique("snap")}
    if metadata is not None:
        body["metadata"] = metadata
    r = action(http, sid, {"createImage": body}, mv=mv, token=token)
    assert r.status_code == 202, r.text
    return r.json()["image_id"] if r.content else \
        r.headers["Location"].rsplit("/", 1)[1]


# --------------------------------------------------------------------------
# A: the protocol's new fields
# --------------------------------------------------------------------------

def test_build_task_payload(http, agent, base_image):
    r = http.compute("POST", "/servers", json={"server": {
        "name": lib.unique("payload"), "imageRef": base_image["id"],
        "flavorRef": "1", "config_drive": True, "metadata": {"a": "b"},
        "availability_zone": "nova"}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    task = agent.expect("build", sid)
    assert task["params"] == {}
    inst = task["instance"]
    assert inst["config_drive"] is True
    assert inst["availability_zone"] == "nova"
    assert inst["launch_index"] == 0
    assert inst["disk_format"] == "raw"
    assert inst["image_properties"] == {
        "hw_disk_bus": "virtio", "hw_vif_model": "e1000",
        "os_shutdown_timeout": "30", "img_signature": "c2lnbmF0dXJl",
        "img_signature_hash_method": "SHA-256"}
    assert inst["metadata"] == {"a": "b"}
    agent.result(task, power_state=1, console_address=VNC)
    lib.wait_server(http, sid, "ACTIVE")
    # The reconcile listing carries the same payload.
    r = agent.s.get(agent.url + "/hosts/%s/instances" % HOST, timeout=10)
    assert r.status_code == 200, r.text
    mine = [i for i in r.json()["instances"] if i["uuid"] == sid]
    assert mine and mine[0]["config_drive"] is True
    assert mine[0]["image_properties"]["hw_disk_bus"] == "virtio"


def test_payload_without_config_drive_or_image(http, agent, tmp_path):
    img = lib.image_create(http, name=lib.unique("gone"), disk_format="qcow2",
                           container_format="bare")
    assert lib.image_upload(http, img["id"],
                            qcow2_bytes(tmp_path)).status_code == 204
    r = http.compute("POST", "/servers", json={"server": {
        "name": lib.unique("noimg"), "imageRef": img["id"],
        "flavorRef": "1", "min_count": 2, "return_reservation_id": True}})
    assert r.status_code == 202, r.text
    listed = http.compute("GET", "/servers/detail", params={
        "reservation_id": r.json()["reservation_id"]}).json()["servers"]
    assert len(listed) == 2
    # The image goes before the agent asks: no properties, no format.
    assert http.image("DELETE", "/v2/images/%s" % img["id"]).status_code == 204
    indexes = set()
    for s in listed:
        task = agent.expect("build", s["id"])
        inst = task["instance"]
        assert inst["config_drive"] is False
        assert inst["image_properties"] == {}
        assert inst["disk_format"] is None
        indexes.add(inst["launch_index"])
        agent.result(task, power_state=1)
    assert indexes == {0, 1}


def test_result_console_address_validation(http, agent, base_image):
    r = http.compute("POST", "/servers", json={"server": {
        "name": lib.unique("addr"), "imageRef": base_image["id"],
        "flavorRef": "1"}})
    sid = r.json()["server"]["id"]
    task = agent.expect("build", sid)
    r = agent.s.post(agent.url + "/tasks/%d" % task["id"], json={"result": {
        "status": "done", "console_address": "x" * 301}}, timeout=10)
    assert r.status_code == 400, r.text
    r = agent.s.post(agent.url + "/tasks/%d" % task["id"], json={"result": {
        "status": "done", "console_address": 5901}}, timeout=10)
    assert r.status_code == 400, r.text
    agent.result(task, power_state=1, console_address=None)
    lib.wait_server(http, sid, "ACTIVE")
    assert fault(console(http, sid)) == (
        409, "Guest does not have a console available.")


# --------------------------------------------------------------------------
# C: remote consoles
# --------------------------------------------------------------------------

@pytest.mark.parametrize("mv", ["2.6", "2.8", "2.93"])
def test_remote_console_url(http, server, mv):
    r = console(http, server, mv=mv)
    schema = servers_v28 if mv != "2.6" else servers_v26
    body = validate(schema.get_remote_consoles, r, mv)
    assert body == {"remote_console": {"protocol": "vnc", "type": "novnc",
                                       "url": "vnc://" + VNC}}


@pytest.mark.parametrize("mv", ["2.1", "2.5"])
def test_legacy_get_vnc_console(http, server, mv):
    r = action(http, server, {"os-getVNCConsole": {"type": "novnc"}}, mv=mv)
    body = validate(servers_v21.get_vnc_console, r, mv)
    assert body == {"console": {"type": "novnc", "url": "vnc://" + VNC}}


def test_console_versions(http, server):
    # The route starts at 2.6; the actions end at 2.5 (a bare 404 both ways).
    r = console(http, server, mv="2.5")
    assert r.status_code == 404, r.text
    r = action(http, server, {"os-getVNCConsole": {"type": "novnc"}},
               mv="2.6")
    assert fault(r) == (404, "The resource could not be found.")


@pytest.mark.parametrize("protocol,type_,mv,want", [
    ("spice", "spice-html5", "2.6", "Unavailable console type spice-html5."),
    ("rdp", "rdp-html5", "2.6", "Unavailable console type rdp-html5."),
    ("serial", "serial", "2.6", "Unavailable console type serial."),
    ("mks", "webmks", "2.8", "Unavailable console type webmks."),
    ("vnc", "xvpvnc", "2.6", "Invalid console type xvpvnc"),
    ("vnc", "spice-html5", "2.6", "Invalid console type spice-html5"),
])
def test_console_unavailable(http, server, protocol, type_, mv, want):
    assert fault(console(http, server, protocol, type_, mv=mv)) == (400, want)


def test_console_bad_bodies(http, server):
    r = console(http, server, "mks", "webmks", mv="2.7")
    assert fault(r) == (400, (
        "Invalid input for field/attribute protocol. Value: mks. 'mks' is "
        "not one of ['vnc', 'spice', 'rdp', 'serial']"))
    r = console(http, server, "vnc", "bogus", mv="2.8")
    assert fault(r) == (400, (
        "Invalid input for field/attribute type. Value: bogus. 'bogus' is "
        "not one of ['novnc', 'xvpvnc', 'rdp-html5', 'spice-html5', "
        "'serial', 'webmks']"))
    r = http.compute("POST", "/servers/%s/remote-consoles" % server,
                     microversion="2.6",
                     json={"remote_console": {"protocol": "vnc"}})
    assert fault(r) == (400, (
        "Invalid input for field/attribute remote_console. Value: "
        "{'protocol': 'vnc'}. 'type' is a required property"))
    r = action(http, server, {"os-getVNCConsole": {"type": "spice-html5"}},
               mv="2.1")
    assert fault(r) == (400, (
        "Invalid input for field/attribute type. Value: spice-html5. "
        "'spice-html5' is not one of ['novnc', 'xvpvnc']"))
    r = action(http, server, {"os-getSPICEConsole": {"type": "spice-html5"}},
               mv="2.1")
    assert fault(r) == (400, "Unavailable console type spice-html5.")


def test_console_states(http, agent, base_image, tenant):
    sid, _ = boot(http, agent, base_image["id"])
    # A stopped guest has no VNC server: not ready.
    r = action(http, sid, {"os-stop": None})
    assert r.status_code == 202, r.text
    agent.result(agent.expect("stop", sid), power_state=4,
                 console_address=None)
    lib.wait_server(http, sid, "SHUTOFF")
    assert fault(console(http, sid)) == (409, "Instance %s is not ready" % sid)
    # Started again on another port: the new address is the one served.
    assert action(http, sid, {"os-start": None}).status_code == 202
    agent.result(agent.expect("start", sid), power_state=1,
                 console_address="127.0.0.1:5907")
    lib.wait_server(http, sid, "ACTIVE")
    r = console(http, sid)
    assert r.json()["remote_console"]["url"] == "vnc://127.0.0.1:5907"
    # A result without the field leaves the address alone.
    assert action(http, sid, {"pause": None}).status_code == 202
    agent.result(agent.expect("pause", sid))
    lib.wait_server(http, sid, "PAUSED")
    assert console(http, sid).json()["remote_console"]["url"] == \
        "vnc://127.0.0.1:5907"
    # Another project's server is not found; a reader may not ask.
    assert fault(console(http, sid, token=tenant.member.token)) == (
        404, "Instance %s could not be found." % sid)
    tsid, _ = boot(http, agent, base_image["id"], token=tenant.member.token)
    assert fault(console(http, tsid, token=tenant.reader.token)) == (
        403, "Policy doesn't allow os_compute_api:os-remote-consoles to be "
             "performed.")
    assert console(http, tsid, token=tenant.member.token).status_code == 200
    # A server being deleted.
    assert http.compute("DELETE", "/servers/%s" % tsid,
                        token=tenant.member.token).status_code == 204
    assert fault(console(http, tsid, token=tenant.member.token)) == (
        400, "Instance %s in task_state deleting. Cannot get_vnc_console "
             "while the instance is in this state." % tsid)
    r = action(http, tsid, {"os-getVNCConsole": {"type": "novnc"}}, mv="2.5",
               token=tenant.member.token)
    assert fault(r) == (409, "Cannot 'get_vnc_console' instance %s while it "
                             "is in task_state deleting" % tsid)
    agent.result(agent.expect("delete", tsid))


def test_console_building_server(http, agent, base_image):
    r = http.compute("POST", "/servers", json={"server": {
        "name": lib.unique("bld"), "imageRef": base_image["id"],
        "flavorRef": "1"}})
    sid = r.json()["server"]["id"]
    assert fault(console(http, sid)) == (409, "Instance %s is not ready" % sid)
    agent.result(agent.expect("build", sid), power_state=1)


def test_console_url_cli(osc, server):
    out = osc("console", "url", "show", server)
    assert out["url"] == "vnc://" + VNC, out
    assert out["type"] == "novnc"


# --------------------------------------------------------------------------
# B: createImage
# --------------------------------------------------------------------------

def test_create_image_v244_location(http, daemon, agent, server, base_image):
    r = action(http, server, {"createImage": {"name": lib.unique("s244")}},
               mv="2.44")
    validate(tempest_images_v21.create_image, r, "2.44")
    loc = r.headers["Location"]
    image_id = loc.rsplit("/", 1)[1]
    assert loc == "%s/v2/images/%s" % (daemon.image_root, image_id)
    task = agent.expect("snapshot", server)
    assert task["params"] == {"image_id": image_id}
    agent.result(task)
    lib.wait_server(http, server, "ACTIVE")
    img = lib.image_get(http, image_id)
    assert img["status"] == "queued"       # this agent uploaded nothing


def test_create_image_end_to_end(http, daemon, agent, server, base_image,
                                 tmp_path):
    name = lib.unique("snap")
    r = action(http, server, {"createImage": {
        "name": name, "metadata": {"purpose": "backup", "hw_vif_model":
                                   "virtio"}}}, mv="2.45")
    body = validate(images_v245.create_image, r, "2.45")
    image_id = body["image_id"]
    assert "Location" not in r.headers

    # The server shows the snapshot in flight; the image waits for data.
    s = server_of(http, server)
    assert (s["status"], s["OS-EXT-STS:task_state"]) == (
        "ACTIVE", "image_snapshot")
    img = lib.image_get(http, image_id)
    assert img["status"] == "queued"
    assert img["owner"] == http.admin_project_id
    assert img["visibility"] == "private"
    assert (img["disk_format"], img["container_format"]) == ("qcow2", "bare")
    assert img["name"] == name
    assert img["min_disk"] == 2        # max(base image's 1, the flavor's 2)
    assert img["min_ram"] == 64
    # Nova's snapshot properties: the base image's inheritable ones, what
    # Nova records, the request's metadata (over the base's), the driver's.
    assert img["hw_disk_bus"] == "virtio"
    assert img["hw_vif_model"] == "virtio"
    assert img["os_shutdown_timeout"] == "30"
    assert "img_signature" not in img
    assert "img_signature_hash_method" not in img
    assert img["purpose"] == "backup"
    assert img["image_type"] == "snapshot"
    assert img["instance_uuid"] == server
    assert img["base_image_ref"] == base_image["id"]
    assert img["user_id"] == http.admin_user_id
    assert img["owner_project_name"] == "admin"
    assert img["owner_user_name"] == "admin"
    assert "admin" in img["boot_roles"].split(",")
    assert img["image_location"] == "snapshot"
    assert img["image_state"] == "available"
    assert img["owner_id"] == http.admin_project_id
    # Nova's instance action, its event open until the agent reports.
    acts = http.compute("GET", "/servers/%s/os-instance-actions" % server
                        ).json()["instanceActions"]
    act = [a for a in acts if a["action"] == "createImage"][0]
    detail = http.compute("GET", "/servers/%s/os-instance-actions/%s" % (
        server, act["request_id"]), microversion="2.51").json()[
            "instanceAction"]
    assert [e["event"] for e in detail["events"]] == [
        "compute_snapshot_instance"]
    assert detail["events"][0]["finish_time"] is None

    # The agent: the task names the image; it uploads with its service token.
    task = agent.expect("snapshot", server)
    assert task["params"] == {"image_id": image_id}
    assert task["instance"]["task_state"] == "image_snapshot"
    data = qcow2_bytes(tmp_path)
    r = lib.image_upload(http, image_id, data, token=agent.token)
    assert r.status_code == 204, r.text
    img = lib.image_get(http, image_id)
    assert img["status"] == "active"
    assert img["checksum"] == lib.md5_hex(data)
    # Still snapshotting until the result arrives.
    assert server_of(http, server)["OS-EXT-STS:task_state"] == \
        "image_snapshot"
    agent.result(task, power_state=1)
    s = lib.wait_server(http, server, "ACTIVE")
    assert s["OS-EXT-STS:vm_state"] == "active"
    detail = http.compute("GET", "/servers/%s/os-instance-actions/%s" % (
        server, act["request_id"]), microversion="2.51").json()[
            "instanceAction"]
    assert detail["events"][0]["result"] == "Success"
    # The snapshot boots: its owner's image, data and all.
    r = http.image("GET", "/v2/images/%s/file" % image_id)
    assert r.status_code == 200 and r.content == data


def test_create_image_upload_goes_through_saving(http, agent, server,
                                                 tmp_path):
    """queued -> saving while the bytes stream -> active."""
    image_id = snapshot(http, server)
    task = agent.expect("snapshot", server)
    data = qcow2_bytes(tmp_path)
    seen = []

    def chunks():
        yield data[:65536]
        time.sleep(0.5)
        seen.append(lib.image_get(http, image_id)["status"])
        yield data[65536:]

    r = lib.image_upload(http, image_id, chunks(), token=agent.token)
    assert r.status_code == 204, r.text
    assert seen == ["saving"]
    assert lib.image_get(http, image_id)["status"] == "active"
    agent.result(task)
    lib.wait_server(http, server, "ACTIVE")


def test_create_image_failure_deletes_image(http, daemon, agent, server):
    image_id = snapshot(http, server)
    task = agent.expect("snapshot", server)
    agent.result(task, status="failed", message="qemu-img convert failed")
    s = lib.wait_server(http, server, "ACTIVE")
    assert (s["OS-EXT-STS:vm_state"], s["OS-EXT-STS:task_state"]) == (
        "active", None)
    r = http.image("GET", "/v2/images/%s" % image_id)
    assert r.status_code == 404, r.text
    assert lib.image_files(daemon, image_id) == []


def test_create_image_states(http, agent, base_image):
    sid, _ = boot(http, agent, base_image["id"])
    # In flight: a second snapshot waits for the first.
    snapshot(http, sid)
    r = action(http, sid, {"createImage": {"name": "again"}})
    assert fault(r) == (409, "Cannot 'createImage' instance %s while it is in "
                             "task_state image_snapshot" % sid)
    agent.result(agent.expect("snapshot", sid))
    lib.wait_server(http, sid, "ACTIVE")
    # Stopped, paused and suspended servers may be snapshotted, and stay so.
    steps = (("os-stop", "stop", "SHUTOFF", 4, True),
             ("os-start", "start", "ACTIVE", 1, False),
             ("pause", "pause", "PAUSED", 3, True),
             ("unpause", "unpause", "ACTIVE", 1, False),
             ("suspend", "suspend", "SUSPENDED", 4, True),
             ("resume", "resume", "ACTIVE", 1, False))
    for act, kind, status, power, snap in steps:
        assert action(http, sid, {act: None}).status_code == 202
        agent.result(agent.expect(kind, sid), power_state=power)
        lib.wait_server(http, sid, status)
        if snap:
            snapshot(http, sid)
            agent.result(agent.expect("snapshot", sid))
            s = lib.wait_server(http, sid, status)
            assert s["OS-EXT-STS:power_state"] == power
    # Locked: Nova does not check the lock for snapshots.
    assert action(http, sid, {"lock": None}).status_code == 202
    snapshot(http, sid)
    agent.result(agent.expect("snapshot", sid))
    lib.wait_server(http, sid, "ACTIVE")
    # Building and error are refused.
    r = http.compute("POST", "/servers", json={"server": {
        "name": lib.unique("bld"), "imageRef": base_image["id"],
        "flavorRef": "1"}})
    bid = r.json()["server"]["id"]
    r = action(http, bid, {"createImage": {"name": "x"}})
    assert fault(r) == (409, "Cannot 'createImage' instance %s while it is in "
                             "vm_state building" % bid)
    agent.result(agent.expect("build", bid), status="failed",
                 message="no luck")
    lib.wait_server(http, bid, "ERROR")
    r = action(http, bid, {"createImage": {"name": "x"}})
    assert fault(r) == (409, "Cannot 'createImage' instance %s while it is in "
                             "vm_state error" % bid)


@pytest.mark.parametrize("body,want", [
    ({"createImage": {}},
     "Invalid input for field/attribute createImage. Value: {}. 'name' is a "
     "required property"),
    ({"createImage": {"name": ""}},
     "Invalid input for field/attribute name. Value: . '' is too short"),
    ({"createImage": {"name": " lead"}},
     "An invalid 'name' value was provided. The name must be: printable "
     "characters. Can not start or end with whitespace."),
    ({"createImage": {"name": "x" * 256}}, None),
    ({"createImage": {"name": "ok", "metadata": {"k": 1}}},
     "Invalid input for field/attribute k. Value: 1. 1 is not of type "
     "'string'"),
    ({"createImage": {"name": "ok", "metadata": {"k/x": "v"}}},
     "Invalid input for field/attribute metadata. Value: {'k/x': 'v'}. "
     "'k/x' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'"),
    ({"createImage": {"name": "ok", "bogus": 1}},
     "Invalid input for field/attribute createImage. Value: {'name': 'ok', "
     "'bogus': 1}. Additional properties are not allowed ('bogus' was "
     "unexpected)"),
    ({"createImage": "name"},
     "Invalid input for field/attribute createImage. Value: name. 'name' is "
     "not of type 'object'"),
])
def test_create_image_bad_bodies(http, server, body, want):
    r = action(http, server, body)
    code, msg = fault(r)
    assert code == 400, r.text
    if want is None:
        assert "is too long" in msg, msg
    else:
        assert msg == want


def test_create_image_other_project_and_reader(http, server, tenant):
    r = action(http, server, {"createImage": {"name": "x"}},
               token=tenant.member.token)
    assert fault(r) == (404, "Instance %s could not be found." % server)
    r = action(http, server, {"createImage": {"name": "x"}},
               token=tenant.reader.token)
    assert r.status_code == 403, r.text


def test_create_image_metadata_quota(http, agent, base_image, make_tenant):
    t = make_tenant("snapq")
    r = http.compute("PUT", "/os-quota-sets/%s" % t.project_id,
                     json={"quota_set": {"metadata_items": 1}})
    assert r.status_code == 200, r.text
    sid, _ = boot(http, agent, base_image["id"], token=t.member.token)
    meta = {"a": "1", "b": "2"}
    r = action(http, sid, {"createImage": {"name": "q", "metadata": meta}},
               mv="2.38", token=t.member.token)
    assert fault(r) == (403, "Image metadata limit exceeded")
    # 2.39 dropped the check along with the image-metadata proxy.
    image_id = snapshot(http, sid, metadata=meta, mv="2.39",
                        token=t.member.token)
    agent.result(agent.expect("snapshot", sid))
    img = lib.image_get(http, image_id, token=t.member.token)
    assert (img["a"], img["b"], img["owner"]) == ("1", "2", t.project_id)


def test_create_image_metadata_is_glance_checked(http, agent, server):
    r = action(http, server, {"createImage": {
        "name": "r", "metadata": {"os_glance_x": "1"}}})
    assert fault(r) == (403, "Attribute 'os_glance_x' is reserved.")
    r = action(http, server, {"createImage": {
        "name": "r", "metadata": {"status": "active"}}})
    assert fault(r) == (403, "Attribute 'status' is read-only.")
    r = action(http, server, {"createImage": {
        "name": "r", "metadata": {"min_disk": "5"}}})
    assert r.status_code == 400, r.text
    assert server_of(http, server)["OS-EXT-STS:task_state"] is None
    # Nova's glance client writes name and visibility over the metadata.
    image_id = snapshot(http, server, name="mine", metadata={
        "name": "theirs", "visibility": "public"})
    agent.result(agent.expect("snapshot", server))
    lib.wait_server(http, server, "ACTIVE")
    img = lib.image_get(http, image_id)
    assert (img["name"], img["visibility"]) == ("mine", "private")
    assert "theirs" not in img.values()


def test_admin_snapshot_of_tenant_server(http, agent, base_image, tenant):
    """compute/utils.py: another project's snapshot is shared with it."""
    sid, _ = boot(http, agent, base_image["id"], token=tenant.member.token)
    image_id = snapshot(http, sid)
    agent.result(agent.expect("snapshot", sid))
    img = lib.image_get(http, image_id)
    assert (img["owner"], img["visibility"]) == (http.admin_project_id,
                                                 "shared")
    assert img["owner_id"] == tenant.project_id
    r = http.image("GET", "/v2/images/%s/members" % image_id)
    assert [m["member_id"] for m in r.json()["members"]] == [
        tenant.project_id]
    assert lib.image_get(http, image_id, token=tenant.member.token)["id"] == \
        image_id


# --------------------------------------------------------------------------
# the service role on Glance: read any image, upload, nothing else
# --------------------------------------------------------------------------

def test_service_token_image_access(http, agent, tenant, tmp_path):
    data = qcow2_bytes(tmp_path)
    priv = lib.image_create(http, token=tenant.member.token,
                            name=lib.unique("priv"), disk_format="qcow2",
                            container_format="bare", visibility="private")
    assert lib.image_upload(http, priv["id"], data,
                            token=tenant.member.token).status_code == 204
    comm = lib.image_create(http, token=tenant.member.token,
                            name=lib.unique("comm"), disk_format="qcow2",
                            container_format="bare", visibility="community")
    assert lib.image_upload(http, comm["id"], data,
                            token=tenant.member.token).status_code == 204
    for img in (priv, comm):
        r = http.image("GET", "/v2/images/%s" % img["id"], token=agent.token)
        assert r.status_code == 200, r.text
        r = http.image("GET", "/v2/images/%s/file" % img["id"],
                       token=agent.token)
        assert r.status_code == 200 and r.content == data
    # Nothing else: listing, changing, deleting stay as for any project.
    r = http.image("GET", "/v2/images", token=agent.token)
    assert priv["id"] not in [i["id"] for i in r.json()["images"]]
    r = lib.image_patch(http, priv["id"], [
        {"op": "replace", "path": "/name", "value": "x"}], token=agent.token)
    assert r.status_code in (403, 404), r.text
    r = http.image("DELETE", "/v2/images/%s" % priv["id"], token=agent.token)
    assert r.status_code in (403, 404), r.text
    assert lib.image_get(http, priv["id"], token=tenant.member.token)[
        "name"] == priv["name"]
    # Another project's user still cannot see the private image.
    t2 = lib.Tenant(http, "other")
    r = http.image("GET", "/v2/images/%s" % priv["id"], token=t2.member.token)
    assert r.status_code == 404
    r = lib.image_upload(http, priv["id"], data, token=t2.member.token)
    assert r.status_code == 404, r.text


# --------------------------------------------------------------------------
# the CLI: openstack server image create --wait
# --------------------------------------------------------------------------

def test_server_image_create_wait_cli(http, agent, server, client_env,
                                      tmp_path):
    name = lib.unique("cli-snap")
    proc = subprocess.Popen(
        [lib.OPENSTACK_CLI, "server", "image", "create", "--name", name,
         "--wait", "-f", "json", server],
        env=client_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        task = agent.expect("snapshot", server, timeout=60)
        image_id = task["params"]["image_id"]
        time.sleep(1)         # the CLI is polling the queued image
        assert proc.poll() is None, proc.communicate()
        r = lib.image_upload(http, image_id, qcow2_bytes(tmp_path),
                             token=agent.token)
        assert r.status_code == 204, r.text
        agent.result(task)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    img = lib.loads_cli(out, ["openstack"])
    assert (img["id"], img["name"], img["status"]) == (image_id, name,
                                                       "active")
    lib.wait_server(http, server, "ACTIVE")
