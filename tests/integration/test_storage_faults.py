"""Storage exhaustion (issues 3b.1, 3b.3): the state dir on a small tmpfs.

- 3b.1 An upload that fills the disk answers Glance's StorageFull 413
  ("Image storage media is full: There is not enough disk space on the image
  storage media.", glance/api/v2/image_data.py), leaves no partial file and
  puts the image back to queued, so a later upload works; an upload cut off
  by a crash is repaired at start-up (saving -> queued, .part removed).
- 3b.3 A write whose COMMIT hits SQLITE_FULL answers 503 with each API
  family's error body and a message saying storage is full, logs SQLite's
  real error (never "cannot rollback - no transaction is active"), leaves no
  half-written row, and works again once space is freed, without a restart.

The tmpfs (40 MiB) is mounted on the daemon's state dir by the test and
unmounted at the end; the daemon's stderr log lives outside it.
"""

import os
import signal
import subprocess
import time

import pytest

import novalite_testlib as lib

MiB = lib.MiB
JSON = {"Accept": "application/json"}
FULL_MSG = ("Image storage media is full: There is not enough disk space on "
            "the image storage media.")
DB_FULL_MSG = ("The server's storage is full; the request was not saved. "
               "Try again once space has been freed.")


def _json_error(resp, status, title):
    assert resp.status_code == status, (resp.status_code, resp.text[:400])
    body = resp.json()
    assert body["code"] == "%d %s" % (status, title), body
    return body["message"][:-len("<br /><br />\n\n\n")]


@pytest.fixture
def small_state(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    state = tmp_path / "state"
    state.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs",
                    str(state)], check=True)
    daemons = []

    def start():
        d = lib.start_daemon(tmp_path)
        daemons.append(d)
        rc = d.openrc
        return d, lib.Http(d, rc["OS_USERNAME"], rc["OS_PASSWORD"],
                           rc["OS_PROJECT_NAME"])
    try:
        yield start
    finally:
        for d in daemons:
            if d.proc is not None and d.proc.poll() is None:
                d.stop()
        subprocess.run(["umount", "-l", str(state)], check=False)


def _stream(n, chunk=MiB):
    block = lib.raw_payload(chunk)
    sent = 0
    while sent < n:
        k = min(chunk, n - sent)
        sent += k
        yield block[:k]


class _Sized:
    """A file-like body of n bytes with a known length (Content-Length)."""

    def __init__(self, n):
        self.n, self.left = n, n
        self.block = lib.raw_payload(MiB)

    def __len__(self):
        return self.left

    def read(self, size=-1):
        k = min(self.left, MiB if size < 0 else size, MiB)
        self.left -= k
        return self.block[:k]


def _saved_state(h, iid):
    img = lib.image_get(h, iid)
    return img["status"], img["size"], img["checksum"]


@pytest.mark.parametrize("sized", [True, False], ids=["content-length",
                                                      "chunked"])
def test_upload_filling_the_disk(small_state, sized):
    d, h = small_state()
    iid = lib.image_create(h, name="big", disk_format="raw",
                           container_format="bare")["id"]
    body = _Sized(60 * MiB) if sized else _stream(60 * MiB)
    r = lib.image_upload(h, iid, body, headers=JSON, timeout=120)
    assert _json_error(r, 413, "Request Entity Too Large") == FULL_MSG
    assert _saved_state(h, iid) == ("queued", None, None)
    assert lib.image_files(d, iid) == []
    # the store is usable again at once: no 409 "from saving"
    small = lib.raw_payload(MiB)
    assert lib.image_upload(h, iid, small).status_code == 204
    assert _saved_state(h, iid) == ("active", MiB, lib.md5_hex(small))
    # and stays consistent over a restart
    lib.stop_daemon(d)
    d, h = small_state()
    assert _saved_state(h, iid) == ("active", MiB, lib.md5_hex(small))
    assert "cannot rollback" not in d.stderr_text(100000)


def test_interrupted_upload_repaired_at_startup(small_state):
    d, h = small_state()
    iid = lib.image_create(h, name="cut", disk_format="raw",
                           container_format="bare")["id"]
    other = lib.image_create(h, name="other", disk_format="raw",
                             container_format="bare")["id"]

    def slow():
        yield lib.raw_payload(2 * MiB)
        time.sleep(30)
        yield b"x"
    import threading
    t = threading.Thread(target=lambda: _ignore(lib.image_upload, h, iid,
                                                slow(), timeout=40))
    t.start()
    deadline = time.time() + 10
    while time.time() < deadline and not lib.image_files(d, iid):
        time.sleep(0.05)
    while time.time() < deadline and \
            (d.images_dir / (iid + ".part")).stat().st_size < 2 * MiB:
        time.sleep(0.05)
    assert lib.image_get(h, iid)["status"] == "saving"
    d.proc.send_signal(signal.SIGKILL)      # crash mid-upload
    d.proc.wait()
    d.stop()
    t.join(45)
    assert lib.image_files(d, iid) == [iid + ".part"]

    d, h = small_state()
    assert _saved_state(h, iid) == ("queued", None, None)
    assert lib.image_files(d, iid) == []
    assert "upload was interrupted" in d.stderr_text(100000)
    assert _saved_state(h, other) == ("queued", None, None)
    assert lib.image_upload(h, iid, lib.raw_payload(MiB)).status_code == 204
    assert lib.image_get(h, iid)["status"] == "active"


def _ignore(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except Exception:       # noqa: BLE001 (the daemon is killed under it)
        pass


def _fill(path):
    """Writes path until the filesystem is full; returns bytes written."""
    n = 0
    block = b"\xa5" * MiB
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n += f.write(block)
            except OSError:
                break
        for size in (65536, 4096, 512, 1):
            while True:
                try:
                    n += f.write(block[:size])
                except OSError:
                    break
    return n


def _until_503(send, attempts=200):
    """Calls send() until it answers 503; returns (response, successes)."""
    ok = []
    for i in range(attempts):
        r = send(i)
        if r.status_code == 503:
            return r, ok
        assert r.status_code in (200, 201, 204), (r.status_code, r.text[:300])
        ok.append(r)
    raise AssertionError("no 503 after %d writes on a full disk" % attempts)


def test_database_full(small_state):
    d, h = small_state()
    h.admin_token                    # issuing a token is a write too
    filler = d.state_dir / "filler"
    _fill(filler)
    props = {"p%03d" % i: "v" * 250 for i in range(60)}

    # image API: a create with many properties, until the WAL cannot grow
    names = []

    def create_image(i):
        names.append("full-%d" % i)
        return h.image("POST", "/v2/images", headers=JSON,
                       json=dict(props, name=names[-1]))
    r, made = _until_503(create_image)
    assert _json_error(r, 503, "Service Unavailable") == DB_FULL_MSG
    failed_name = names[-1]

    # identity and compute: their own error bodies, same message
    def create_project(i):
        return h.identity("POST", "/projects", json={"project": {
            "name": "full-%d" % i, "description": "d" * 4000}})
    r, _ = _until_503(create_project)
    assert r.json() == {"error": {"code": 503,
                                  "title": "Service Unavailable",
                                  "message": DB_FULL_MSG}}, r.text

    def create_keypair(i):
        return h.compute("POST", "/os-keypairs", json={"keypair": {
            "name": "full-%d" % i}})
    r, _ = _until_503(create_keypair)
    assert r.json() == {"serviceUnavailable": {"code": 503,
                                               "message": DB_FULL_MSG}}

    # reads still work; the log names SQLite's real error
    assert h.image("GET", "/v2/images").status_code == 200
    log = d.stderr_text(1000000)
    assert "cannot rollback - no transaction is active" not in log
    assert "database or disk is full" in log

    # space back: no half-written row, and writes work without a restart
    filler.unlink()
    listed = h.image("GET", "/v2/images", params={"limit": 1000}).json()
    got = {i["name"]: i for i in listed["images"]}
    assert failed_name not in got
    for m in made:
        img = got[m.json()["name"]]
        assert all(img.get(k) == v for k, v in props.items())
    r = h.image("POST", "/v2/images", headers=JSON,
                json=dict(props, name="after"))
    assert r.status_code == 201, r.text
    assert h.compute("POST", "/os-keypairs", json={"keypair": {
        "name": "after"}}).status_code == 200
    out = subprocess.run(["sqlite3", str(d.state_dir / "novalite.db"),
                          "PRAGMA integrity_check"], capture_output=True,
                         text=True)
    if out.returncode == 0:
        assert out.stdout.strip() == "ok", out.stdout
