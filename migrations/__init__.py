"""The Alembic environment and version scripts, shipped inside the package.

`ledger.core.migrations` finds this directory through the package (not the working
directory), so an installed wheel can create and migrate its database.
"""
