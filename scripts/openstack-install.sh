#!/bin/bash
# openstack-install.sh installs Debian 12's Keystone, Glance, nova-api and Neutron API
# packages without letting their maintainer scripts configure databases,
# register endpoints or start services. Idempotent: a second run is a no-op
# once the packages are in place. Run as root. Used by scripts/openstack-up.sh.
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true

PKGS=(keystone glance-api nova-api neutron-api uwsgi-core uwsgi-plugin-python3 python3-openstackclient sqlite3 curl)

need=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
	echo "openstack-install: all packages present"
	exit 0
fi

# Debian's OpenStack packages ask (through debconf + dbconfig-common) whether to
# set up a database, an admin tenant, endpoints, RabbitMQ, keystone_authtoken.
# Answer "no" to all of it: openstack-up.sh writes its own configs under a temp dir.
debconf-set-selections <<'SEL'
keystone keystone/dbconfig-install boolean false
keystone keystone/configure_db boolean false
keystone keystone/create-admin-tenant boolean false
keystone keystone/register-endpoint boolean false
keystone keystone/configure_rabbit boolean false
glance-common glance/configure_db boolean false
glance-common glance-common/dbconfig-install boolean false
glance-common glance/configure_ksat boolean false
glance-common glance/configure_rabbit boolean false
glance-api glance/register-endpoint boolean false
glance-api glance-api/register-endpoint boolean false
nova-common nova/configure_db boolean false
nova-common nova-common/dbconfig-install boolean false
nova-common nova/configure_ksat boolean false
nova-common nova/configure_rabbit boolean false
nova-api nova/register-endpoint boolean false
nova-api nova-api/register-endpoint boolean false
nova-api nova-api/dbconfig-install boolean false
neutron-common neutron/configure_db boolean false
neutron-common neutron-common/dbconfig-install boolean false
neutron-common neutron/configure_ksat boolean false
neutron-common neutron/configure_rabbit boolean false
neutron-api neutron/register-endpoint boolean false
neutron-api neutron-api/register-endpoint boolean false
SEL

# Never start services from maintainer scripts (there is no systemd here anyway).
if [ ! -x /usr/sbin/policy-rc.d ] || ! grep -q 'exit 101' /usr/sbin/policy-rc.d; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
fi

for i in 1 2 3 4 5; do
	if [ "$i" -gt 1 ] || [ -z "$(find /var/lib/apt/lists -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
		apt-get update -o DPkg::Lock::Timeout=600 || true
	fi
	# This image's apt deletes downloaded .debs between dpkg runs, so a try can fail
	# half way; dpkg --configure -a and another pass finish the job.
	dpkg --configure -a || true
	if apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PKGS[@]}"; then
		echo "openstack-install: done"
		exit 0
	fi
	echo "openstack-install: attempt $i failed, retrying" >&2
	sleep $((i * 5))
done
echo "openstack-install: apt-get install failed after 5 attempts" >&2
exit 1
