#!/usr/bin/env bash
# Until the first release, the schema lives in one initial migration regenerated from core/models.py.
# Run this after changing a model; tests/test_db.py fails when models and migrations disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
cat > "$tmp/alembic.ini" <<INI
[alembic]
script_location = $PWD/core/migrations
sqlalchemy.url = sqlite:///$tmp/gen.db
INI
rm -f core/migrations/versions/0001_initial_schema.py
.venv/bin/alembic -c "$tmp/alembic.ini" revision --autogenerate -m "initial schema" --rev-id 0001 >/dev/null
.venv/bin/ruff format -q core/migrations/versions/
rm -rf "$tmp"
echo "regenerated core/migrations/versions/0001_initial_schema.py"
