package geo

import "time"

// Generation is one version of the town's whole grid layer. Every change of
// boundaries (an import, an applied plan) creates a new generation; the grids
// of generation n are those whose versions are valid in n.
type Generation struct {
	ID        int64
	CreatedAt time.Time
	// CreatedBy names the actor (a token name, or "cli" for the command line).
	CreatedBy string
	Note      string
}
