"""Image content inspection on upload (the format_inspector idea).

Crafted images are made with qemu-img (qemu-utils).  A rejected upload must
answer REJECT_STATUS, leave the image queued with no size/checksum, and leave
nothing (neither STATE/images/<id> nor <id>.part) on disk; good images are
accepted with the virtual size read from their header.

REJECT_STATUS is 400 by novalite's contract.  Note that Glance itself
(glance/api/v2/image_data.py upload(): `except exception.InvalidImageData:
raise webob.exc.HTTPUnsupportedMediaType`, since commit 7c748d38, 2024.2)
answers 415 for the same rejections, and accepts a clean qcow2 declared as
'raw' (glance/location.py _upload_to_store caller: "Image claims 'raw'
disk_format but is actually ..." is only a warning); novalite is stricter
there, as Nova is (nova/virt/images.py refuses a format mismatch).
"""

import os

import pytest

import novalite_testlib as lib

REJECT_STATUS = 400
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    """name -> (bytes to upload, declared disk_format)."""
    d = tmp_path_factory.mktemp("crafted")
    q = lib.qemu_img

    q("create", "-f", "qcow2", d / "good.qcow2", "64M")
    q("create", "-f", "qcow2", "-o", "compat=0.10", d / "good-v2.qcow2",
      "16M")
    q("create", "-f", "raw", d / "base.raw", "1M")
    q("create", "-f", "qcow2", "-b", d / "base.raw", "-F", "raw",
      d / "backing.qcow2")
    q("create", "-f", "qcow2", "-o", "data_file=%s" % (d / "x.raw"),
      d / "datafile.qcow2", "1M")
    q("create", "-f", "vmdk", "-o", "subformat=monolithicFlat",
      d / "flat.vmdk", "1M")
    q("create", "-f", "vmdk", "-o", "subformat=monolithicSparse",
      d / "sparse.vmdk", "32M")
    q("create", "-f", "vhdx", d / "good.vhdx", "48M")
    q("create", "-f", "vdi", d / "good.vdi", "40M")

    def read(name):
        return (d / name).read_bytes()

    raw = lib.raw_payload(1024 * 1024)
    flat = read("flat.vmdk")
    assert b'createType="monolithicFlat"' in flat        # the descriptor
    assert len(flat) < 4096
    return {
        "dir": d,
        "raw": raw,
        "bad": {
            "qcow2-backing-file": (read("backing.qcow2"), "qcow2"),
            "qcow2-backing-file-declared-raw": (read("backing.qcow2"),
                                                "raw"),
            "qcow2-external-data-file": (read("datafile.qcow2"), "qcow2"),
            "qcow2-declared-raw": (read("good.qcow2"), "raw"),
            "raw-declared-qcow2": (raw, "qcow2"),
            "raw-declared-vmdk": (raw, "vmdk"),
            "raw-declared-iso": (raw, "iso"),
            "qcow2-declared-vmdk": (read("good.qcow2"), "vmdk"),
            "vmdk-monolithicFlat-descriptor": (flat, "vmdk"),
            "qcow2-truncated-header": (read("good.qcow2")[:40], "qcow2"),
        },
    }


@pytest.fixture
def images(http):
    made = []

    def _make(**body):
        img = lib.image_create(http, name=lib.unique("safety"),
                               container_format="bare", **body)
        made.append(img["id"])
        return img
    yield _make
    for iid in made:
        lib.image_purge(http, iid)


def _assert_rejected(http, daemon, iid, resp):
    assert resp.status_code == REJECT_STATUS, (
        "upload answered %s, expected %s: %s"
        % (resp.status_code, REJECT_STATUS, resp.text[:300]))
    body = resp.json()
    assert body["code"].startswith(str(REJECT_STATUS)), body
    assert body["message"].strip("<br />\n"), body      # says why
    img = lib.image_get(http, iid)
    assert img["status"] == "queued", img["status"]
    assert (img["size"], img["virtual_size"], img["checksum"],
            img["os_hash_value"]) == (None, None, None, None), img
    assert lib.image_files(daemon, iid) == [], (
        "files left in STATE/images: %r" % lib.image_files(daemon, iid))
    r = http.image("GET", "/v2/images/%s/file" % iid)
    assert r.status_code == 204


BAD_CASES = [
    "qcow2-backing-file",
    "qcow2-backing-file-declared-raw",
    "qcow2-external-data-file",
    "qcow2-declared-raw",
    "raw-declared-qcow2",
    "raw-declared-vmdk",
    "raw-declared-iso",
    "qcow2-declared-vmdk",
    "vmdk-monolithicFlat-descriptor",
    "qcow2-truncated-header",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_unsafe_or_mismatched_upload_rejected(http, daemon, crafted, images,
                                              case):
    data, disk_format = crafted["bad"][case]
    img = images(disk_format=disk_format)
    r = lib.image_upload(http, img["id"], data, headers=JSON)
    _assert_rejected(http, daemon, img["id"], r)


@pytest.mark.parametrize("case", ["qcow2-backing-file",
                                  "vmdk-monolithicFlat-descriptor"])
def test_unsafe_upload_rejected_when_chunked(http, daemon, crafted, images,
                                             case):
    """Same verdict without a Content-Length (the inspector sees the stream
    in arbitrary pieces)."""
    data, disk_format = crafted["bad"][case]
    img = images(disk_format=disk_format)
    pieces = [data[i:i + 7] for i in range(0, min(len(data), 700), 7)]
    pieces.append(data[700:])
    r = lib.image_upload(http, img["id"], iter(pieces), headers=JSON)
    _assert_rejected(http, daemon, img["id"], r)


def test_rejected_image_accepts_a_good_upload(http, daemon, crafted, images):
    """A rejection rolls back to queued for real: the next upload works."""
    bad, _ = crafted["bad"]["qcow2-backing-file"]
    img = images(disk_format="qcow2")
    r = lib.image_upload(http, img["id"], bad, headers=JSON)
    _assert_rejected(http, daemon, img["id"], r)
    good = (crafted["dir"] / "good.qcow2").read_bytes()
    r = lib.image_upload(http, img["id"], good)
    assert r.status_code == 204, r.text
    got = lib.image_get(http, img["id"])
    assert (got["status"], got["size"], got["checksum"],
            got["virtual_size"]) == ("active", len(good), lib.md5_hex(good),
                                     64 * lib.MiB)


def test_rejected_image_data_never_downloadable(http, daemon, crafted,
                                                images):
    data, fmt = crafted["bad"]["qcow2-external-data-file"]
    img = images(disk_format=fmt)
    lib.image_upload(http, img["id"], data)
    r = http.image("GET", "/v2/images/%s/file" % img["id"])
    assert r.status_code == 204
    assert r.content == b""


@pytest.mark.parametrize("name,disk_format,virtual_size", [
    ("good.qcow2", "qcow2", 64 * lib.MiB),
    ("good-v2.qcow2", "qcow2", 16 * lib.MiB),
    ("sparse.vmdk", "vmdk", 32 * lib.MiB),
    ("good.vhdx", "vhdx", 48 * lib.MiB),
    ("good.vdi", "vdi", 40 * lib.MiB),
])
def test_good_image_accepted_with_virtual_size(http, daemon, crafted, images,
                                               name, disk_format,
                                               virtual_size):
    path = crafted["dir"] / name
    info = lib.qemu_img_info(path)
    assert info["virtual-size"] == virtual_size          # sanity
    data = path.read_bytes()
    img = images(disk_format=disk_format)
    r = lib.image_upload(http, img["id"], data)
    assert r.status_code == 204, r.text
    got = lib.image_get(http, img["id"])
    assert got["status"] == "active"
    assert got["size"] == len(data) == os.path.getsize(path)
    assert got["checksum"] == lib.md5_hex(data)
    assert got["virtual_size"] == virtual_size, (
        "virtual_size %r, expected the header's %d"
        % (got["virtual_size"], virtual_size))
    assert lib.image_files(daemon, img["id"]) == [img["id"]]
    assert http.image("GET",
                      "/v2/images/%s/file" % img["id"]).content == data


def test_raw_virtual_size_is_file_size(http, crafted, images):
    data = crafted["raw"]
    img = images(disk_format="raw")
    assert lib.image_upload(http, img["id"], data).status_code == 204
    got = lib.image_get(http, img["id"])
    assert (got["status"], got["size"], got["virtual_size"]) == (
        "active", len(data), len(data))
