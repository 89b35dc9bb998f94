#!/usr/bin/python3
"""Run Debian's neutron-server for scripts/openstack-up.sh.

nova-api asks Neutron for the security groups of every server it shows, so
the stack needs a Neutron API (ports and security groups only: no agents).

  openstack-neutron.py schema --config-file F   create the schema in SQLite
  openstack-neutron.py serve --config-file F    run neutron-server

Neutron's alembic migrations cannot run on SQLite (ALTER of constraints), so
the schema is made from the models, as Neutron's own unit tests do. And a
fresh neutron-server answers GET /v2.0/ports with a 500 (Port has no
attribute port_forwardings) until SQLAlchemy has configured its mappers, so
this configures them before handing over to neutron-server's main.
"""
import sys


def main():
    what, args = sys.argv[1], sys.argv[2:]
    if what == "schema":
        import configparser

        from neutron.db.migration.models import head
        from sqlalchemy import create_engine

        conf = configparser.ConfigParser(interpolation=None)
        conf.read(args[args.index("--config-file") + 1])
        engine = create_engine(conf["database"]["connection"])
        head.get_metadata().create_all(engine)
        return 0
    if what == "serve":
        import neutron.cmd.eventlet  # noqa: F401 - monkey-patches first, as neutron-server does
        from neutron.db.migration.models import head  # noqa: F401 - every model
        from sqlalchemy import orm
        from neutron.cmd.eventlet.server import main as server_main

        orm.configure_mappers()
        sys.argv = ["neutron-server"] + args
        return server_main()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
