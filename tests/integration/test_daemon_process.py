"""Process contract of novalite-api: flags, openrc, admin password, SIGTERM."""

import subprocess
import time

import pytest
import requests

import novalite_testlib as lib
from novalite_testlib import start_daemon, stop_daemon


def _bin():
    b = lib.api_bin()
    if not b.exists():
        pytest.fail("novalite-api binary not found at %s" % b, pytrace=False)
    return str(b)


def test_help_lists_flags():
    r = subprocess.run([_bin(), "--help"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    for flag in ("--state-dir", "--bind", "--identity-port",
                 "--compute-port", "--image-port"):
        assert flag in out, "%s missing from --help:\n%s" % (flag, out)


@pytest.mark.parametrize("argv", [
    ["--no-such-flag"],
    ["--compute-port", "not-a-port"],
    ["--identity-port"],                     # missing value
])
def test_bad_flag_exits_2_with_one_line_error(argv, tmp_path):
    r = subprocess.run([_bin(), "--state-dir", str(tmp_path)] + argv,
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, "expected a one-line error, got:\n" + r.stderr
    assert not (tmp_path / "openrc").exists()


def test_openrc_contents_and_forced_password(tmp_path):
    d = start_daemon(tmp_path, env_extra={
        "NOVALITE_ADMIN_PASSWORD": "S3cret-forced-pw"})
    try:
        rc = d.openrc
        assert rc["OS_AUTH_URL"] == "http://127.0.0.1:%d/v3" % d.identity_port
        assert rc["OS_USERNAME"] == "admin"
        assert rc["OS_PASSWORD"] == "S3cret-forced-pw"
        assert rc["OS_PROJECT_NAME"] == "admin"
        assert rc["OS_USER_DOMAIN_NAME"] == "Default"
        assert rc["OS_PROJECT_DOMAIN_NAME"] == "Default"
        assert rc["OS_IDENTITY_API_VERSION"] == "3"
        assert rc["OS_REGION_NAME"] == "RegionOne"
        # every line is an `export OS_...=...` line
        for line in (d.state_dir / "openrc").read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                assert line.startswith("export OS_"), line
        # the forced password actually works, a wrong one does not
        http = lib.Http(d, "admin", "S3cret-forced-pw")
        assert http.auth("admin", "S3cret-forced-pw", "admin").status_code \
            == 201
        assert http.auth("admin", "wrong", "admin").status_code == 401
        # ready means serving: compute answers immediately
        r = http.compute("GET", "/flavors")
        assert r.status_code == 200, r.text
    finally:
        stop_daemon(d)


def test_sigterm_exits_zero_quickly(tmp_path):
    d = start_daemon(tmp_path)
    t0 = time.monotonic()
    stop_daemon(d)                       # asserts rc == 0 within the timeout
    assert time.monotonic() - t0 < lib.STOP_TIMEOUT


def test_state_persists_across_restart(tmp_path):
    """A flavor created before a restart is still there afterwards."""
    d = start_daemon(tmp_path, env_extra={"NOVALITE_ADMIN_PASSWORD": "pw1"})
    try:
        http = lib.Http(d, "admin", "pw1")
        name = lib.unique("persist")
        r = http.compute("POST", "/flavors", json={"flavor": {
            "name": name, "ram": 128, "vcpus": 1, "disk": 0, "id": name}})
        assert r.status_code == 200, r.text
    finally:
        stop_daemon(d)
    # the old openrc (with the old ports) must not be mistaken for readiness
    (d.state_dir / "openrc").unlink(missing_ok=True)
    d2 = lib.Daemon(d.state_dir, env_extra={"NOVALITE_ADMIN_PASSWORD": "pw1"})
    d2.start()
    try:
        d2.wait_ready()
        http = lib.Http(d2, "admin", "pw1")
        r = http.compute("GET", "/flavors/" + name)
        assert r.status_code == 200, r.text
        assert r.json()["flavor"]["name"] == name
    finally:
        stop_daemon(d2)


def test_generated_password_survives_restart(tmp_path):
    """Without NOVALITE_ADMIN_PASSWORD the first start generates a password; a
    restart on the same state dir keeps it (and writes it to openrc again)."""
    env = {"NOVALITE_ADMIN_PASSWORD": ""}
    d = start_daemon(tmp_path, env_extra=env)
    try:
        pw = d.openrc["OS_PASSWORD"]
        assert len(pw) >= 16
    finally:
        stop_daemon(d)
    d2 = lib.Daemon(d.state_dir, env_extra=env)
    d2.start()
    try:
        d2.wait_ready()
        assert d2.openrc["OS_PASSWORD"] == pw
        http = lib.Http(d2, "admin", pw)
        assert http.auth("admin", pw, "admin").status_code == 201
    finally:
        stop_daemon(d2)


def test_expired_token_is_rejected_everywhere(tmp_path):
    """[identity] token_expiration: once a token expires it is 401 on every
    API and 404 when validated (Keystone's test_validate_expired_... tests)."""
    conf = tmp_path / "short.conf"
    conf.write_text("[identity]\ntoken_expiration = 2\n")
    d = start_daemon(tmp_path, env_extra={"NOVALITE_ADMIN_PASSWORD": "pw"},
                     extra_args=("--config", str(conf)))
    try:
        http = lib.Http(d, "admin", "pw")
        tok, body = http.token("admin", "pw", "admin")
        other, _ = http.token("admin", "pw", "admin")
        assert http.compute("GET", "/flavors", token=tok).status_code == 200
        r = http.identity("GET", "/auth/tokens", token=other,
                          headers={"X-Subject-Token": tok})
        assert r.status_code == 200, r.text
        time.sleep(2.5)
        r = http.compute("GET", "/flavors", token=tok)
        assert r.status_code == 401, r.text
        assert r.json()["unauthorized"]["code"] == 401
        r = http.identity("GET", "/projects", token=tok)
        assert r.status_code == 401, r.text
        fresh, _ = http.token("admin", "pw", "admin")
        r = http.identity("GET", "/auth/tokens", token=fresh,
                          headers={"X-Subject-Token": tok})
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == 404
    finally:
        stop_daemon(d)


def test_servers_survive_an_all_in_one_restart(tmp_path):
    """The fake hypervisor keeps nothing across a restart: the embedded agent
    re-creates its servers' domains from the database (reconcile), so they
    are still ACTIVE and running, and still answer to actions."""
    env = {"NOVALITE_ADMIN_PASSWORD": "pw1"}
    d = start_daemon(tmp_path, env_extra=env)
    try:
        http = lib.Http(d, "admin", "pw1")
        img = lib.image_create(http, name="r", disk_format="raw",
                               container_format="bare")
        assert lib.image_upload(http, img["id"], b"\0" * 512).status_code == 204
        r = http.compute("POST", "/servers", json={"server": {
            "name": "survivor", "imageRef": img["id"], "flavorRef": "1"}})
        assert r.status_code == 202, r.text
        sid = r.json()["server"]["id"]
        lib.wait_server(http, sid, "ACTIVE")
    finally:
        stop_daemon(d)
    (d.state_dir / "openrc").unlink(missing_ok=True)
    d2 = lib.Daemon(d.state_dir, env_extra=env)
    d2.start()
    try:
        d2.wait_ready()
        http = lib.Http(d2, "admin", "pw1")
        s = lib.wait_server(http, sid, "ACTIVE")
        assert s["OS-EXT-STS:power_state"] == 1
        r = http.compute("POST", "/servers/%s/action" % sid,
                         json={"os-stop": None})
        assert r.status_code == 202, r.text
        assert lib.wait_server(http, sid, "SHUTOFF")["OS-EXT-STS:power_state"] == 4
    finally:
        stop_daemon(d2)


def test_port_in_use_is_an_error(tmp_path):
    """A second daemon on a port that is taken must fail to start, not share
    the port (no SO_REUSEPORT) and silently take half its connections."""
    d = start_daemon(tmp_path / "a")
    try:
        argv = [str(lib.api_bin()), "--state-dir", str(tmp_path / "b"),
                "--bind", "127.0.0.1",
                "--identity-port", str(lib.free_ports(1)[0]),
                "--compute-port", str(d.compute_port),
                "--image-port", str(lib.free_ports(1)[0]),
                "--internal-port", str(lib.free_ports(1)[0])]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "cannot listen on 127.0.0.1:%d for compute" % d.compute_port \
            in r.stderr, r.stderr
        assert not (tmp_path / "b" / "openrc").exists()
    finally:
        stop_daemon(d)


def test_log_injection_is_escaped(tmp_path):
    """A URL carrying %0a and %1b (decoded by MHD to LF and ESC) gives exactly
    one access-log line, with the bytes shown as \\x0a and \\x1b: no forged
    second line, no terminal escape reaching the log."""
    d = start_daemon(tmp_path)
    try:
        marker = "zq7%0aFAKE compute GET /v2.1 200%1b[31mred"
        r = requests.get("http://127.0.0.1:%d/v2.1/%s" % (d.compute_port, marker),
                         timeout=10)
        assert r.status_code in (401, 404), r.status_code
    finally:
        stop_daemon(d)
    log = d.stderr_text(tail=200000)
    assert "\x1b" not in log
    lines = [ln for ln in log.splitlines() if "zq7" in ln]
    assert len(lines) == 1, lines
    assert "zq7\\x0aFAKE compute GET /v2.1 200\\x1b[31mred" in lines[0], lines[0]
    assert not any(ln.startswith("FAKE") for ln in log.splitlines())
