"""Servers end to end through Debian's real `openstack` and `nova` CLIs, on the
all-in-one daemon: its embedded compute agent runs libvirt's test driver (the fake
hypervisor), schedules with the in-process filter scheduler, and reports back over
the agent protocol. Nothing here is mocked."""

import base64
import time

import pytest

import novalite_testlib as lib

pytestmark = pytest.mark.usefixtures("roomy_quota")
wait_status = lib.wait_server






@pytest.fixture(scope="module")
def keypair(osc, ed25519):
    name = lib.unique("k")
    osc("keypair", "create", "--public-key", ed25519[1], name)
    return name




def boot(http, image, name=None, flavor="1", token=lib._DEFAULT, **extra):
    body = {"server": dict({"name": name or lib.unique("vm"), "imageRef": image,
                            "flavorRef": flavor}, **extra)}
    r = http.compute("POST", "/servers", token=token, json=body)
    assert r.status_code == 202, r.text
    return r.json()["server"]["id"]


# ---- create, show, list ----------------------------------------------------


def test_create_wait_active_with_key_property_user_data(osc, image, keypair,
                                                        tmp_path, http):
    ud = tmp_path / "u.txt"
    ud.write_text("#cloud-config\nhostname: vm1\n")
    name = lib.unique("vm1")
    s = osc("server", "create", "--image", image, "--flavor", "m1.tiny",
            "--key-name", keypair, "--property", "a=b", "--user-data", ud,
            "--wait", name)
    assert s["status"] == "ACTIVE", s
    assert s["key_name"] == keypair
    assert s["properties"] in ({"a": "b"}, "a='b'"), s["properties"]
    assert s["OS-EXT-STS:power_state"] in (1, "Running")
    host = s["OS-EXT-SRV-ATTR:host"]        # admin sees the host chosen
    assert host, s
    full = http.compute("GET", "/servers/%s" % s["id"], microversion="2.3")
    srv = full.json()["server"]
    assert base64.b64decode(srv["OS-EXT-SRV-ATTR:user_data"]).startswith(
        b"#cloud-config")
    assert srv["OS-EXT-SRV-ATTR:instance_name"].startswith("instance-")
    assert srv["OS-SRV-USG:launched_at"]
    assert srv["addresses"]["private"][0]["version"] == 4


def test_create_min_max_five_none_lost(osc, image):
    name = lib.unique("web")
    osc("server", "create", "--image", image, "--flavor", "m1.tiny",
        "--min", 5, "--max", 5, "--wait", name, json=False)
    rows = [r for r in osc("server", "list", "--name", "^%s-" % name)]
    assert sorted(r["Name"] for r in rows) == [
        "%s-%d" % (name, i) for i in range(1, 6)]
    assert {r["Status"] for r in rows} == {"ACTIVE"}


def test_list_filters_long_limit(osc, image, http):
    name = lib.unique("lst")
    sid = boot(http, image, name=name)
    wait_status(http, sid, "ACTIVE")
    rows = osc("server", "list", "--name", name)
    assert [r["ID"] for r in rows] == [sid]
    assert osc("server", "list", "--name", "^no-such-server$") == []
    long_rows = osc("server", "list", "--long", "--name", name)
    assert long_rows[0]["Power State"] in ("Running", 1)
    host = long_rows[0]["Host"]
    assert host
    assert sid in [r["ID"] for r in osc("server", "list", "--host", host)]
    assert sid in [r["ID"] for r in osc("server", "list", "--status", "ACTIVE")]
    assert sid not in [r["ID"] for r in osc("server", "list", "--status",
                                             "SHUTOFF")]
    assert len(osc("server", "list", "--limit", 1)) == 1
    assert sid in [r["ID"] for r in osc("server", "list", "--all-projects")]


def test_paging_links(http, image):
    for _ in range(3):
        boot(http, image, name=lib.unique("page"))
    r = http.compute("GET", "/servers", params={"limit": 2})
    body = r.json()
    assert len(body["servers"]) == 2
    nxt = body["servers_links"][0]
    assert nxt["rel"] == "next" and "marker=" in nxt["href"]
    marker = body["servers"][-1]["id"]
    r2 = http.compute("GET", "/servers", params={"limit": 2, "marker": marker})
    assert r2.status_code == 200
    assert marker not in [s["id"] for s in r2.json()["servers"]]
    bad = http.compute("GET", "/servers", params={"marker": "nope"})
    assert bad.status_code == 400
    assert "marker [nope] not found" in bad.json()["badRequest"]["message"]


def test_set_name_property_description(osc, http, image):
    sid = boot(http, image)
    wait_status(http, sid, "ACTIVE")
    new = lib.unique("vm2")
    osc("--os-compute-api-version", "2.19", "server", "set", "--name", new,
        "--property", "c=d", "--description", "a test box", sid, json=False)
    s = osc("--os-compute-api-version", "2.19", "server", "show", sid,
            json=True)
    assert s["name"] == new
    assert s["description"] == "a test box"
    assert "c" in str(s["properties"])


# ---- actions and the state machine ---------------------------------------


def test_actions_with_wait(osc, http, image):
    sid = boot(http, image)
    wait_status(http, sid, "ACTIVE")
    steps = [("stop", "SHUTOFF"), ("start", "ACTIVE"), ("reboot", "ACTIVE"),
             ("pause", "PAUSED"), ("unpause", "ACTIVE"),
             ("suspend", "SUSPENDED"), ("resume", "ACTIVE")]
    for action, status in steps:
        osc("server", action, sid, json=False)
        wait_status(http, sid, status)
    osc("server", "reboot", "--hard", "--wait", sid, json=False)
    assert wait_status(http, sid, "ACTIVE")["OS-EXT-STS:power_state"] == 1
    osc("server", "stop", sid, json=False)
    assert wait_status(http, sid, "SHUTOFF")["OS-EXT-STS:power_state"] == 4


def test_lock_unlock(osc, http, image, make_tenant, env_for, osc_raw):
    t = make_tenant("lock")
    sid = boot(http, image, token=t.member.token)
    wait_status(http, sid, "ACTIVE", token=t.member.token)
    osc("server", "lock", sid, env=env_for(t.member), json=False)
    r = http.compute("POST", "/servers/%s/action" % sid, token=t.member.token,
                     json={"os-stop": None})
    assert r.status_code == 409, r.text
    assert r.json()["conflictingRequest"]["message"] == \
        "Instance %s is locked" % sid
    s = http.compute("GET", "/servers/%s" % sid, token=t.member.token,
                     microversion="2.9").json()["server"]
    assert s["locked"] is True
    osc("server", "unlock", sid, env=env_for(t.member), json=False)
    r = http.compute("POST", "/servers/%s/action" % sid, token=t.member.token,
                     json={"os-stop": None})
    assert r.status_code == 202, r.text


ACTIONS = {
    "os-stop": None, "os-start": None, "pause": None, "unpause": None,
    "suspend": None, "resume": None, "reboot": {"type": "SOFT"},
    "reboot-hard": {"type": "HARD"},
}
# vm_state → actions Nova allows from it (nova/compute/api.py).
ALLOWED = {
    "ACTIVE": {"os-stop", "pause", "suspend", "reboot", "reboot-hard"},
    "SHUTOFF": {"os-start", "reboot-hard"},
    "PAUSED": {"unpause", "reboot-hard"},
    "SUSPENDED": {"resume", "reboot-hard"},
    "ERROR": {"os-stop", "reboot-hard"},
}
INTO = {"ACTIVE": [], "SHUTOFF": ["os-stop"], "PAUSED": ["pause"],
        "SUSPENDED": ["suspend"], "ERROR": ["reset-error"]}
SETTLED = {"os-stop": "SHUTOFF", "os-start": "ACTIVE", "pause": "PAUSED",
           "unpause": "ACTIVE", "suspend": "SUSPENDED", "resume": "ACTIVE",
           "reboot": "ACTIVE", "reboot-hard": "ACTIVE"}


def _post_action(http, sid, action):
    if action == "reset-error":
        body = {"os-resetState": {"state": "error"}}
    elif action.startswith("reboot"):
        body = {"reboot": ACTIONS[action]}
    else:
        body = {action: ACTIONS[action]}
    return http.compute("POST", "/servers/%s/action" % sid, json=body)


@pytest.mark.parametrize("state", sorted(ALLOWED))
def test_state_machine_every_action_from_every_state(http, image, state):
    for action in sorted(ACTIONS):
        sid = boot(http, image)
        wait_status(http, sid, "ACTIVE")
        for step in INTO[state]:
            assert _post_action(http, sid, step).status_code == 202
            wait_status(http, sid, state)
        r = _post_action(http, sid, action)
        if action in ALLOWED[state]:
            assert r.status_code == 202, (state, action, r.text)
            wait_status(http, sid, SETTLED[action])
        else:
            assert r.status_code == 409, (state, action, r.text)
            msg = r.json()["conflictingRequest"]["message"]
            assert msg.startswith("Cannot '") and sid in msg, msg
        http.compute("DELETE", "/servers/%s" % sid)


def test_action_while_building_or_task_pending_is_409(http, image):
    sid = boot(http, image)
    # Two stops back to back: the second finds task_state powering-off or
    # vm_state stopped; never two tasks at once.
    wait_status(http, sid, "ACTIVE")
    r1 = _post_action(http, sid, "os-stop")
    r2 = _post_action(http, sid, "os-stop")
    assert r1.status_code == 202
    assert r2.status_code == 409, r2.text


def test_unknown_action_and_bad_bodies(http, image):
    sid = boot(http, image)
    wait_status(http, sid, "ACTIVE")
    r = http.compute("POST", "/servers/%s/action" % sid, json={"fly": None})
    assert r.status_code == 400
    r = http.compute("POST", "/servers/%s/action" % sid,
                     json={"reboot": {"type": "GENTLE"}})
    assert r.status_code == 400
    assert "GENTLE" in r.json()["badRequest"]["message"]
    r = http.compute("POST", "/servers/%s/action" % sid,
                     json={"os-resetState": {"state": "building"}})
    assert r.status_code == 400


# ---- console, events, delete ---------------------------------------------


def test_console_log_and_events(osc, http, image):
    sid = boot(http, image)
    wait_status(http, sid, "ACTIVE")
    out = osc("console", "log", "show", sid, json=False)
    assert out and "login" in out.lower(), out
    tail = http.compute("POST", "/servers/%s/action" % sid,
                        json={"os-getConsoleOutput": {"length": 2}}).json()
    assert 0 < len(tail["output"].rstrip("\n").split("\n")) <= 2
    events = osc("server", "event", "list", sid)
    assert [e["Action"] for e in events] == ["create"]
    req = events[0]["Request ID"]
    shown = osc("server", "event", "show", sid, req)
    names = [e["event"] for e in shown["events"]]
    assert "conductor_schedule_and_build_instances" in names
    assert "compute__do_build_and_run_instance" in names
    assert all(e["result"] == "Success" for e in shown["events"])
    # From 2.84 every event shows its details: the scheduler's explanation.
    r = http.compute("GET", "/servers/%s/os-instance-actions/%s" % (sid, req),
                     microversion="2.84")
    ev = {e["event"]: e for e in r.json()["instanceAction"]["events"]}
    assert "host" in ev["conductor_schedule_and_build_instances"]["details"]


def test_delete_wait(osc, http, image):
    sid = boot(http, image)
    wait_status(http, sid, "ACTIVE")
    osc("server", "delete", "--wait", sid, json=False)
    assert http.compute("GET", "/servers/%s" % sid).status_code == 404
    # The deleted server still shows with changes-since, as DELETED.
    r = http.compute("GET", "/servers/detail",
                     params={"changes-since": "2000-01-01T00:00:00Z"})
    gone = [s for s in r.json()["servers"] if s["id"] == sid]
    assert gone and gone[0]["status"] == "DELETED"


# ---- nova CLI ----------------------------------------------------------------


def test_nova_cli_lifecycle(nova, image):
    name = lib.unique("nv")
    r = nova("boot", "--image", image, "--flavor", "m1.tiny", "--poll", name)
    assert "100% complete" in r.stdout or "Finished" in r.stdout, r.stdout
    assert name in nova("list").stdout
    show = nova("show", name).stdout
    assert "ACTIVE" in show
    log = nova("console-log", name).stdout
    assert "login" in log.lower()
    acts = nova("instance-action-list", name).stdout
    assert "create" in acts
    nova("delete", name)
    deadline = time.time() + 20
    while name in nova("list").stdout and time.time() < deadline:
        time.sleep(0.1)
    assert name not in nova("list").stdout


# ---- isolation, quotas, faults ---------------------------------------------


def test_other_projects_server_is_404(http, image, make_tenant):
    a, b = make_tenant("iso-a"), make_tenant("iso-b")
    sid = boot(http, image, token=a.member.token)
    for method, path, body in [("GET", "", None), ("DELETE", "", None),
                               ("POST", "/action", {"os-stop": None}),
                               ("GET", "/metadata", None),
                               ("GET", "/os-instance-actions", None)]:
        r = http.compute(method, "/servers/%s%s" % (sid, path),
                         token=b.member.token, json=body)
        assert r.status_code == 404, (method, path, r.text)
    assert sid not in [s["id"] for s in http.compute(
        "GET", "/servers", token=b.member.token).json()["servers"]]


def test_reader_cannot_create(http, image, make_tenant):
    t = make_tenant("rdr")
    r = http.compute("POST", "/servers", token=t.reader.token, json={
        "server": {"name": "x", "imageRef": image, "flavorRef": "1"}})
    assert r.status_code == 403, r.text


def test_over_quota_is_403_and_creates_nothing(http, image, make_tenant):
    t = make_tenant("quota")
    r = http.compute("PUT", "/os-quota-sets/%s" % t.project_id,
                     json={"quota_set": {"instances": 2}})
    assert r.status_code == 200, r.text
    before = http.compute("GET", "/servers", token=t.member.token).json()
    r = http.compute("POST", "/servers", token=t.member.token, json={
        "server": {"name": "q", "imageRef": image, "flavorRef": "1",
                   "min_count": 3}})
    assert r.status_code == 403, r.text
    assert r.json()["forbidden"]["message"].startswith(
        "Quota exceeded for instances: Requested 3, but already used 0 of 2")
    after = http.compute("GET", "/servers", token=t.member.token).json()
    assert before == after
    # max_count above the quota is lowered to what fits.
    r = http.compute("POST", "/servers", token=t.member.token, json={
        "server": {"name": "q", "imageRef": image, "flavorRef": "1",
                   "min_count": 1, "max_count": 5}})
    assert r.status_code == 202, r.text
    listed = http.compute("GET", "/servers", token=t.member.token).json()
    assert len(listed["servers"]) == 2
    lim = http.compute("GET", "/limits", token=t.member.token).json()
    assert lim["limits"]["absolute"]["totalInstancesUsed"] == 2


def test_no_valid_host_fault_explains(http, image, osc):
    name = lib.unique("huge")
    osc("flavor", "create", "--ram", 10 ** 7, "--disk", 1, "--vcpus", 1,
        name)
    sid = boot(http, image, flavor=osc("flavor", "show", name)["id"])
    s = wait_status(http, sid, "ERROR")
    msg = s["fault"]["message"]
    assert msg.startswith("No valid host was found."), msg
    assert "RamFilter" in msg, msg
    assert s["fault"]["code"] == 500


def test_bad_create_requests(http, image):
    cases = [
        ({"server": {"name": "x", "imageRef": image}}, "flavorRef"),
        ({"server": {"name": "x", "imageRef": image, "flavorRef": "nope"}},
         "Flavor nope could not be found."),
        ({"server": {"name": "x", "imageRef": lib.uuid.uuid4().hex,
                     "flavorRef": "1"}}, "could not be found"),
        ({"server": {"name": "x", "imageRef": image, "flavorRef": "1",
                     "key_name": "nokey"}}, "Invalid key_name provided."),
        ({"server": {"name": "x", "imageRef": image, "flavorRef": "1",
                     "availability_zone": "nowhere"}},
         "The requested availability zone is not available"),
        ({"server": {"name": "x", "imageRef": image, "flavorRef": "1",
                     "user_data": "not base64!"}}, "is not a 'base64'"),
        ({"server": {"name": "x", "imageRef": image, "flavorRef": "1",
                     "bogus": 1}}, "Additional properties are not allowed"),
        ({"server": {"name": "", "imageRef": image, "flavorRef": "1"}},
         "name"),
        ({"server": {"name": "x", "imageRef": image, "flavorRef": "1",
                     "min_count": 0}}, "min_count"),
    ]
    before = http.compute("GET", "/servers").json()
    for body, needle in cases:
        r = http.compute("POST", "/servers", json=body)
        assert r.status_code == 400, (body, r.text)
        assert needle in r.json()["badRequest"]["message"], (body, r.text)
    assert http.compute("GET", "/servers").json() == before
    r = http.compute("POST", "/servers", json={"server": {
        "name": "x", "imageRef": image, "flavorRef": "1"}},
        microversion="2.37")
    assert r.status_code == 400 and "networks" in r.text


def test_networks_none_has_no_addresses(http, image):
    r = http.compute("POST", "/servers", microversion="2.37", json={
        "server": {"name": lib.unique("nonet"), "imageRef": image,
                   "flavorRef": "1", "networks": "none"}})
    assert r.status_code == 202, r.text
    s = wait_status(http, r.json()["server"]["id"], "ACTIVE")
    assert s["addresses"] == {}


def test_return_reservation_id_and_tags(http, image):
    r = http.compute("POST", "/servers", microversion="2.52", json={
        "server": {"name": lib.unique("rsv"), "imageRef": image,
                   "flavorRef": "1", "networks": "auto",
                   "return_reservation_id": True, "tags": ["a", "b"],
                   "min_count": 2}})
    assert r.status_code == 202, r.text
    rid = r.json()["reservation_id"]
    assert rid.startswith("r-")
    listed = http.compute("GET", "/servers/detail", microversion="2.52",
                          params={"reservation_id": rid}).json()["servers"]
    assert len(listed) == 2
    assert all(s["tags"] == ["a", "b"] for s in listed)
    sid = listed[0]["id"]
    wait_status(http, sid, "ACTIVE")
    assert http.compute("PUT", "/servers/%s/tags/c" % sid,
                        microversion="2.26").status_code == 201
    assert http.compute("GET", "/servers/%s/tags" % sid, microversion="2.26"
                        ).json()["tags"] == ["a", "b", "c"]
    tagged = http.compute("GET", "/servers", microversion="2.26",
                          params={"tags": "a,c"}).json()["servers"]
    assert [s["id"] for s in tagged] == [sid]


def test_metadata_subresource(http, image):
    sid = boot(http, image, metadata={"k1": "v1"})
    wait_status(http, sid, "ACTIVE")
    base = "/servers/%s/metadata" % sid
    assert http.compute("GET", base).json() == {"metadata": {"k1": "v1"}}
    r = http.compute("POST", base, json={"metadata": {"k2": "v2"}})
    assert r.json()["metadata"] == {"k1": "v1", "k2": "v2"}
    r = http.compute("PUT", base + "/k3", json={"meta": {"k3": "v3"}})
    assert r.status_code == 200 and r.json() == {"meta": {"k3": "v3"}}
    assert http.compute("DELETE", base + "/k1").status_code == 204
    assert http.compute("GET", base + "/k1").status_code == 404
    r = http.compute("PUT", base, json={"metadata": {"only": "this"}})
    assert http.compute("GET", base).json() == {"metadata": {"only": "this"}}


def test_image_architecture_is_a_scheduling_constraint(http):
    """ImagePropertiesFilter: an aarch64 image finds no x86_64 host."""
    img = lib.image_create(http, name=lib.unique("arm"), disk_format="raw",
                           container_format="bare", hw_architecture="aarch64")
    assert lib.image_upload(http, img["id"], b"\0" * 512).status_code == 204
    sid = boot(http, img["id"])
    s = wait_status(http, sid, "ERROR")
    assert "ImagePropertiesFilter" in s["fault"]["message"], s["fault"]
    assert "aarch64" in s["fault"]["message"], s["fault"]
