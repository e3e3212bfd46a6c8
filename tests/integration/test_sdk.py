"""openstacksdk (python3-openstacksdk) against the daemon."""

import novalite_testlib as lib


def test_list_flavors(sdk):
    flavors = {f.id: f for f in sdk.compute.flavors()}
    for fid, (name, ram, vcpus, disk) in lib.DEFAULT_FLAVORS.items():
        f = flavors[fid]
        assert (f.name, f.ram, f.vcpus, f.disk) == (name, ram, vcpus, disk)
        assert f.is_public is True
        assert f.is_disabled is False


def test_find_flavor(sdk):
    f = sdk.compute.find_flavor("m1.medium")
    assert f is not None
    assert f.id == "3"
    assert (f.ram, f.vcpus, f.disk) == (4096, 2, 40)
    assert sdk.compute.find_flavor("no-such-flavor") is None
    g = sdk.compute.get_flavor("5")
    assert g.name == "m1.xlarge"


def test_create_find_delete_keypair(sdk, ed25519, http):
    _, pubfile = ed25519
    pub = pubfile.read_text().strip()
    name = lib.unique("sdk-kp")
    kp = sdk.compute.create_keypair(name=name, public_key=pub)
    assert kp.name == name
    assert kp.fingerprint == lib.ssh_fingerprint(pub)
    assert kp.type == "ssh"
    found = sdk.compute.find_keypair(name)
    assert found is not None
    assert found.fingerprint == kp.fingerprint
    assert lib.key_blob(found.public_key) == lib.key_blob(pub)
    assert found.user_id == http.admin_user_id
    assert name in {k.name for k in sdk.compute.keypairs()}
    sdk.compute.delete_keypair(name)
    assert sdk.compute.find_keypair(name) is None
    assert name not in {k.name for k in sdk.compute.keypairs()}


def test_create_generated_keypair(sdk, tmp_path):
    name = lib.unique("sdk-gen")
    kp = sdk.compute.create_keypair(name=name)
    assert kp.private_key and "PRIVATE KEY-----" in kp.private_key
    derived = lib.public_from_private(kp.private_key, tmp_path)
    assert lib.key_blob(derived) == lib.key_blob(kp.public_key)
    assert kp.fingerprint == lib.ssh_fingerprint(kp.public_key)
    sdk.compute.delete_keypair(kp)
    assert sdk.compute.find_keypair(name) is None


def test_get_limits(sdk):
    limits = sdk.compute.get_limits()
    a = limits.absolute
    assert a.instances == lib.DEFAULT_QUOTAS["instances"]
    assert a.total_cores == lib.DEFAULT_QUOTAS["cores"]
    assert a.total_ram == lib.DEFAULT_QUOTAS["ram"]
    assert a.keypairs == lib.DEFAULT_QUOTAS["key_pairs"]
    assert a.server_meta == lib.DEFAULT_QUOTAS["metadata_items"]
    assert a.server_groups == lib.DEFAULT_QUOTAS["server_groups"]
    assert a.server_group_members == lib.DEFAULT_QUOTAS[
        "server_group_members"]
    assert a.instances_used == 0
    assert a.total_cores_used == 0
    assert a.total_ram_used == 0


def test_get_quota_set(sdk, http):
    q = sdk.compute.get_quota_set(http.admin_project_id)
    assert q.instances == lib.DEFAULT_QUOTAS["instances"]
    assert q.key_pairs == lib.DEFAULT_QUOTAS["key_pairs"]
    assert q.ram == lib.DEFAULT_QUOTAS["ram"]


def test_identity_list_projects(sdk, http, tenant):
    projects = {p.name: p for p in sdk.identity.projects()}
    assert "admin" in projects
    assert projects["admin"].id == http.admin_project_id
    assert projects["admin"].domain_id == "default"
    assert projects["admin"].is_enabled is True
    assert projects[tenant.project_name].id == tenant.project_id
    p = sdk.identity.find_project("admin")
    assert p.id == http.admin_project_id


def test_identity_list_users(sdk, http, tenant):
    users = {u.name: u for u in sdk.identity.users()}
    assert users["admin"].id == http.admin_user_id
    assert users["admin"].domain_id == "default"
    assert users["admin"].is_enabled is True
    assert users[tenant.member.name].id == tenant.member.id
    assert users[tenant.member.name].default_project_id == tenant.project_id
    assert sdk.identity.find_user(tenant.reader.name).id == tenant.reader.id


def test_identity_roles_and_domains(sdk):
    names = {r.name for r in sdk.identity.roles()}
    assert {"admin", "member", "reader", "service"} <= names
    domains = {d.id: d for d in sdk.identity.domains()}
    assert domains["default"].name == "Default"


def test_sdk_as_member_sees_only_its_project(daemon, tenant):
    import openstack
    conn = openstack.connect(
        auth_url=daemon.identity_url, username=tenant.member.name,
        password=tenant.member.password, project_name=tenant.project_name,
        user_domain_name="Default", project_domain_name="Default",
        region_name="RegionOne", identity_api_version="3",
        load_yaml_config=False, load_envvars=False)
    try:
        assert conn.current_project_id == tenant.project_id
        assert conn.compute.find_flavor("m1.tiny").id == "1"
        assert conn.compute.get_limits().absolute.instances == 10
    finally:
        conn.close()
