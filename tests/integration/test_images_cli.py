"""Glance v2 subset through Debian's real `openstack` CLI (image commands).

python3-openstackclient 6.0 drives the image API through openstacksdk:
`image create --file` is POST /v2/images then PUT .../file, so its own output
is the image as created (queued); the uploaded state is checked with
`image show` afterwards, as a user would.
"""

import filecmp
import os
import uuid

import pytest

import novalite_testlib as lib

QCOW2_VIRTUAL = 64 * lib.MiB


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgfiles")
    lib.qemu_img("create", "-f", "qcow2", d / "guest.qcow2", "64M")
    (d / "disk.raw").write_bytes(lib.raw_payload(300 * 1024 + 7))
    return d


@pytest.fixture(scope="module")
def created(http):
    """Image ids to purge at module end (tests delete their own; this
    catches what a failing test left behind)."""
    ids = []
    yield ids
    for iid in ids:
        lib.image_purge(http, iid)


def _create(osc, created, *args, env=None):
    img = osc("image", "create", *args, env=env)
    uuid.UUID(img["id"])
    created.append(img["id"])
    return img


@pytest.fixture(scope="module")
def pub_image(osc, files, created):
    """`openstack image create --public --file disk.raw` as admin."""
    name = lib.unique("pub")
    img = _create(osc, created, "--disk-format", "raw", "--container-format",
                  "bare", "--public", "--file", files / "disk.raw", name)
    return img["id"], name


# ---- create / show ---------------------------------------------------------


def test_create_qcow2_from_file(osc, files, created, daemon, http):
    path = files / "guest.qcow2"
    name = lib.unique("tiny")
    img = _create(osc, created, "--disk-format", "qcow2",
                  "--container-format", "bare", "--file", path,
                  "--property", "os_distro=x", name)
    assert img["name"] == name
    assert img["disk_format"] == "qcow2"
    assert img["container_format"] == "bare"

    shown = osc("image", "show", img["id"])
    assert shown["id"] == img["id"]
    assert shown["status"] == "active"
    assert shown["size"] == os.path.getsize(path)
    assert shown["checksum"] == lib.md5_file(path)
    assert shown["virtual_size"] == QCOW2_VIRTUAL, (
        "virtual_size must come from the qcow2 header (64 MiB), not the "
        "file size: %r" % shown["virtual_size"])
    assert shown["disk_format"] == "qcow2"
    assert shown["container_format"] == "bare"
    assert shown["visibility"] == "shared"          # Glance's default
    assert shown["protected"] is False
    assert shown["owner"] == http.admin_project_id
    assert shown["properties"]["os_distro"] == "x"
    assert shown["properties"]["os_hash_algo"] == "sha512"
    # the data is on disk, complete, under STATE/images/<id>
    assert lib.image_files(daemon, img["id"]) == [img["id"]]
    assert os.path.getsize(daemon.images_dir / img["id"]) == \
        os.path.getsize(path)
    # by name too
    assert osc("image", "show", name)["id"] == img["id"]


def test_create_public_raw_as_admin(osc, files, pub_image, tenant, env_for):
    iid, name = pub_image
    path = files / "disk.raw"
    shown = osc("image", "show", iid)
    assert shown["name"] == name
    assert shown["visibility"] == "public"
    assert shown["status"] == "active"
    assert shown["disk_format"] == "raw"
    assert shown["size"] == os.path.getsize(path)
    assert shown["checksum"] == lib.md5_file(path)
    assert shown["virtual_size"] == os.path.getsize(path)
    # any project sees a public image and can read it
    env = env_for(tenant.member)
    assert iid in {r["ID"] for r in osc("image", "list", env=env)}
    assert iid in {r["ID"] for r in osc("image", "list", "--public",
                                        env=env)}
    assert osc("image", "show", iid, env=env)["visibility"] == "public"


def test_create_public_as_non_admin_fails(osc, osc_raw, tenant, env_for):
    env = env_for(tenant.member)
    name = lib.unique("nopub")
    r = osc_raw("image", "create", "--disk-format", "raw",
                "--container-format", "bare", "--public", name, env=env)
    assert r.returncode != 0
    assert "403" in r.stderr, r.stderr
    assert name not in {x["Name"] for x in osc("image", "list", env=env)}


def test_show_missing_image_fails(osc_raw):
    r = osc_raw("image", "show", str(uuid.uuid4()))
    assert r.returncode != 0
    assert "No Image found" in r.stderr or "404" in r.stderr, r.stderr


# ---- list and its filters --------------------------------------------------


def test_list_long(osc, files, created):
    path = files / "disk.raw"
    name = lib.unique("long")
    img = _create(osc, created, "--disk-format", "raw", "--container-format",
                  "bare", "--file", path, "--tag", "longtag", name)
    rows = {r["ID"]: r for r in osc("image", "list", "--long")}
    row = rows[img["id"]]
    assert row["Name"] == name
    assert row["Disk Format"] == "raw"
    assert row["Container Format"] == "bare"
    assert row["Size"] == os.path.getsize(path)
    assert row["Checksum"] == lib.md5_file(path)
    assert row["Status"] == "active"
    assert row["Visibility"] == "shared"
    assert row["Protected"] is False
    assert row["Tags"] == ["longtag"]
    short = {r["ID"]: r for r in osc("image", "list")}
    assert set(short[img["id"]]) == {"ID", "Name", "Status"}
    assert short[img["id"]]["Status"] == "active"


def test_list_filters(osc, pub_image, make_tenant, env_for, created):
    """As a tenant member: visibility, name, tag and property filters."""
    t = make_tenant("lst")
    env = env_for(t.member)
    base = ("--disk-format", "raw", "--container-format", "bare")
    prop = "suite=" + uuid.uuid4().hex
    sh = _create(osc, created, *base, "--property", prop, "--tag", "red",
                 lib.unique("sh"), env=env)["id"]
    pr = _create(osc, created, *base, "--private", "--property", prop,
                 lib.unique("pr"), env=env)["id"]
    co = _create(osc, created, *base, "--community", lib.unique("co"),
                 env=env)["id"]
    pub = pub_image[0]

    def ids(*args):
        return {r["ID"] for r in osc("image", "list", *args, env=env)}

    default = ids()
    assert {sh, pr, co, pub} <= default   # own community images are listed
    assert ids("--private") & {sh, pr, co, pub} == {pr}
    assert ids("--shared") & {sh, pr, co, pub} == {sh}
    assert ids("--community") & {sh, pr, co, pub} == {co}
    assert ids("--public") & {sh, pr, co, pub} == {pub}
    assert ids("--property", prop) == {sh, pr}
    assert ids("--tag", "red") == {sh}
    name = osc("image", "show", pr, env=env)["name"]
    assert ids("--name", name) == {pr}
    assert ids("--name", lib.unique("nosuch")) == set()
    # another project sees none of the private/shared ones
    other = env_for(make_tenant("lst2").member)
    seen = {r["ID"] for r in osc("image", "list", env=other)}
    assert seen & {sh, pr, co} == set()
    assert pub in seen
    assert co in {r["ID"] for r in osc("image", "list", "--community",
                                       env=other)}


# ---- set / unset / save ----------------------------------------------------


def test_set_unset_and_rename(osc, files, created):
    name = lib.unique("tiny")
    new_name = lib.unique("tiny2")
    iid = _create(osc, created, "--disk-format", "qcow2",
                  "--container-format", "bare", "--file",
                  files / "guest.qcow2", "--property", "os_distro=x",
                  name)["id"]
    assert osc("image", "set", "--property", "k=v", "--tag", "t",
               "--name", new_name, name) is None
    shown = osc("image", "show", iid)
    assert shown["name"] == new_name
    assert shown["properties"]["k"] == "v"
    assert shown["properties"]["os_distro"] == "x"
    assert shown["tags"] == ["t"]
    assert shown["status"] == "active"            # data untouched
    assert osc("image", "show", new_name)["id"] == iid
    assert iid in {r["ID"] for r in osc("image", "list", "--tag", "t")}
    assert iid in {r["ID"] for r in osc("image", "list", "--property",
                                        "k=v")}

    assert osc("image", "unset", "--property", "k", new_name) is None
    shown = osc("image", "show", iid)
    assert "k" not in shown["properties"]
    assert shown["properties"]["os_distro"] == "x"
    assert iid not in {r["ID"] for r in osc("image", "list", "--property",
                                            "k=v")}
    assert osc("image", "unset", "--tag", "t", iid) is None
    assert osc("image", "show", iid)["tags"] == []


def test_save_roundtrip(osc, files, created, tmp_path):
    src = files / "guest.qcow2"
    iid = _create(osc, created, "--disk-format", "qcow2",
                  "--container-format", "bare", "--file", src,
                  lib.unique("save"))["id"]
    out = tmp_path / "out.qcow2"
    assert osc("image", "save", "--file", out, iid) is None
    assert filecmp.cmp(src, out, shallow=False)


# ---- deactivate / activate -------------------------------------------------


def test_deactivate_activate(osc, osc_raw, files, tenant, env_for, http,
                             created, tmp_path):
    env = env_for(tenant.member)
    src = files / "disk.raw"
    iid = _create(osc, created, "--disk-format", "raw", "--container-format",
                  "bare", "--file", src, lib.unique("deact"), env=env)["id"]
    assert osc("image", "set", "--deactivate", iid, env=env) is None
    assert osc("image", "show", iid, env=env)["status"] == "deactivated"

    # a non-admin (here even the owner) may not download it: 403
    r = osc_raw("image", "save", "--file", tmp_path / "x", iid, env=env)
    assert r.returncode != 0
    r = http.image("GET", "/v2/images/%s/file" % iid,
                   token=tenant.member.token,
                   headers={"Accept": "application/json"})
    assert r.status_code == 403, r.text
    assert r.json()["message"].startswith(
        "The requested image has been deactivated. Image data download is "
        "forbidden."), r.text
    # an admin may (glance/api/v2/image_data.py download())
    r = http.image("GET", "/v2/images/%s/file" % iid)
    assert r.status_code == 200, r.text
    assert r.content == src.read_bytes()

    assert osc("image", "set", "--activate", iid, env=env) is None
    assert osc("image", "show", iid, env=env)["status"] == "active"
    out = tmp_path / "after"
    osc("image", "save", "--file", out, iid, env=env)
    assert filecmp.cmp(src, out, shallow=False)


# ---- protected -------------------------------------------------------------


def test_protected_image_cannot_be_deleted(osc, osc_raw, files, created,
                                           daemon):
    iid = _create(osc, created, "--disk-format", "raw", "--container-format",
                  "bare", "--file", files / "disk.raw",
                  lib.unique("prot"))["id"]
    assert osc("image", "set", "--protected", iid) is None
    assert osc("image", "show", iid)["protected"] is True
    r = osc_raw("image", "delete", iid)
    assert r.returncode != 0
    assert "403" in r.stderr, r.stderr
    assert osc("image", "show", iid)["status"] == "active"
    assert lib.image_files(daemon, iid) == [iid]

    assert osc("image", "set", "--unprotected", iid) is None
    assert osc("image", "show", iid)["protected"] is False
    assert osc("image", "delete", iid) is None
    assert osc_raw("image", "show", iid).returncode != 0
    assert lib.image_files(daemon, iid) == []


# ---- sharing ---------------------------------------------------------------


def test_share_with_project(osc, osc_raw, files, make_tenant, env_for,
                            created, http, tmp_path):
    t = make_tenant("shr")
    env = env_for(t.member)
    src = files / "guest.qcow2"
    name = lib.unique("tiny2")
    iid = _create(osc, created, "--disk-format", "qcow2",
                  "--container-format", "bare", "--file", src, name)["id"]

    # not shared yet: invisible to the other project
    assert osc_raw("image", "show", iid, env=env).returncode != 0

    m = osc("image", "add", "project", name, t.project_id, json=True)
    assert m["image_id"] == iid
    assert m["member_id"] == t.project_id
    assert m["status"] == "pending"
    members = osc("image", "member", "list", name)
    assert members == [{"Image ID": iid, "Member ID": t.project_id,
                        "Status": "pending"}]

    # pending: reachable by id, not in the member's default list
    assert osc("image", "show", iid, env=env)["id"] == iid
    assert iid not in {r["ID"] for r in osc("image", "list", env=env)}

    # the member accepts (PUT .../members/<project> as that project)
    assert osc("image", "set", "--accept", iid, env=env) is None
    assert iid in {r["ID"] for r in osc("image", "list", env=env)}
    assert iid in {r["ID"] for r in osc("image", "list", "--shared",
                                        env=env)}
    assert osc("image", "member", "list", iid, env=env) == [
        {"Image ID": iid, "Member ID": t.project_id, "Status": "accepted"}]
    out = tmp_path / "shared.qcow2"
    osc("image", "save", "--file", out, iid, env=env)
    assert filecmp.cmp(src, out, shallow=False)
    # a member may not modify the image
    r = osc_raw("image", "set", "--name", "hijack", iid, env=env)
    assert r.returncode != 0
    assert osc("image", "show", iid)["name"] == name

    # the owner removes the member: the image is gone for it
    assert osc("image", "remove", "project", iid, t.project_id) is None
    assert osc("image", "member", "list", iid) == []
    assert osc_raw("image", "show", iid, env=env).returncode != 0


# ---- delete ----------------------------------------------------------------


def test_delete(osc, osc_raw, files, created, daemon):
    name = lib.unique("del")
    iid = _create(osc, created, "--disk-format", "raw", "--container-format",
                  "bare", "--file", files / "disk.raw", name)["id"]
    assert lib.image_files(daemon, iid) == [iid]
    assert osc("image", "delete", name) is None
    r = osc_raw("image", "show", iid)
    assert r.returncode != 0
    assert iid not in {x["ID"] for x in osc("image", "list")}
    assert lib.image_files(daemon, iid) == []
    # deleting again fails
    assert osc_raw("image", "delete", iid).returncode != 0


# ---- python-glanceclient's `glance` CLI -----------------------------------


@pytest.fixture(scope="module")
def glance(client_env):
    cli = "/usr/bin/glance"
    if not os.path.exists(cli):
        pytest.fail("glance CLI not found (install python3-glanceclient)",
                    pytrace=False)

    def _glance(*args, env=None, check=True):
        return lib.run_cli([cli] + [str(a) for a in args], env or client_env,
                           check=check)
    return _glance


def test_glance_cli_update_deactivated_and_formatless_images(glance, osc,
                                                             http, created):
    """glanceclient's images.update() validates the fetched image with the
    served /v2/schemas/image (warlock), so the schema must admit every
    status and null formats (glance/api/v2/images.py
    get_base_properties())."""
    img = lib.image_create(http, name=lib.unique("g"), disk_format="raw",
                           container_format="bare")
    created.append(img["id"])
    r = lib.image_upload(http, img["id"], lib.raw_payload(1000))
    assert r.status_code == 204, r.text
    assert osc("image", "set", "--deactivate", img["id"]) is None
    new = lib.unique("g-renamed")
    r = glance("image-update", "--name", new, img["id"], check=False)
    assert r.returncode == 0, r.stderr
    assert osc("image", "show", img["id"])["name"] == new

    bare = lib.image_create(http, name=lib.unique("g-bare"))
    created.append(bare["id"])
    r = glance("image-update", "--property", "k=v", bare["id"], check=False)
    assert r.returncode == 0, r.stderr
    assert lib.image_get(http, bare["id"])["k"] == "v"


def test_glance_cli_paging_keeps_sort_and_filter(glance, http, make_tenant,
                                                 env_for, created):
    """`glance image-list` follows the 'next' links verbatim; Glance builds
    them from the request's parameters (ResponseSerializer.index)."""
    t = make_tenant("gl")
    pfx = lib.unique("gl")
    names = ["%s-%s" % (pfx, c) for c in "abcde"]
    # creation order differs from both name orders; a public image of
    # another project must stay out (--owner)
    for c in "caebd":
        created.append(lib.image_create(http, token=t.member.token,
                                        name="%s-%s" % (pfx, c))["id"])
    created.append(lib.image_create(http, name=pfx + "-0",
                                    visibility="public")["id"])
    r = glance("image-list", "--owner", t.project_id, "--sort", "name:asc",
               "--page-size", 2, env=env_for(t.member))
    rows = lib.parse_table(r.stdout)[0]
    assert [row["Name"] for row in rows] == names, r.stdout
