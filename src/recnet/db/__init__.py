"""The database: engines per dialect, the unit of work, admission, bulk writes, migrations.

- ``engine``: engines and their dialect set-up, URL normalisation, the session's tenant;
- ``database``: ``Database`` (sessions, admission slots, ``run``: slot + thread + transaction);
- ``bulk``: many rows at the driver's full speed (binary COPY on PostgreSQL);
- ``migrate``: the Alembic scripts and ``upgrade``.

The names used across recnet are importable from here. The request's unit of work, as FastAPI
sees it, is in ``api.unit_of_work`` and ``api.deps``.
"""

from recnet.clock import utcnow  # services/statistics still takes utcnow from here
from recnet.db.bulk import bulk_insert
from recnet.db.database import Admission, Database
from recnet.db.engine import make_engine, normalise_url, set_tenant
from recnet.db.migrate import alembic_config, migrations_dir, upgrade

__all__ = [
    "Admission",
    "Database",
    "alembic_config",
    "bulk_insert",
    "make_engine",
    "migrations_dir",
    "normalise_url",
    "set_tenant",
    "upgrade",
    "utcnow",
]
