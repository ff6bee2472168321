-- The embedded local cluster (cluster.go), run on its postgres database.

-- name: database_exists
SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1);
