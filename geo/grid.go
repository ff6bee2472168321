package geo

import (
	"time"

	"github.com/paulmach/orb"
)

// Grid is one version of a grid (网格): its boundary and counts as they hold
// in a range of generations.
type Grid struct {
	// Code is 15 digits: the village's 12-digit code plus a 3-digit sequence.
	// It is stable across redraws unless a planner retires the grid.
	Code        string
	Name        string
	VillageCode string
	Households  int
	Population  int
	Geometry    orb.MultiPolygon
	// Generation is the generation that introduced this version.
	Generation int64
	ValidFrom  time.Time
	// ValidTo is zero while the version is current.
	ValidTo time.Time
}

// ValidateGridCode reports whether code is a well-formed grid code of the
// given village: 15 ASCII digits starting with the village code.
func ValidateGridCode(code, villageCode string) error {
	if !isDigits(code, 15) {
		return Errorf(EINVALID, "grid code %q: want 15 digits (village code + 3-digit sequence)", code)
	}
	if villageCode != "" && code[:12] != villageCode {
		return Errorf(EINVALID, "grid code %q: must start with its village code %s", code, villageCode)
	}
	return nil
}

// ValidateVillageCode reports whether code is a 12-digit village code.
func ValidateVillageCode(code string) error {
	if !isDigits(code, 12) {
		return Errorf(EINVALID, "village code %q: want 12 digits", code)
	}
	return nil
}

// ValidateTownCode reports whether code is a 9-digit township code.
func ValidateTownCode(code string) error {
	if !isDigits(code, 9) {
		return Errorf(EINVALID, "town code %q: want 9 digits", code)
	}
	return nil
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
