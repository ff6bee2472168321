-- Migrations (db.go): the embedded files of migrations/ are applied in
-- order, each in its own transaction, and recorded in schema_migrations.

-- name: migrate_server
-- Whether PostGIS can be installed, and the server's version number (for
-- the message that says which package to install).
SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'),
       current_setting('server_version_num');

-- name: migrate_lock
-- Serialises the migrations of replicas starting together; $1 is
-- migrationLock.
SELECT pg_advisory_lock($1);

-- name: migrate_unlock
SELECT pg_advisory_unlock($1);

-- name: migrate_table
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());

-- name: migrate_done
SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1);

-- name: migrate_record
INSERT INTO schema_migrations (version, name) VALUES ($1, $2);
