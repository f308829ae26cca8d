"""Create MLflow's database in the shared PostgreSQL if it is missing (a volume made
before the mlflow service existed has only the foresight database)."""
import os
import sys
import time

import psycopg

url = os.environ["MLFLOW_ADMIN_DATABASE_URL"]  # the server, any existing database
name = os.environ.get("MLFLOW_DATABASE", "mlflow")
for attempt in range(30):
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
                print(f"created database {name}")
        sys.exit(0)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not ready ({exc}); retrying", file=sys.stderr)
        time.sleep(2)
sys.exit(f"cannot create the database {name}")
