"""Helpers shared by the novalite integration tests.

Pure functions / small classes only: the daemon lifecycle and the fixtures
live in conftest.py.  Everything here must be importable without the daemon
binary existing, so that `pytest tests/integration` always collects.
"""

import base64
import hashlib
import json
import os
import shlex
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
import requests.adapters
from urllib3.util.retry import Retry

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parent.parent

# Debian's CLIs (they use /usr/bin/python3 and the Debian dist-packages).
OPENSTACK_CLI = "/usr/bin/openstack"
NOVA_CLI = "/usr/bin/nova"

READY_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0 if os.environ.get("NOVALITE_ASAN") == "1" else 5.0
CLI_TIMEOUT = 120

# Defaults from nova/conf/quota.py (Nova 26, python3-nova).
DEFAULT_QUOTAS = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "metadata_items": 128,
    "injected_files": 5,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
    "key_pairs": 100,
    "server_groups": 10,
    "server_group_members": 10,
}

# The flavors the daemon must bootstrap (contract in the brief).
DEFAULT_FLAVORS = {
    # id: (name, ram MiB, vcpus, disk GiB)
    "1": ("m1.tiny", 512, 1, 1),
    "2": ("m1.small", 2048, 1, 20),
    "3": ("m1.medium", 4096, 2, 40),
    "4": ("m1.large", 8192, 4, 80),
    "5": ("m1.xlarge", 16384, 8, 160),
}

MAX_MICROVERSION = "2.93"


def api_bin():
    """Path of the novalite-api binary under test."""
    env = os.environ.get("NOVALITE_API_BIN")
    if env:
        return Path(env)
    build = "build-asan" if os.environ.get("NOVALITE_ASAN") == "1" else "build"
    return REPO / build / "novalite-api"


def free_ports(n):
    """Return n distinct free TCP ports on 127.0.0.1."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def parse_openrc(text):
    """Parse `export OS_X=value` lines (values may be shell-quoted)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line, comments=True)
        if words and words[0] == "export":
            words = words[1:]
        for w in words:
            if "=" in w:
                k, v = w.split("=", 1)
                out[k] = v
    return out


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def ssh_fingerprint(public_key):
    """Nova's fingerprint: md5 of the decoded key blob, colon-separated hex.

    See nova/crypto.py generate_fingerprint().
    """
    blob = base64.b64decode(public_key.split()[1])
    raw = hashlib.md5(blob).hexdigest()
    return ":".join(raw[i:i + 2] for i in range(0, len(raw), 2))


def gen_ed25519(directory, name="id_ed25519"):
    """Generate an ed25519 key pair with ssh-keygen; return (priv, pub)."""
    path = Path(directory) / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
         "novalite-test", "-f", str(path)],
        check=True, capture_output=True, timeout=30)
    return path, Path(str(path) + ".pub")


def public_from_private(private_key_text, directory):
    """Derive the OpenSSH public key from a private key via ssh-keygen -y."""
    p = Path(directory) / ("priv-%s" % uuid.uuid4().hex[:8])
    p.write_text(private_key_text)
    os.chmod(p, 0o600)
    r = subprocess.run(["ssh-keygen", "-y", "-f", str(p)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (
        "ssh-keygen could not read the private key the server returned:\n"
        + r.stderr + "\n---\n" + private_key_text[:200])
    return r.stdout.strip()


def key_blob(public_key):
    """'ssh-xxx AAAA... comment' -> ('ssh-xxx', 'AAAA...')."""
    parts = public_key.split()
    return parts[0], parts[1]


def parse_table(text):
    """Parse prettytable output (nova CLI) into a list of tables.

    Each table is a list of dicts keyed by the header row.  A table is
    border / header / border / rows... / border; tables may follow each
    other without a blank line in between.
    """
    tables = []
    header, rows, borders = None, None, 0
    for line in text.splitlines():
        line = line.rstrip()
        if line.startswith("+"):
            borders += 1
            if borders == 3 and header is not None:
                tables.append(rows)
                header, rows, borders = None, None, 0
            continue
        if not line.startswith("|"):
            if header is not None:
                tables.append(rows)
            header, rows, borders = None, None, 0
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header, rows = cells, []
        else:
            rows.append(dict(zip(header, cells)))
    if header is not None:
        tables.append(rows)
    return tables


def property_table(text):
    """nova *-show output: Property | Value table -> dict."""
    tables = parse_table(text)
    assert tables, "no table in output:\n" + text
    return {r["Property"]: r["Value"] for r in tables[0]}


class Daemon:
    """One novalite-api process with its own state dir and ports."""

    def __init__(self, state_dir, env_extra=None, extra_args=()):
        self.bin = api_bin()
        self.state_dir = Path(state_dir)
        (self.identity_port, self.compute_port, self.image_port,
         self.internal_port) = free_ports(4)
        self.env_extra = dict(env_extra or {})
        self.extra_args = list(extra_args)
        self.proc = None
        self.openrc = {}
        self.stderr_path = self.state_dir.parent / (
            self.state_dir.name + "-stderr.log")

    @property
    def argv(self):
        return [str(self.bin),
                "--state-dir", str(self.state_dir),
                "--bind", "127.0.0.1",
                "--identity-port", str(self.identity_port),
                "--compute-port", str(self.compute_port),
                "--image-port", str(self.image_port),
                "--internal-port", str(self.internal_port)] + self.extra_args

    def stderr_text(self, tail=8000):
        try:
            data = self.stderr_path.read_text(errors="replace")
        except OSError:
            return "<no stderr captured>"
        return data[-tail:]

    def start(self):
        if not self.bin.exists():
            raise FileNotFoundError(
                "novalite-api binary not found at %s (build it first, or set "
                "NOVALITE_API_BIN; NOVALITE_ASAN=1 selects build-asan/)"
                % self.bin)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(self.env_extra)
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=self._stderr,
            stderr=self._stderr, env=env)

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Wait for DIR/openrc; return parsed dict or raise with stderr."""
        openrc = self.state_dir / "openrc"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError(
                    "novalite-api exited with %s before becoming ready.\n"
                    "argv: %s\n--- stderr ---\n%s"
                    % (rc, " ".join(self.argv), self.stderr_text()))
            if openrc.exists():
                try:
                    parsed = parse_openrc(openrc.read_text())
                except ValueError:
                    parsed = {}
                # An openrc left by a previous run on this state dir names
                # other ports: only ours means this daemon is ready.
                mine = ":%d/" % self.identity_port
                if (mine in parsed.get("OS_AUTH_URL", "")
                        and parsed.get("OS_PASSWORD")):
                    self.openrc = parsed
                    return parsed
            time.sleep(0.05)
        raise RuntimeError(
            "novalite-api did not write %s within %.0fs.\nargv: %s\n"
            "--- stderr ---\n%s" % (openrc, timeout, " ".join(self.argv),
                                    self.stderr_text()))

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; return exit code (None if it had to be SIGKILLed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._stderr.close()
                return None
        self._stderr.close()
        return self.proc.returncode

    @property
    def identity_url(self):
        return "http://127.0.0.1:%d/v3" % self.identity_port

    @property
    def compute_root(self):
        return "http://127.0.0.1:%d" % self.compute_port

    @property
    def compute_url(self):
        return self.compute_root + "/v2.1"


def start_daemon(tmp_dir, env_extra=None, extra_args=(), ready_timeout=None):
    """Start a daemon and wait for its openrc; pytest.fail() on problems.
    ready_timeout: longer for an embedded agent on qemu:///system, whose KVM
    probe runs before the openrc is written (up to kvm_probe_timeout)."""
    d = Daemon(Path(tmp_dir) / "state", env_extra=env_extra,
               extra_args=extra_args)
    problem = None
    try:
        d.start()
        d.wait_ready(ready_timeout or READY_TIMEOUT)
    except (FileNotFoundError, RuntimeError) as e:
        problem = str(e)
    except OSError as e:
        problem = "could not start %s: %s" % (d.bin, e)
    if problem is not None:
        d.stop()
        pytest.fail(problem, pytrace=False)
    return d


def stop_daemon(d):
    """SIGTERM and assert a clean exit (code 0) within STOP_TIMEOUT."""
    if d.proc is not None and d.proc.poll() is not None:
        rc = d.proc.returncode
        d.stop()
        pytest.fail("novalite-api died during the tests (exit %s)\n"
                    "--- stderr ---\n%s" % (rc, d.stderr_text()),
                    pytrace=False)
    rc = d.stop()
    if rc is None:
        pytest.fail("novalite-api did not exit within %.0fs of SIGTERM\n"
                    "--- stderr ---\n%s" % (STOP_TIMEOUT,
                                            d.stderr_text()),
                    pytrace=False)
    if rc != 0:
        pytest.fail("novalite-api exited with %s after SIGTERM (expected 0)"
                    "\n--- stderr ---\n%s" % (rc, d.stderr_text()),
                    pytrace=False)


_DEFAULT = object()


class _FreshSession(requests.Session):
    """A Session that does not reuse a pooled connection idle for more than 5 s:
    the daemon closes keep-alive connections idle for connection_timeout (10 s),
    and a write (POST) sent on one just as it closes fails with
    RemoteDisconnected and cannot be retried safely."""

    _last = 0.0

    def request(self, *args, **kwargs):
        if time.monotonic() - self._last > 5:
            for adapter in self.adapters.values():
                adapter.close()           # new connections from here on
        try:
            return super().request(*args, **kwargs)
        finally:
            self._last = time.monotonic()


class Http:
    """Raw HTTP access to the daemon with `requests`."""

    def __init__(self, daemon, admin_user, admin_password,
                 admin_project="admin"):
        self.d = daemon
        self.s = _FreshSession()
        self.s.trust_env = False          # never go through a proxy
        # The daemon closes keep-alive connections idle for connection_timeout
        # (10 s); a pooled connection can be closed just as it is reused. Retry
        # idempotent reads then, as keystoneauth's session does; never writes.
        retry = Retry(total=2, connect=2, read=2, status=0,
                      allowed_methods=frozenset(["GET", "HEAD"]),
                      raise_on_status=False)
        adapter = requests.adapters.HTTPAdapter(max_retries=retry)
        self.s.mount("http://", adapter)
        self.admin_user = admin_user
        self.admin_password = admin_password
        self.admin_project = admin_project
        self._admin_token = None
        self._admin_auth = None

    # ---- identity --------------------------------------------------------
    def auth(self, user, password, project=None, user_domain="Default",
             project_domain="Default"):
        """POST /v3/auth/tokens; returns the raw response."""
        body = {"auth": {"identity": {
            "methods": ["password"],
            "password": {"user": {"name": user,
                                  "domain": {"name": user_domain},
                                  "password": password}}}}}
        if project is not None:
            body["auth"]["scope"] = {"project": {
                "name": project, "domain": {"name": project_domain}}}
        return self.s.post(self.d.identity_url + "/auth/tokens", json=body,
                           timeout=15)

    def token(self, user, password, project=None):
        r = self.auth(user, password, project)
        assert r.status_code == 201, (
            "auth as %s failed: %s %s" % (user, r.status_code, r.text))
        tok = r.headers.get("X-Subject-Token")
        assert tok, "no X-Subject-Token header in %r" % dict(r.headers)
        return tok, r.json()

    @property
    def admin_token(self):
        if self._admin_token is None:
            self._admin_token, self._admin_auth = self.token(
                self.admin_user, self.admin_password, self.admin_project)
        return self._admin_token

    @property
    def admin_auth(self):
        self.admin_token
        return self._admin_auth

    @property
    def admin_user_id(self):
        return self.admin_auth["token"]["user"]["id"]

    @property
    def admin_project_id(self):
        return self.admin_auth["token"]["project"]["id"]

    def _headers(self, token, headers):
        h = {}
        if token is _DEFAULT:
            token = self.admin_token
        if token is not None:
            h["X-Auth-Token"] = token
        h.update(headers or {})
        return h

    def identity(self, method, path, token=_DEFAULT, headers=None, **kw):
        kw.setdefault("timeout", 15)
        return self.s.request(method, self.d.identity_url + path,
                              headers=self._headers(token, headers), **kw)

    # ---- compute ---------------------------------------------------------
    def compute(self, method, path, token=_DEFAULT, microversion=None,
                headers=None, **kw):
        h = self._headers(token, headers)
        if microversion is not None:
            h["OpenStack-API-Version"] = "compute %s" % microversion
        kw.setdefault("timeout", 15)
        return self.s.request(method, self.d.compute_url + path, headers=h,
                              **kw)

    def compute_root(self, method, path, token=None, **kw):
        kw.setdefault("timeout", 15)
        return self.s.request(method, self.d.compute_root + path,
                              headers=self._headers(token, None), **kw)

    # ---- state snapshots (to prove failed writes changed nothing) --------
    def compute_state(self):
        r = self.compute("GET", "/flavors/detail",
                         params={"is_public": "None"})
        assert r.status_code == 200, r.text
        flavors = sorted(
            (f["id"], f["name"], f["ram"], f["vcpus"], f["disk"],
             f.get("os-flavor-access:is_public"))
            for f in r.json()["flavors"])
        r = self.compute("GET", "/os-keypairs")
        assert r.status_code == 200, r.text
        keypairs = sorted(k["keypair"]["name"] for k in r.json()["keypairs"])
        return {"flavors": flavors, "keypairs": keypairs}

    # ---- identity setup helpers -----------------------------------------
    def role_id(self, name):
        r = self.identity("GET", "/roles", params={"name": name})
        assert r.status_code == 200, r.text
        roles = [x for x in r.json()["roles"] if x["name"] == name]
        assert roles, "role %s not found: %s" % (name, r.text)
        return roles[0]["id"]

    def create_project(self, name):
        r = self.identity("POST", "/projects", json={"project": {
            "name": name, "domain_id": "default",
            "description": "novalite test project"}})
        assert r.status_code == 201, r.text
        return r.json()["project"]

    def create_user(self, name, password, project_id=None):
        user = {"name": name, "password": password, "domain_id": "default"}
        if project_id:
            user["default_project_id"] = project_id
        r = self.identity("POST", "/users", json={"user": user})
        assert r.status_code == 201, r.text
        return r.json()["user"]

    def grant(self, project_id, user_id, role_name):
        r = self.identity("PUT", "/projects/%s/users/%s/roles/%s"
                          % (project_id, user_id, self.role_id(role_name)))
        assert r.status_code == 204, r.text


class User:
    def __init__(self, http, name, user_id, password, project_name,
                 project_id):
        self._http = http
        self.name = name
        self.id = user_id
        self.password = password
        self.project_name = project_name
        self.project_id = project_id
        self._token = None

    @property
    def token(self):
        if self._token is None:
            self._token, _ = self._http.token(self.name, self.password,
                                              self.project_name)
        return self._token


class Tenant:
    """A second project with a `member` user and a `reader` user."""

    def __init__(self, http, prefix="tenant"):
        self.project_name = unique(prefix)
        project = http.create_project(self.project_name)
        self.project_id = project["id"]
        users = {}
        for role in ("member", "reader"):
            name = unique("%s-%s" % (prefix, role))
            password = "pw-" + uuid.uuid4().hex
            u = http.create_user(name, password, self.project_id)
            http.grant(self.project_id, u["id"], role)
            users[role] = User(http, name, u["id"], password,
                               self.project_name, self.project_id)
        self.member = users["member"]
        self.reader = users["reader"]


def run_cli(argv, env, check=True, stdin=None):
    r = subprocess.run(argv, env=env, capture_output=True, text=True,
                       timeout=CLI_TIMEOUT, input=stdin)
    if check and r.returncode != 0:
        raise AssertionError(
            "command failed (rc=%d): %s\n--- stdout ---\n%s\n--- stderr ---\n%s"
            % (r.returncode, " ".join(shlex.quote(a) for a in argv),
               r.stdout, r.stderr))
    return r


JSON_VERBS = {"list", "show", "create", "issue"}


def wants_json(args):
    """True when `openstack <words...> <verb>` takes -f json."""
    words = []
    for a in args:
        if a.startswith("-"):
            break
        words.append(a)
    return any(w in JSON_VERBS for w in words[:3])


def loads_cli(stdout, argv):
    try:
        return json.loads(stdout)
    except ValueError as e:
        raise AssertionError("non-JSON output from %s: %s\n%s"
                             % (" ".join(argv), e, stdout))


# --------------------------------------------------------------------------
# Glance v2 (image API) helpers -- additive: new attributes on Daemon/Http
# and free functions; nothing above is changed.
# --------------------------------------------------------------------------

IMAGE_PATCH_CT = "application/openstack-images-v2.1-json-patch"
MiB = 1024 * 1024


def _daemon_image_root(self):
    return "http://127.0.0.1:%d" % self.image_port


def _daemon_images_dir(self):
    return self.state_dir / "images"


Daemon.image_root = property(_daemon_image_root)
Daemon.images_dir = property(_daemon_images_dir)


def _http_image(self, method, path, token=_DEFAULT, headers=None, **kw):
    """Request to the Glance port: http.image("GET", "/v2/images")."""
    kw.setdefault("timeout", 30)
    return self.s.request(method, self.d.image_root + path,
                          headers=self._headers(token, headers), **kw)


Http.image = _http_image


def image_create(http, token=_DEFAULT, **body):
    """POST /v2/images; asserts 201 and returns the image."""
    r = http.image("POST", "/v2/images", token=token, json=body)
    assert r.status_code == 201, (
        "image create failed: %s %s" % (r.status_code, r.text))
    return r.json()


def image_get(http, image_id, token=_DEFAULT):
    """GET /v2/images/<id>; asserts 200 and returns the image."""
    r = http.image("GET", "/v2/images/%s" % image_id, token=token)
    assert r.status_code == 200, (
        "image show %s failed: %s %s" % (image_id, r.status_code, r.text))
    return r.json()


def image_upload(http, image_id, data, token=_DEFAULT, headers=None, **kw):
    """PUT /v2/images/<id>/file (data: bytes, file object or generator)."""
    h = {"Content-Type": "application/octet-stream"}
    h.update(headers or {})
    return http.image("PUT", "/v2/images/%s/file" % image_id, token=token,
                      headers=h, data=data, **kw)


def image_patch(http, image_id, ops, token=_DEFAULT,
                content_type=IMAGE_PATCH_CT, headers=None):
    """PATCH /v2/images/<id> with a JSON-patch document."""
    h = {"Content-Type": content_type}
    h.update(headers or {})
    return http.image("PATCH", "/v2/images/%s" % image_id, token=token,
                      headers=h, data=json.dumps(ops))


def image_purge(http, image_id):
    """As admin: unprotect and delete an image; a missing one is fine."""
    image_patch(http, image_id,
                [{"op": "replace", "path": "/protected", "value": False}])
    r = http.image("DELETE", "/v2/images/%s" % image_id)
    assert r.status_code in (204, 404), (
        "cleanup of image %s failed: %s %s"
        % (image_id, r.status_code, r.text))


def image_files(daemon, image_id):
    """Names in STATE/images/ belonging to an image (<id>, <id>.part...)."""
    d = daemon.images_dir
    if not d.exists():
        return []
    return sorted(n for n in os.listdir(d) if n.startswith(image_id))


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def md5_file(path, chunk=MiB):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def raw_payload(n):
    """n random bytes that no format inspector can mistake for a disk image.

    Random data has a 1 in 65536 chance of carrying an MBR boot signature
    (0x55 0xAA at offset 510), which makes inspectors see a partitioned raw
    disk; a fixed text prefix also rules out every format magic at offset 0.
    """
    data = bytearray(b"novalite raw test payload\n"[:n])
    data += os.urandom(max(0, n - len(data)))
    if n > 511:
        data[510:512] = b"\0\0"
    return bytes(data)


def qemu_img(*args):
    """Run qemu-img (qemu-utils); return CompletedProcess, fail on error."""
    argv = ["qemu-img"] + [str(a) for a in args]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        pytest.fail("qemu-img not found (install qemu-utils)", pytrace=False)
    assert r.returncode == 0, "%s failed:\n%s%s" % (" ".join(argv), r.stdout,
                                                      r.stderr)
    return r


def qemu_img_info(path):
    """qemu-img info --output=json as a dict (virtual-size, format...)."""
    return json.loads(qemu_img("info", "--output=json", path).stdout)


def vm_rss_kib(pid):
    """VmRSS of a process in KiB (from /proc/<pid>/status)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/%d/status" % pid)


# --------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------

def wait_server(http, sid, want, timeout=30, token=_DEFAULT):
    """Polls GET /servers/<id> until status `want` with no task in flight
    (returns the server), or 404 when want is "DELETED" (returns None)."""
    deadline = time.time() + timeout
    s = None
    while time.time() < deadline:
        r = http.compute("GET", "/servers/%s" % sid, token=token)
        if r.status_code == 404 and want == "DELETED":
            return None
        assert r.status_code == 200, r.text
        s = r.json()["server"]
        if s["status"] == want and s.get("OS-EXT-STS:task_state") is None:
            return s
        time.sleep(0.05)
    pytest.fail("server %s never reached %s: %r" % (sid, want, s))
