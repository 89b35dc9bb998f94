#!/usr/bin/python3
"""Seed the loopback OpenStack stack of scripts/openstack-up.sh.

identity  users, projects, roles and the catalog in Keystone (public and
          internal endpoints), an application credential, clouds.yaml
cloud     flavors (through nova-api), images (through Glance), a compute
          service record and ACTIVE servers (through nova's own objects)
servers   N more ACTIVE servers, one per image to create

Run with Debian's /usr/bin/python3, which has the OpenStack modules.
"""
import argparse
import json
import os
import sys

from keystoneauth1 import session as ksa_session
from keystoneauth1.identity import v3


def load(state):
    with open(os.path.join(state, "identity.json")) as f:
        return json.load(f)


def sess(ident, user, password, project):
    auth = v3.Password(auth_url=ident["auth_url"], username=user, password=password,
                       project_name=project, user_domain_name="Default",
                       project_domain_name="Default")
    return ksa_session.Session(auth=auth)


def identity(a):
    from keystoneclient.v3 import client as ks

    auth_url = a.keystone + "/v3"
    admin = ksa_session.Session(auth=v3.Password(
        auth_url=auth_url, username="admin", password=a.admin_password, project_name="admin",
        user_domain_name="Default", project_domain_name="Default"))
    kc = ks.Client(session=admin, interface="public")
    roles = {r.name: r for r in kc.roles.list()}
    for name in ("member", "reader", "service"):
        if name not in roles:
            roles[name] = kc.roles.create(name)

    def project(name):
        found = kc.projects.list(name=name)
        return found[0] if found else kc.projects.create(name, "default")

    def user(name, password, proj, role_names):
        found = kc.users.list(name=name)
        u = found[0] if found else kc.users.create(name, domain="default", password=password,
                                                     default_project=proj)
        for r in role_names:
            kc.roles.grant(roles[r], user=u, project=proj)
        return u

    service = project("service")
    demo = project("demo")
    bench = project("bench")
    user("glance", a.service_password, service, ["admin", "service"])
    user("nova", a.service_password, service, ["admin", "service"])
    user("neutron", a.service_password, service, ["admin", "service"])
    demo_user = user("demo", a.demo_password, demo, ["member", "reader"])
    user("bench", a.demo_password, bench, ["member", "reader"])

    for stype, name, url in (("image", "glance", a.glance), ("compute", "nova", a.nova),
                              ("network", "neutron", a.neutron)):
        svcs = kc.services.list(type=stype)
        svc = svcs[0] if svcs else kc.services.create(name, stype)
        have = {e.interface for e in kc.endpoints.list(service=svc)}
        for iface in ("public", "internal"):
            if iface not in have:
                kc.endpoints.create(svc, url, interface=iface, region="RegionOne")

    # An application credential of demo's, for the application-credential tests.
    demo_sess = ksa_session.Session(auth=v3.Password(
        auth_url=auth_url, username="demo", password=a.demo_password, project_name="demo",
        user_domain_name="Default", project_domain_name="Default"))
    dkc = ks.Client(session=demo_sess, interface="public")
    ac = dkc.application_credentials.create(name="imagegw-tests", user=demo_user.id)

    ident = {
        "auth_url": auth_url, "admin_password": a.admin_password,
        "demo_password": a.demo_password, "demo_project_id": demo.id,
        "bench_project_id": bench.id, "demo_user_id": demo_user.id,
        "appcred_id": ac.id, "appcred_secret": ac.secret,
    }
    with open(os.path.join(a.state, "identity.json"), "w") as f:
        json.dump(ident, f)
    with open(os.path.join(a.state, "clouds.yaml"), "w") as f:
        f.write(f"""clouds:
  imagegw-demo:
    auth:
      auth_url: {auth_url}
      username: demo
      password: {a.demo_password}
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
""")
    env = {
        "OS_AUTH_URL": auth_url, "OS_REGION_NAME": "RegionOne", "OS_USERNAME": "demo",
        "OS_PASSWORD": a.demo_password, "OS_PROJECT_NAME": "demo",
        "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_IDENTITY_API_VERSION": "3", "OS_INTERFACE": "public",
        "IMAGEGW_OS_STATE": a.state, "IMAGEGW_OS_AUTH_URL": auth_url,
        "IMAGEGW_OS_ADMIN_PASSWORD": a.admin_password, "IMAGEGW_OS_DEMO_PASSWORD": a.demo_password,
        "IMAGEGW_OS_DEMO_PROJECT_ID": demo.id, "IMAGEGW_OS_APPCRED_ID": ac.id,
        "IMAGEGW_OS_APPCRED_SECRET": ac.secret,
        "IMAGEGW_OS_CLOUDS_YAML": os.path.join(a.state, "clouds.yaml"),
        "IMAGEGW_OS_SEED": os.path.abspath(__file__),
    }
    with open(os.path.join(a.state, "env"), "w") as f:
        for k, v in env.items():
            f.write(f"export {k}='{v}'\n")


FLAVORS = [
    # id, name, vcpus, ram MiB, disk GB, ephemeral GB, swap MiB, public, extra specs
    ("1", "m1.tiny", 1, 512, 1, 0, 0, True, {}),
    ("2", "m1.small", 1, 2048, 20, 0, 0, True, {}),
    ("3", "m1.medium", 2, 4096, 40, 0, 0, True, {"hw:cpu_policy": "shared"}),
    ("4", "m1.large", 4, 8192, 80, 10, 1024, True, {}),
    ("gpu1", "g1.private", 8, 16384, 100, 0, 0, False, {"hw:cpu_arch": "x86_64", "resources:VGPU": "1"}),
]


def cloud(a):
    ident = load(a.state)
    admin = sess(ident, "admin", ident["admin_password"], "admin")
    demo = sess(ident, "demo", ident["demo_password"], "demo")
    compute = dict(service_type="compute", interface="public",
                   headers={"OpenStack-API-Version": "compute 2.61"})
    for fid, name, vcpus, ram, disk, eph, swap, public, specs in FLAVORS:
        if admin.get(f"/flavors/{fid}", raise_exc=False, endpoint_filter=compute).status_code == 404:
            admin.post("/flavors", endpoint_filter=compute, json={"flavor": {
                "id": fid, "name": name, "vcpus": vcpus, "ram": ram, "disk": disk,
                "OS-FLV-EXT-DATA:ephemeral": eph, "swap": swap,
                "os-flavor-access:is_public": public}})
            if specs:
                admin.post(f"/flavors/{fid}/os-extra_specs", endpoint_filter=compute,
                           json={"extra_specs": specs})
            if not public:
                admin.post(f"/flavors/{fid}/action", endpoint_filter=compute,
                           json={"addTenantAccess": {"tenant": ident["demo_project_id"]}})

    image = dict(service_type="image", interface="public")

    def make_image(s, name, visibility, props):
        body = {"name": name, "disk_format": "raw", "container_format": "bare",
                "visibility": visibility, "min_disk": 1}
        body.update(props)
        img = s.post("/v2/images", endpoint_filter=image, json=body).json()
        s.put(f"/v2/images/{img['id']}/file", endpoint_filter=image,
              headers={"Content-Type": "application/octet-stream"},
              data=(name.encode() * 8)[:256])
        return img["id"]

    base = make_image(admin, "debian-12-base", "public",
                      {"architecture": "x86_64", "os_type": "linux", "os_distro": "debian"})
    make_image(admin, "cirros-arm", "public", {"architecture": "aarch64", "os_type": "linux"})
    for i in range(max(0, a.images - 2)):
        make_image(demo, f"seed-{i:03d}", "private",
                   {"architecture": "x86_64", "seed_index": str(i)})
    ident["base_image"] = base
    with open(os.path.join(a.state, "identity.json"), "w") as f:
        json.dump(ident, f)
    servers(a)


def servers(a):
    """Seed ACTIVE servers on a compute host that has no nova-compute.

    nova-api only checks the database: an ACTIVE instance with a host,
    launched_at and an empty network cache, mapped to cell1, is enough for
    GET /servers and POST /servers/{id}/action createImage.
    """
    ident = load(a.state)
    from oslo_utils import timeutils, uuidutils
    from nova import config, context, objects
    from nova.compute import power_state, vm_states
    from nova.network import model as network_model

    config.parse_args(["openstack-seed", "--config-file", os.path.join(a.state, "nova.conf")])
    objects.register_all()
    ctx = context.get_admin_context()
    cell = next(c for c in objects.CellMappingList.get_all(ctx) if c.name == "cell1")
    flavor = objects.Flavor.get_by_flavor_id(ctx, "1")
    host = "compute-1"
    made = []
    with context.target_cell(ctx, cell) as cctx:
        try:
            objects.Service.get_by_args(cctx, host, "nova-compute")
        except Exception:  # noqa: BLE001 - NotFound: make the compute service record
            objects.Service(cctx, host=host, binary="nova-compute", topic="compute",
                            report_count=0).create()
            objects.HostMapping(ctx, host=host, cell_mapping=cell).create()
        for _ in range(a.servers):
            inst = objects.Instance(context=cctx)
            inst.uuid = uuidutils.generate_uuid()
            inst.project_id = ident["demo_project_id"]
            inst.user_id = ident["demo_user_id"]
            inst.display_name = "seed-" + inst.uuid[:8]
            inst.hostname = inst.display_name
            inst.host = inst.node = inst.launched_on = host
            inst.vm_state = vm_states.ACTIVE
            inst.power_state = power_state.RUNNING
            inst.task_state = None
            inst.image_ref = ident["base_image"]
            inst.flavor = flavor
            inst.instance_type_id = flavor.id
            inst.memory_mb, inst.vcpus = flavor.memory_mb, flavor.vcpus
            inst.root_gb, inst.ephemeral_gb = flavor.root_gb, flavor.ephemeral_gb
            inst.availability_zone = "nova"
            inst.launched_at = timeutils.utcnow()
            inst.root_device_name = "/dev/vda"
            inst.metadata = {}
            inst.system_metadata = {
                "image_disk_format": "raw", "image_container_format": "bare",
                "image_min_disk": "1", "image_base_image_ref": ident["base_image"],
            }
            inst.info_cache = objects.InstanceInfoCache(network_info=network_model.NetworkInfo([]))
            inst.create()
            objects.InstanceMapping(ctx, instance_uuid=inst.uuid, cell_mapping=cell,
                                    project_id=inst.project_id, user_id=inst.user_id,
                                    queued_for_delete=False).create()
            made.append(inst.uuid)
    print(" ".join(made))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["identity", "cloud", "servers"])
    p.add_argument("--state", required=True)
    p.add_argument("--keystone")
    p.add_argument("--admin-password")
    p.add_argument("--demo-password")
    p.add_argument("--service-password")
    p.add_argument("--glance")
    p.add_argument("--nova")
    p.add_argument("--neutron")
    p.add_argument("--images", type=int, default=30)
    p.add_argument("--servers", type=int, default=1)
    a = p.parse_args()
    {"identity": identity, "cloud": cloud, "servers": servers}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())
