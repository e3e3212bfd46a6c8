import re, os, json, hashlib
src = open('api/router.c').read()
names = re.findall(r'BODY(?:_OPEN)?\(([a-z0-9_]+)', src)[3:]
S = {
 'auth': {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "secret"}}}, "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}},
 'auth_token': {"auth": {"identity": {"methods": ["token"], "token": {"id": "gAAAAA"}}}},
 'domain': {"domain": {"name": "d1", "description": "x", "enabled": True}},
 'project': {"project": {"name": "p1", "domain_id": "default", "enabled": True, "description": "d"}},
 'user': {"user": {"name": "u1", "password": "pw", "default_project_id": "abc", "domain_id": "default", "enabled": True}},
 'user_password': {"user": {"password": "new", "original_password": "old"}},
 'role': {"role": {"name": "r1"}},
 'flavor_create': {"flavor": {"name": "m1.tiny", "ram": 512, "vcpus": 1, "disk": "1", "id": "42", "rxtx_factor": 1.0, "os-flavor-access:is_public": True, "OS-FLV-EXT-DATA:ephemeral": 0, "swap": 0, "description": "small"}},
 'flavor_update': {"flavor": {"description": "new"}},
 'extra_specs_create': {"extra_specs": {"hw:cpu_policy": "dedicated", "k": "v"}},
 'extra_spec_update': {"hw:cpu_policy": "shared"},
 'flavor_action': {"addTenantAccess": {"tenant": "p1"}},
 'keypair_create': {"keypair": {"name": "k1", "type": "ssh", "user_id": "u", "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB x"}},
 'quota_update': {"quota_set": {"instances": 10, "cores": "20", "ram": -1, "force": "True", "key_pairs": 5}},
 'quota_class_update': {"quota_class_set": {"instances": 10, "cores": 20}},
 'image_metadata': {"metadata": {"kernel_id": "x"}},
 'image_meta': {"meta": {"kernel_id": "x"}},
 'server_create': {"server": {"name": "vm1", "imageRef": "70a599e0-31e7-49b7-b260-868f441e862b", "flavorRef": "1", "networks": "auto", "min_count": 1, "max_count": "2", "metadata": {"a": "b"}, "key_name": "k1", "user_data": "aGVsbG8=", "availability_zone": "nova", "security_groups": [{"name": "default"}], "description": "d", "tags": ["t1"], "hostname": "vm-1", "block_device_mapping_v2": [{"boot_index": 0, "uuid": "70a599e0-31e7-49b7-b260-868f441e862b", "source_type": "image", "destination_type": "local"}]}, "os:scheduler_hints": {"group": "70a599e0-31e7-49b7-b260-868f441e862b", "same_host": ["70a599e0-31e7-49b7-b260-868f441e862b"]}},
 'server_update': {"server": {"name": "vm2", "description": "d", "hostname": "h2"}},
 'server_action': {"reboot": {"type": "HARD"}},
 'server_action2': {"rebuild": {"imageRef": "70a599e0-31e7-49b7-b260-868f441e862b", "name": "x", "metadata": {"k": "v"}}},
 'server_action3': {"resize": {"flavorRef": "2", "OS-DCF:diskConfig": "AUTO"}},
 'server_action4': {"os-getConsoleOutput": {"length": "50"}},
 'server_action5': {"createImage": {"name": "snap", "metadata": {}}},
 'remote_console': {"remote_console": {"protocol": "vnc", "type": "novnc"}},
 'server_metadata': {"metadata": {"a": "1", "b": "2"}},
 'server_meta': {"meta": {"a": "1"}},
 'server_tags': {"tags": ["a", "b"]},
 'service_update': {"status": "disabled", "disabled_reason": "maint", "forced_down": False, "host": "h", "binary": "nova-compute"},
 'aggregate_create': {"aggregate": {"name": "agg1", "availability_zone": "az1"}},
 'aggregate_update': {"aggregate": {"name": "agg2"}},
 'aggregate_action': {"add_host": {"host": "h1"}},
 'aggregate_action2': {"set_metadata": {"metadata": {"k": "v", "x": None}}},
 'server_group_create': {"server_group": {"name": "g", "policies": ["anti-affinity"], "policy": "anti-affinity", "rules": {"max_server_per_host": 1}}},
 'internal_host': {"host": "c1", "agent_id": "a1", "vcpus": 4, "memory_mb": 8192, "local_gb": 100, "hypervisor_type": "QEMU"},
 'internal_power': {"power_state": 1, "vm_state": "active"},
 'internal_console': {"offset": 0, "data": "boot\n"},
 'internal_result': {"status": "done", "error": None, "result": {}},
}
def key(n):
    n = re.sub(r'_(spec|v2\d+|v21\d*)$', '', n); n = re.sub(r'_(create|update)$', '', n) if n.split('_')[0] in ('domain','project','user','role') else n
    return n
out = 'tests/fuzz/corpus/fuzz_json_spec'
os.makedirs(out, exist_ok=True)
def w(d, name, data):
    open(os.path.join(d, name), 'wb').write(data)
for i, n in enumerate(names):
    k = key(n)
    bodies = [S[x] for x in S if x == k or (x.startswith(k) and x[len(k):].isdigit())]
    if k == 'auth': bodies.append(S['auth_token'])
    if not bodies: print('no sample for', n, k); bodies = [{}]
    for j, b in enumerate(bodies):
        w(out, f'{i:02d}-{n}-{j}', bytes([i]) + json.dumps(b).encode())
# hostile bodies on a few routes
for name, body in [('dup', b'{"flavor": {"name": "a", "name": "b"}}'), ('deep', b'[' * 3000), ('nan', b'{"flavor": {"ram": NaN}}'),
                   ('big', b'{"flavor": {"ram": 99999999999999999999}}'), ('nul', b'{"flavor": {"name": "a\\u0000b"}}'),
                   ('utf8', '{"flavor": {"name": "\u4e2d\U0001F600 \u2028"}}'.encode()), ('empty', b''), ('arr', b'[]'), ('str', b'"x"')]:
    w(out, f'hostile-{name}', bytes([names.index('flavor_create_v21')]) + body)
# query strings
qr = re.findall(r'QUERY\(([a-z0-9_]+)', src)[1:]
out = 'tests/fuzz/corpus/fuzz_query'; os.makedirs(out, exist_ok=True)
qs = [b'limit=10&marker=abc', b'minDisk=1&minRam=512&is_public=None&sort_key=name&sort_dir=desc', b'user_id=u1&limit=5',
      b'all_projects=1&start=2026-01-01T00:00:00&end=2026-02-01T00:00:00.000000&detailed=1', b'hypervisor_hostname_pattern=h%2A&with_servers=true',
      b'limit=-1&limit=abc&unknown=1', b'%zz=%41%00&&==&a', b'changes-since=2026-01-01T00:00:00Z']
for i, n in enumerate(qr):
    for j, q in enumerate(qs[:4] if i % 2 else qs[4:]):
        w(out, f'{i:02d}-{n}-{j}', bytes([i, 93 if j % 2 else 74]) + q)
# router: every pattern, with {x} filled
out = 'tests/fuzz/corpus/fuzz_router'; os.makedirs(out, exist_ok=True)
svc = {'SVC_IDENTITY': 0, 'SVC_COMPUTE': 1, 'SVC_IMAGE': 2, 'SVC_INTERNAL': 3}
meth = {'M_GET': 0, 'M_HEAD': 1, 'M_POST': 2, 'M_PUT': 3, 'M_DELETE': 4, 'M_PATCH': 5}
hdrs = [b'\n\n', b'\ncompute 2.79\n', b'\ncompute latest\n', b'\n\n2.53', b'\nvolume 3.0, compute 2.2\n', b'\ncompute 2.094\n', b'\ncompute 3.1\n2.x']
for k, m in enumerate(re.finditer(r'\{ (SVC_[A-Z]+), (M_[A-Z]+)[^"]*"([^"]+)"', src)):
    url = re.sub(r'\{[^}]+\}', 'abc-1', m.group(3)).encode()
    w(out, f'{k:03d}', bytes([svc[m.group(1)], meth[m.group(2)]]) + url + hdrs[k % len(hdrs)])
w(out, 'slashes', bytes([1, 0]) + b'/v2.1//servers/%2e%2e/x/' + b'\n\n')
