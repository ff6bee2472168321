// Package migrations holds the versioned SQL files of the database schema,
// embedded in the binary. geo/pgstore applies them in order, each in its own
// transaction, and records them in schema_migrations. A file is named
// NNNN_what.sql; once released it is never edited, only followed.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
