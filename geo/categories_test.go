package geo_test

import (
	"slices"
	"testing"

	"wangge/geo"
)

// TestLimits_Categories: without a catalogue the known categories are the
// built-in ones; with one, its active items, or every item with the
// inactive ones, by code.
func TestLimits_Categories(t *testing.T) {
	var none *geo.Limits
	if got := none.Categories(true); !slices.Equal(got, geo.Categories) {
		t.Errorf("nil limits: %v, want the built-in %v", got, geo.Categories)
	}
	var l geo.Limits
	if got := l.Categories(false); !slices.Equal(got, geo.Categories) {
		t.Errorf("nothing stored: %v, want the built-in %v", got, geo.Categories)
	}
	l.Store(geo.NewCatalogue([]geo.ServiceItem{
		{Code: "safety", LimitHours: 24, Active: true},
		{Code: "customs", LimitWorkdays: 5, Active: false},
		{Code: "noise", LimitWorkdays: 3, Active: true},
	}, nil))
	if got, want := l.Categories(false), []geo.Category{"noise", "safety"}; !slices.Equal(got, want) {
		t.Errorf("active: %v, want %v", got, want)
	}
	if got, want := l.Categories(true), []geo.Category{"customs", "noise", "safety"}; !slices.Equal(got, want) {
		t.Errorf("with the inactive: %v, want %v", got, want)
	}
}
