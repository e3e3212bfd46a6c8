"""Nova v2.1 subset through Debian's real `openstack` and `nova` CLIs."""

import novalite_testlib as lib

# ---- flavors (openstack) ---------------------------------------------------


def test_flavor_list_defaults(osc):
    rows = {r["ID"]: r for r in osc("flavor", "list")}
    for fid, (name, ram, vcpus, disk) in lib.DEFAULT_FLAVORS.items():
        assert fid in rows, "default flavor %s missing: %r" % (fid, rows)
        r = rows[fid]
        assert (r["Name"], r["RAM"], r["VCPUs"], r["Disk"]) == (
            name, ram, vcpus, disk), r
        assert r["Ephemeral"] == 0
        assert r["Is Public"] is True


def test_flavor_list_long(osc):
    rows = {r["ID"]: r for r in osc("flavor", "list", "--long")}
    tiny = rows["1"]
    assert tiny["Swap"] in (0, "")
    assert tiny["RXTX Factor"] == 1.0
    assert tiny["Properties"] == {}


def test_flavor_show_by_name_and_id(osc):
    f = osc("flavor", "show", "m1.small")
    assert f["id"] == "2"
    assert f["name"] == "m1.small"
    assert (f["ram"], f["vcpus"], f["disk"]) == (2048, 1, 20)
    assert f["os-flavor-access:is_public"] is True
    assert f["OS-FLV-DISABLED:disabled"] is False
    assert f["OS-FLV-EXT-DATA:ephemeral"] == 0
    assert f["properties"] == {}
    assert osc("flavor", "show", "2")["name"] == "m1.small"


def test_flavor_show_missing(osc_raw):
    r = osc_raw("flavor", "show", "no-such-flavor")
    assert r.returncode != 0
    assert "no-such-flavor" in r.stderr, r.stderr


def test_flavor_create_delete(osc, osc_raw):
    name = lib.unique("flv")
    f = osc("flavor", "create", "--ram", 1024, "--disk", 10, "--vcpus", 2,
            "--ephemeral", 5, "--swap", 512, "--rxtx-factor", 2.5,
            "--id", name + "-id", name)
    assert f["name"] == name
    assert f["id"] == name + "-id"
    assert (f["ram"], f["vcpus"], f["disk"]) == (1024, 2, 10)
    assert f["OS-FLV-EXT-DATA:ephemeral"] == 5
    assert f["swap"] == 512
    assert f["rxtx_factor"] == 2.5
    assert f["os-flavor-access:is_public"] is True

    listed = {r["ID"]: r for r in osc("flavor", "list")}
    assert listed[name + "-id"]["Name"] == name
    assert osc("flavor", "show", name)["id"] == name + "-id"

    # same name again -> 409
    r = osc_raw("flavor", "create", "--ram", 1, "--vcpus", 1, name)
    assert r.returncode != 0
    assert "already exists" in r.stderr, r.stderr

    assert osc("flavor", "delete", name) is None
    assert name + "-id" not in {r["ID"] for r in osc("flavor", "list")}
    assert osc_raw("flavor", "show", name + "-id").returncode != 0


def test_flavor_create_auto_id_is_uuid(osc):
    import uuid
    name = lib.unique("flv-auto")
    f = osc("flavor", "create", "--ram", 64, "--vcpus", 1, name)
    uuid.UUID(f["id"])                         # nova/compute/flavors.py
    assert f["disk"] == 0
    osc("flavor", "delete", f["id"])


def test_flavor_properties_set_unset(osc):
    name = lib.unique("flv-prop")
    f = osc("flavor", "create", "--ram", 128, "--vcpus", 1, "--property",
            "hw:cpu_policy=dedicated", name)
    assert f["properties"] == {"hw:cpu_policy": "dedicated"}

    assert osc("flavor", "set", "--property", "hw:mem_page_size=large",
               "--property", "hw:cpu_policy=shared", name) is None
    f = osc("flavor", "show", name)
    assert f["properties"] == {"hw:cpu_policy": "shared",
                               "hw:mem_page_size": "large"}

    assert osc("flavor", "unset", "--property", "hw:cpu_policy",
               name) is None
    assert osc("flavor", "show", name)["properties"] == {
        "hw:mem_page_size": "large"}

    osc("flavor", "set", "--no-property", name)
    assert osc("flavor", "show", name)["properties"] == {}
    osc("flavor", "delete", name)


def test_flavor_set_description(osc, client_env):
    name = lib.unique("flv-desc")
    env = dict(client_env, OS_COMPUTE_API_VERSION="2.55")
    f = osc("flavor", "create", "--ram", 64, "--vcpus", 1,
            "--description", "before", name, env=env)
    assert f["description"] == "before"
    osc("flavor", "set", "--description", "after", name, env=env)
    assert osc("flavor", "show", name, env=env)["description"] == "after"
    osc("flavor", "delete", name)


def test_flavor_private_and_project_access(osc, osc_raw, tenant, env_for):
    name = lib.unique("flv-priv")
    f = osc("flavor", "create", "--ram", 256, "--vcpus", 1, "--private",
            name)
    fid = f["id"]
    assert f["os-flavor-access:is_public"] is False

    shown = osc("flavor", "show", fid)
    assert shown["access_project_ids"] == []

    member_env = env_for(tenant.member)
    # not visible to the other project yet
    assert fid not in {r["ID"] for r in osc("flavor", "list",
                                            env=member_env)}
    assert osc_raw("flavor", "show", fid, env=member_env).returncode != 0

    # admin sees it with --private (is_public=False); the default listing is
    # public + flavors the caller's project has access to
    # (nova/db/api/... _flavor_get_all_from_db via flavors.py _get_flavors)
    assert fid in {r["ID"] for r in osc("flavor", "list", "--private")}
    assert fid not in {r["ID"] for r in osc("flavor", "list")}

    assert osc("flavor", "set", "--project", tenant.project_id, fid) is None
    assert osc("flavor", "show", fid)["access_project_ids"] == [
        tenant.project_id]
    assert osc("flavor", "show", fid, env=member_env)["name"] == name
    assert fid in {r["ID"] for r in osc("flavor", "list", env=member_env)}

    # a member can't grant access, can't delete
    other = osc("project", "create", lib.unique("other"))
    r = osc_raw("flavor", "set", "--project", other["id"], fid,
                env=member_env)
    assert r.returncode != 0
    r = osc_raw("flavor", "delete", fid, env=member_env)
    assert r.returncode != 0
    assert osc("flavor", "show", fid)["access_project_ids"] == [
        tenant.project_id]

    # public flavors can't get project access
    r = osc_raw("flavor", "set", "--project", tenant.project_id, "m1.tiny")
    assert r.returncode != 0

    assert osc("flavor", "unset", "--project", tenant.project_id,
               fid) is None
    assert osc("flavor", "show", fid)["access_project_ids"] == []
    assert osc_raw("flavor", "show", fid, env=member_env).returncode != 0
    osc("flavor", "delete", fid)
    osc("project", "delete", other["id"])


def test_flavor_create_private_with_project(osc, tenant, env_for):
    name = lib.unique("flv-privp")
    f = osc("flavor", "create", "--ram", 64, "--vcpus", 1, "--private",
            "--project", tenant.project_name, name)
    assert osc("flavor", "show", f["id"])["access_project_ids"] == [
        tenant.project_id]
    assert osc("flavor", "show", f["id"],
               env=env_for(tenant.reader))["id"] == f["id"]
    osc("flavor", "delete", f["id"])


def test_flavor_create_as_member_forbidden(osc, osc_raw, tenant, env_for):
    name = lib.unique("flv-denied")
    r = osc_raw("flavor", "create", "--ram", 64, "--vcpus", 1, name,
                env=env_for(tenant.member))
    assert r.returncode != 0
    assert "os_compute_api:os-flavor-manage:create" in r.stderr, r.stderr
    assert name not in {row["Name"] for row in osc("flavor", "list")}
    assert name not in {row["Name"] for row in osc("flavor", "list",
                                                   "--private")}


# ---- keypairs (openstack) --------------------------------------------------

def _bare_public_key(proc):
    """`keypair show --public-key` writes the key to stdout (cliff may add an
    empty table after it)."""
    assert proc.returncode == 0, proc.stderr
    keys = [ln.strip() for ln in proc.stdout.splitlines()
            if ln.strip().startswith(("ssh-", "ecdsa-"))]
    assert len(keys) == 1, proc.stdout
    return keys[0]


def test_keypair_create_generated(osc, osc_raw, http, tmp_path):
    name = lib.unique("kp-gen")
    r = osc_raw("keypair", "create", name)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "-----BEGIN" in out and "PRIVATE KEY-----" in out, out
    priv = out[out.index("-----BEGIN"):]
    priv = priv[:priv.index("PRIVATE KEY-----", priv.index("-----END"))
                + len("PRIVATE KEY-----")] + "\n"

    kp = osc("keypair", "show", name)
    assert kp["name"] == name
    assert kp["user_id"] == http.admin_user_id
    assert kp.get("type", "ssh") == "ssh"
    assert "private_key" not in kp or not kp["private_key"]

    pub = _bare_public_key(osc_raw("keypair", "show", "--public-key", name))
    assert pub.startswith("ssh-"), pub
    # the private key we were given matches the stored public key
    derived = lib.public_from_private(priv, tmp_path)
    assert lib.key_blob(derived) == lib.key_blob(pub)
    assert kp["fingerprint"] == lib.ssh_fingerprint(pub)
    osc("keypair", "delete", name)


def test_keypair_create_generated_private_key_file(osc, tmp_path):
    name = lib.unique("kp-file")
    keyfile = tmp_path / "generated.pem"
    kp = osc("keypair", "create", "--private-key", keyfile, name)
    assert kp["name"] == name
    text = keyfile.read_text()
    assert "PRIVATE KEY-----" in text
    derived = lib.public_from_private(text, tmp_path)
    assert kp["fingerprint"] == lib.ssh_fingerprint(derived)
    osc("keypair", "delete", name)


def test_keypair_import_list_show_delete(osc, osc_raw, ed25519, http):
    _, pubfile = ed25519
    pub = pubfile.read_text().strip()
    name = lib.unique("kp-imp")
    kp = osc("keypair", "create", "--public-key", pubfile, name)
    assert kp["name"] == name
    assert kp["fingerprint"] == lib.ssh_fingerprint(pub)
    assert kp["user_id"] == http.admin_user_id
    assert "public_key" not in kp
    assert "private_key" not in kp

    rows = osc("keypair", "list")
    row = [r for r in rows if r["Name"] == name]
    assert len(row) == 1, rows
    assert row[0]["Fingerprint"] == kp["fingerprint"]
    if "Type" in row[0]:
        assert row[0]["Type"] == "ssh"

    shown = osc("keypair", "show", name)
    assert shown["fingerprint"] == kp["fingerprint"]
    got = _bare_public_key(osc_raw("keypair", "show", "--public-key", name))
    assert lib.key_blob(got) == lib.key_blob(pub)

    # same name again -> conflict
    r = osc_raw("keypair", "create", "--public-key", pubfile, name)
    assert r.returncode != 0
    assert "already exists" in r.stderr, r.stderr

    assert osc("keypair", "delete", name) is None
    assert name not in {r["Name"] for r in osc("keypair", "list")}
    r = osc_raw("keypair", "show", name)
    assert r.returncode != 0


def test_keypairs_are_per_user(osc, ed25519, tenant, env_for):
    _, pubfile = ed25519
    name = lib.unique("kp-mine")
    osc("keypair", "create", "--public-key", pubfile, name,
        env=env_for(tenant.member))
    assert name in {r["Name"] for r in osc("keypair", "list",
                                          env=env_for(tenant.member))}
    assert name not in {r["Name"] for r in osc("keypair", "list")}
    assert name not in {r["Name"] for r in osc("keypair", "list",
                                              env=env_for(tenant.reader))}
    osc("keypair", "delete", name, env=env_for(tenant.member))


# ---- limits / quotas (openstack) -------------------------------------------

def test_limits_show_absolute(osc):
    rows = {r["Name"]: r["Value"] for r in osc("limits", "show",
                                               "--absolute")}
    assert rows["maxTotalInstances"] == lib.DEFAULT_QUOTAS["instances"]
    assert rows["maxTotalCores"] == lib.DEFAULT_QUOTAS["cores"]
    assert rows["maxTotalRAMSize"] == lib.DEFAULT_QUOTAS["ram"]
    assert rows["maxTotalKeypairs"] == lib.DEFAULT_QUOTAS["key_pairs"]
    assert rows["maxServerMeta"] == lib.DEFAULT_QUOTAS["metadata_items"]
    assert rows["totalInstancesUsed"] == 0
    assert rows["totalCoresUsed"] == 0
    assert rows["totalRAMUsed"] == 0


def test_quota_show_defaults(osc, http):
    q = osc("quota", "show")
    assert q["project"] == http.admin_project_id
    assert q["project_name"] == "admin"
    assert q["instances"] == lib.DEFAULT_QUOTAS["instances"]
    assert q["cores"] == lib.DEFAULT_QUOTAS["cores"]
    assert q["ram"] == lib.DEFAULT_QUOTAS["ram"]
    assert q["key-pairs"] == lib.DEFAULT_QUOTAS["key_pairs"]
    assert q["properties"] == lib.DEFAULT_QUOTAS["metadata_items"]
    assert q["server-groups"] == lib.DEFAULT_QUOTAS["server_groups"]


def test_quota_set_then_show(osc, make_tenant, http):
    t = make_tenant("quota")
    assert osc("quota", "show", t.project_id)["instances"] == 10
    assert osc("quota", "set", "--instances", 7, "--cores", 9,
               t.project_id) is None
    q = osc("quota", "show", t.project_id)
    assert q["instances"] == 7
    assert q["cores"] == 9
    assert q["ram"] == lib.DEFAULT_QUOTAS["ram"]
    assert q["project"] == t.project_id
    # other projects keep the defaults
    assert osc("quota", "show")["instances"] == 10
    # and the member of that project sees its limits through /limits
    r = http.compute("GET", "/limits", token=t.member.token)
    assert r.status_code == 200, r.text
    assert r.json()["limits"]["absolute"]["maxTotalInstances"] == 7


def test_quota_set_as_member_forbidden(osc_raw, osc, tenant, env_for):
    r = osc_raw("quota", "set", "--instances", 3, tenant.project_id,
                env=env_for(tenant.member))
    assert r.returncode != 0
    assert osc("quota", "show", tenant.project_id)["instances"] == 10


# ---- nova CLI --------------------------------------------------------------

def test_nova_flavor_list(nova):
    tables = lib.parse_table(nova("flavor-list").stdout)
    rows = {r["ID"]: r for r in tables[0]}
    for fid, (name, ram, vcpus, disk) in lib.DEFAULT_FLAVORS.items():
        r = rows[fid]
        assert (r["Name"], r["Memory_MiB"], r["VCPUs"], r["Disk"]) == (
            name, str(ram), str(vcpus), str(disk)), r
        assert r["Is_Public"] == "True"


def test_nova_flavor_show(nova):
    p = lib.property_table(nova("flavor-show", "m1.large").stdout)
    assert p["name"] == "m1.large"
    assert p["id"] == "4"
    assert (p["ram"], p["vcpus"], p["disk"]) == ("8192", "4", "80")
    assert p["os-flavor-access:is_public"] == "True"


def test_nova_keypair_add_list_delete(nova, ed25519):
    _, pubfile = ed25519
    pub = pubfile.read_text().strip()
    name = lib.unique("nkp")
    r = nova("keypair-add", "--pub-key", pubfile, name)
    assert r.stdout.strip() == ""
    rows = lib.parse_table(nova("keypair-list").stdout)[0]
    row = [x for x in rows if x["Name"] == name]
    assert len(row) == 1, rows
    assert row[0]["Fingerprint"] == lib.ssh_fingerprint(pub)
    assert row[0]["Type"] == "ssh"
    out = nova("keypair-show", name).stdout
    p = lib.property_table(out)
    assert p["name"] == name
    assert p["fingerprint"] == lib.ssh_fingerprint(pub)
    # novaclient prints the key below the table (_print_keypair)
    pk = [ln for ln in out.splitlines() if ln.startswith("Public key: ")]
    assert pk, out
    assert lib.key_blob(pk[0][len("Public key: "):]) == lib.key_blob(pub)
    nova("keypair-delete", name)
    rows = lib.parse_table(nova("keypair-list").stdout)
    assert name not in {x["Name"] for t in rows for x in t}


def test_nova_keypair_add_without_pubkey_rejected_at_292(nova):
    # novaclient negotiates 2.92; since 2.92 public_key is required
    # (nova/api/openstack/compute/schemas/keypairs.py create_v292).
    name = lib.unique("nkp-gen")
    r = nova("keypair-add", name, check=False)
    assert r.returncode != 0
    assert "public_key" in r.stderr and "HTTP 400" in r.stderr, r.stderr
    rows = lib.parse_table(nova("keypair-list").stdout)
    assert name not in {x["Name"] for t in rows for x in t}


def test_nova_limits(nova):
    # novaclient prints the (empty) rate table first, then the absolute one
    tables = lib.parse_table(nova("limits").stdout)
    absolute = {r["Name"]: r for t in tables for r in t if "Name" in r}
    assert absolute, tables
    # novaclient negotiates 2.92: maxImageMeta is gone since 2.39
    # (nova/api/openstack/compute/limits.py max_image_meta=False)
    assert "ImageMeta" not in absolute
    assert absolute["Instances"]["Max"] == "10"
    assert absolute["Instances"]["Used"] == "0"
    assert absolute["Cores"]["Max"] == "20"
    assert absolute["RAM"]["Max"] == "51200"
    assert absolute["Keypairs"]["Max"] == "100"


def test_nova_version_list(nova, daemon):
    out = nova("version-list").stdout
    assert "Maximum version 2.92" in out           # novaclient's own
    rows = {r["Id"]: r for t in lib.parse_table(out) for r in t}
    assert rows["v2.1"]["Status"] == "CURRENT"
    assert rows["v2.1"]["Min Version"] == "2.1"
    assert rows["v2.1"]["Version"] == lib.MAX_MICROVERSION


def test_nova_keypair_add_generated_at_291(nova, tmp_path):
    name = lib.unique("nkp-291")
    out = nova("--os-compute-api-version", "2.91", "keypair-add",
               name).stdout
    assert "PRIVATE KEY-----" in out, out
    priv = out[out.index("-----BEGIN"):].strip() + "\n"
    derived = lib.public_from_private(priv, tmp_path)
    rows = lib.parse_table(nova("keypair-list").stdout)[0]
    row = [x for x in rows if x["Name"] == name]
    assert len(row) == 1, rows
    assert row[0]["Fingerprint"] == lib.ssh_fingerprint(derived)
    nova("keypair-delete", name)
