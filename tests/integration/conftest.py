"""Fixtures for the novalite integration tests.

Run:  cd /work/main && /usr/bin/python3 -m pytest tests/integration -q

Env:
  NOVALITE_API_BIN   path of the daemon (default <repo>/build/novalite-api)
  NOVALITE_ASAN=1    default binary becomes <repo>/build-asan/novalite-api

One daemon per test module (module-scoped `daemon` fixture): it gets free
loopback ports and a fresh state dir, and at module teardown it is stopped
with SIGTERM and must exit 0 within a few seconds.
"""

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import novalite_testlib as lib  # noqa: E402


# --------------------------------------------------------------------------
# daemon lifecycle
# --------------------------------------------------------------------------

start_daemon = lib.start_daemon
stop_daemon = lib.stop_daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = start_daemon(tmp_path_factory.mktemp("novalite"))
    yield d
    stop_daemon(d)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the daemon's stderr tail to failing tests' reports."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        d = getattr(item, "funcargs", {}).get("daemon")
        if isinstance(d, lib.Daemon):
            rep.sections.append(("novalite-api stderr (tail)",
                                 d.stderr_text(4000)))


# --------------------------------------------------------------------------
# client environments
# --------------------------------------------------------------------------

def make_env(openrc, tmp_home, **overrides):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OS_")}          # drops OS_CLOUD & friends
    env.update(openrc)
    env.update(overrides)
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    # Keep ~/.config/openstack/clouds.yaml & client caches out of the way.
    env["HOME"] = str(tmp_home)
    env["PYTHONWARNINGS"] = "ignore"
    return env


@pytest.fixture(scope="module")
def client_env(daemon, tmp_path_factory):
    """os.environ with OS_* replaced by the daemon's openrc."""
    home = tmp_path_factory.mktemp("home")
    return make_env(daemon.openrc, home)


@pytest.fixture(scope="module")
def env_for(daemon, client_env):
    """env_for(user) -> client env authenticating as a lib.User."""
    def _env_for(user):
        env = dict(client_env)
        env.update(OS_USERNAME=user.name, OS_PASSWORD=user.password,
                   OS_PROJECT_NAME=user.project_name,
                   OS_USER_DOMAIN_NAME="Default",
                   OS_PROJECT_DOMAIN_NAME="Default")
        return env
    return _env_for


def _cli_path(path, name):
    if os.path.exists(path):
        return path
    found = shutil.which(name)
    if not found:
        pytest.fail("%s CLI not found (install python3-openstackclient / "
                    "python3-novaclient)" % name, pytrace=False)
    return found


@pytest.fixture(scope="module")
def osc(client_env):
    """osc(*args, env=None, json=None) -> parsed `openstack ... -f json`.

    -f json is added automatically for list/show/create/issue commands
    (override with json=True/False).  Commands without output return None.
    Raises AssertionError (with stderr) on non-zero exit.
    """
    cli = _cli_path(lib.OPENSTACK_CLI, "openstack")

    def _osc(*args, env=None, json=None):
        args = [str(a) for a in args]
        if json is None:
            json = lib.wants_json(args)
        argv = [cli] + args + (["-f", "json"] if json else [])
        r = lib.run_cli(argv, env or client_env)
        if not json:
            return r.stdout if r.stdout.strip() else None
        return lib.loads_cli(r.stdout, argv)
    return _osc


@pytest.fixture(scope="module")
def osc_raw(client_env):
    """osc_raw(*args, env=None) -> CompletedProcess (no -f, no check)."""
    cli = _cli_path(lib.OPENSTACK_CLI, "openstack")

    def _osc_raw(*args, env=None, stdin=None):
        return lib.run_cli([cli] + [str(a) for a in args],
                           env or client_env, check=False, stdin=stdin)
    return _osc_raw


@pytest.fixture(scope="module")
def nova(client_env):
    """nova(*args, env=None, check=True) -> CompletedProcess."""
    cli = _cli_path(lib.NOVA_CLI, "nova")

    def _nova(*args, env=None, check=True):
        return lib.run_cli([cli] + [str(a) for a in args],
                           env or client_env, check=check)
    return _nova


# --------------------------------------------------------------------------
# raw HTTP / SDK
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def http(daemon):
    """lib.Http bound to this module's daemon, authenticated as admin."""
    rc = daemon.openrc
    return lib.Http(daemon, rc.get("OS_USERNAME", "admin"),
                    rc["OS_PASSWORD"], rc.get("OS_PROJECT_NAME", "admin"))


@pytest.fixture
def images(http):
    """images(token=..., **body) -> created image; purged at test end."""
    made = []

    def _make(token=None, **body):
        kw = {} if token is None else {"token": token}
        img = lib.image_create(http, **kw, **body)
        made.append(img["id"])
        return img
    yield _make
    for iid in made:
        lib.image_purge(http, iid)


@pytest.fixture(scope="module")
def admin_token(http):
    return http.admin_token


@pytest.fixture(scope="module")
def sdk(daemon):
    """openstacksdk Connection as admin (no clouds.yaml, no OS_* env)."""
    import openstack
    rc = daemon.openrc
    conn = openstack.connect(
        auth_url=rc["OS_AUTH_URL"],
        username=rc.get("OS_USERNAME", "admin"),
        password=rc["OS_PASSWORD"],
        project_name=rc.get("OS_PROJECT_NAME", "admin"),
        user_domain_name=rc.get("OS_USER_DOMAIN_NAME", "Default"),
        project_domain_name=rc.get("OS_PROJECT_DOMAIN_NAME", "Default"),
        region_name=rc.get("OS_REGION_NAME", "RegionOne"),
        identity_api_version="3",
        load_yaml_config=False,
        load_envvars=False,
        app_name="novalite-integration-tests",
    )
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def tenant(http):
    """A second project with a member user and a reader user."""
    return lib.Tenant(http, "tenant")


@pytest.fixture(scope="module")
def make_tenant(http):
    """Factory for further projects (cross-project tests)."""
    return lambda prefix="tenant": lib.Tenant(http, prefix)


@pytest.fixture(scope="module")
def ed25519(tmp_path_factory):
    """(private_key_path, public_key_path) of a fresh ed25519 key."""
    return lib.gen_ed25519(tmp_path_factory.mktemp("sshkey"))


@pytest.fixture
def unchanged(http):
    """Context manager asserting flavors/keypairs are untouched."""
    class _Unchanged:
        def __enter__(self):
            self.before = http.compute_state()
            return self

        def __exit__(self, et, ev, tb):
            if et is None:
                after = http.compute_state()
                assert after == self.before, (
                    "compute state changed by a rejected request:\n"
                    "before=%r\nafter=%r" % (self.before, after))
            return False
    return _Unchanged


# --------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def image(http):
    """An active public image uploaded through the image API (the fake
    hypervisor never reads its bytes)."""
    img = lib.image_create(http, name=lib.unique("img"), disk_format="raw",
                           container_format="bare", visibility="public")
    r = lib.image_upload(http, img["id"], b"\0" * 4096)
    assert r.status_code == 204, r.text
    return img["id"]


@pytest.fixture(scope="module")
def roomy_quota(http):
    """Lift the admin project's instance/core/RAM quota (modules that boot
    many servers as admin use it)."""
    r = http.compute("PUT", "/os-quota-sets/%s" % http.admin_project_id,
                     json={"quota_set": {"instances": -1, "cores": -1,
                                         "ram": -1}})
    assert r.status_code == 200, r.text


# --------------------------------------------------------------------------
# parallel runs (pytest-xdist, `make test` uses --dist loadgroup)
# --------------------------------------------------------------------------

# Each file is one group (it owns its daemon). Files that boot real guests say
# `XDIST_GROUP = "real-guests"`: they share libvirtd, the guest subnet and domain names, so
# they must never overlap; tools/test.sh runs them in a pytest of their own, one after
# another, and the shared group keeps them on one worker when someone runs everything
# under xdist. The slowest files are sent out first so the last worker does not start a
# long file when the others are done (docs/testing.md).
SLOW_FIRST = ("real-guests", "test_servers_cli.py", "test_agents.py",
              "test_images_safety.py", "test_servers_schema.py")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks to name the groups
def pytest_collection_modifyitems(config, items):
    def group(item):
        return getattr(item.module, "XDIST_GROUP", item.path.name)

    for item in items:
        item.add_marker(pytest.mark.xdist_group(group(item)))

    def rank(item):
        g = group(item)
        return SLOW_FIRST.index(g) if g in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order inside a file is kept
