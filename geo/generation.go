package geo

import "time"

// Generation is one version of the deployment's grid layer. Every change of
// boundaries (a town's import, an applied plan) creates a new generation,
// which changes one town; the grids of generation n are those whose
// versions are valid in n.
type Generation struct {
	ID        int64
	CreatedAt time.Time
	// CreatedBy names the actor (a token name, or "cli" for the command line).
	CreatedBy string
	Note      string
	// TownCode is the town the generation changed; empty for one written
	// before a deployment held several towns (it changed the only one).
	TownCode string
}

// GenerationSummary is a generation with its size and what it changed.
type GenerationSummary struct {
	Generation
	Grids      int // grids in force in this generation
	Introduced int // grid versions it introduced
	Retired    int // grid versions it retired
}

// GridVersion is one version of a grid in its history.
type GridVersion struct {
	Grid
	// RetiredGeneration is the first generation without this version; 0
	// while current.
	RetiredGeneration int64
}
