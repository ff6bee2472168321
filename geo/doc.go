// Package geo is the grid domain of wangge: towns, liaison districts,
// villages, grids, people, organizations and the generations that version
// grid boundaries, plus the in-memory snapshot that answers "which grid is
// this point in".
//
// The package does no I/O: it imports neither net/http nor a database
// driver. Storage is described by the interfaces in store.go and implemented
// in geo/pgstore; HTTP lives in api.
//
// Coordinates are always longitude, latitude in that order (as in GeoJSON),
// in degrees on WGS-84 (EPSG:4326). See README.md in this folder for the
// coordinate systems and the boundary rule.
package geo
