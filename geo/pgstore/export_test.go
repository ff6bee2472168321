package pgstore

// Queries returns the embedded queries by name, for queries_test.go.
func Queries() map[string]string { return queries }
