"""Image API security regressions (issues 3.4, 3.6, 3.8).

- 3.4 A deleted image's id is never handed out again: Glance soft-deletes
  its rows, so POST /v2/images with that id is a 409 with Glance's
  Duplicate message ("Image ID %s already exists!",
  glance/db/sqlalchemy/api.py _image_update), whoever asks.
- 3.6 Uploads in flight count against [quota] image_size_total: three
  parallel 8 MiB uploads under a 10 MiB quota store one image, the others
  get 413 with Glance's StorageQuotaFull wording (glance/api/common.py
  check_quota; glance/api/v2/image_data.py "Image exceeds the storage
  quota: ...").
- 3.8 disk_format/container_format may only change while the image is
  queued (glance/domain/__init__.py setters: 403 "Attribute
  container_format can be only replaced for a queued image.").
"""

import os
import threading
import uuid

import pytest

import novalite_testlib as lib

MiB = lib.MiB
JSON = {"Accept": "application/json"}


def _json_error(resp, status, title):
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    assert body["code"] == "%d %s" % (status, title), body
    return body["message"][:-len("<br /><br />\n\n\n")]


# ---- 3.4: deleted ids stay taken ---------------------------------------------


def test_deleted_image_id_cannot_be_recreated(http, make_tenant):
    a, b = make_tenant("idreuse-a"), make_tenant("idreuse-b")
    iid = str(uuid.uuid4())
    lib.image_create(http, token=a.member.token, id=iid, name="original",
                     disk_format="raw", container_format="bare",
                     hw_firmware_type="uefi")
    r = http.image("DELETE", "/v2/images/" + iid, token=a.member.token)
    assert r.status_code == 204, r.text
    assert http.image("GET", "/v2/images/" + iid).status_code == 404

    msg = "Image ID %s already exists!" % iid
    # another project, the same project and the admin: all refused
    for token in (b.member.token, a.member.token, http.admin_token):
        r = http.image("POST", "/v2/images", token=token, headers=JSON,
                       json={"id": iid, "name": "impostor",
                             "hw_firmware_type": "bios"})
        assert _json_error(r, 409, "Conflict") == msg
    assert http.image("GET", "/v2/images/" + iid).status_code == 404
    # Nova's image proxy does not find it either
    r = http.compute("GET", "/images/" + iid)
    assert r.status_code == 404, r.text


def test_live_duplicate_id_message(http, images):
    iid = images(id=str(uuid.uuid4()), name="dup")["id"]
    r = http.image("POST", "/v2/images", json={"id": iid}, headers=JSON)
    assert _json_error(r, 409, "Conflict") == \
        "Image ID %s already exists!" % iid


# ---- 3.8: formats frozen once data is there ------------------------------------


def test_formats_only_replaceable_while_queued(http, images):
    img = images(name=lib.unique("fmt"), disk_format="raw",
                 container_format="bare")
    iid = img["id"]
    # queued: allowed
    r = lib.image_patch(http, iid, [{"op": "replace", "path": "/disk_format",
                                     "value": "qcow2"}])
    assert r.status_code == 200 and r.json()["disk_format"] == "qcow2"
    r = lib.image_patch(http, iid, [{"op": "replace", "path": "/disk_format",
                                     "value": "raw"}])
    assert r.status_code == 200, r.text
    assert lib.image_upload(http, iid, lib.raw_payload(64 * 1024)) \
        .status_code == 204
    for op in ("replace", "add"):
        for attr, value in (("disk_format", "qcow2"),
                            ("container_format", "ova"),
                            ("disk_format", "raw")):     # even unchanged
            r = lib.image_patch(http, iid, [{"op": op, "path": "/" + attr,
                                             "value": value}],
                                headers=JSON)
            assert _json_error(r, 403, "Forbidden") == (
                "Attribute %s can be only replaced for a queued image."
                % attr)
    # deactivated images are no different
    r = http.image("POST", "/v2/images/%s/actions/deactivate" % iid)
    assert r.status_code == 204
    r = lib.image_patch(http, iid, [{"op": "replace", "path": "/disk_format",
                                     "value": "vmdk"}])
    assert r.status_code == 403, r.text
    got = lib.image_get(http, iid)
    assert (got["disk_format"], got["container_format"]) == ("raw", "bare")


# ---- 3.6: parallel uploads and the storage quota -------------------------------


class _GatedBody:
    """A file-like body of n bytes (Content-Length known) that sends its
    first MiB, then waits until every parallel upload has started."""

    def __init__(self, n, gate):
        self.n, self.sent, self.gate = n, 0, gate
        self.block = lib.raw_payload(MiB)

    def __len__(self):
        return self.n - self.sent

    def read(self, size=-1):
        if self.sent >= MiB and self.gate is not None:
            try:
                self.gate.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
            self.gate = None
        size = min(self.n - self.sent, MiB if size < 0 else size)
        off = self.sent % MiB
        size = min(size, MiB - off)
        self.sent += size
        return self.block[off:off + size]


class _GatedChunks(_GatedBody):
    """The same, sent chunked (no Content-Length)."""

    def __iter__(self):
        while self.sent < self.n:
            yield self.read(256 * 1024)


@pytest.fixture
def quota_daemon(tmp_path):
    conf = tmp_path / "novalite.conf"
    conf.write_text("[quota]\nimage_size_total = 10\n")
    d = lib.start_daemon(tmp_path, extra_args=("--config", str(conf)))
    rc = d.openrc
    h = lib.Http(d, rc["OS_USERNAME"], rc["OS_PASSWORD"],
                 rc["OS_PROJECT_NAME"])
    yield d, h
    lib.stop_daemon(d)


def _parallel_uploads(d, h, body_cls):
    ids = [lib.image_create(h, name="par%d" % i, disk_format="raw",
                            container_format="bare")["id"] for i in range(3)]
    gate = threading.Barrier(3)
    results = {}

    def up(iid):
        body = body_cls(8 * MiB, gate)
        data = iter(body) if body_cls is _GatedChunks else body
        try:
            results[iid] = lib.image_upload(h, iid, data, headers=JSON,
                                            timeout=60)
        except Exception as e:       # noqa: BLE001 (reported below)
            results[iid] = e
    threads = [threading.Thread(target=up, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)

    ok = [i for i in ids if getattr(results[i], "status_code", 0) == 204]
    assert len(ok) == 1, {i: getattr(r, "status_code", r)
                          for i, r in results.items()}
    for iid in ids:
        if iid in ok:
            continue
        r = results[iid]
        assert not isinstance(r, Exception), repr(r)
        msg = _json_error(r, 413, "Request Entity Too Large")
        assert msg.startswith("Image exceeds the storage quota: The size of "
                              "the data "), msg
        assert msg.endswith(" bytes remaining."), msg
        img = lib.image_get(h, iid)
        assert (img["status"], img["size"]) == ("queued", None), img
    stored = [lib.image_get(h, i) for i in ids]
    assert sum(i["size"] or 0 for i in stored) <= 10 * MiB
    assert sorted(os.listdir(d.images_dir)) == ok
    return ids, ok


def test_parallel_uploads_respect_quota(quota_daemon):
    d, h = quota_daemon
    ids, ok = _parallel_uploads(d, h, _GatedBody)
    # the reservations of the failed uploads were released: 2 MiB still fit
    rest = [i for i in ids if i not in ok]
    assert lib.image_upload(h, rest[0], lib.raw_payload(2 * MiB)) \
        .status_code == 204
    r = lib.image_upload(h, rest[1], lib.raw_payload(MiB), headers=JSON)
    _json_error(r, 413, "Request Entity Too Large")


def test_parallel_chunked_uploads_respect_quota(quota_daemon):
    d, h = quota_daemon
    _parallel_uploads(d, h, _GatedChunks)
