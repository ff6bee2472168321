package geo

import (
	"fmt"
	"slices"
	"strings"
)

// EventRequest is one step of the closed loop as a caller asks for it.
// Assignee names the person to reassign to (reassign only; absent: the
// fallback chain picks again). Category and the place (Lon, Lat in CRS,
// or Grid) are a correction's (correct only). Into is the incident a
// duplicate is merged into (merge only; absent: the one intake flagged).
type EventRequest struct {
	Action   string       `json:"action"`
	Note     string       `json:"note"`
	Assignee *ContactJSON `json:"assignee"`
	Category string       `json:"category,omitempty"`
	Lon      *float64     `json:"lon,omitempty"`
	Lat      *float64     `json:"lat,omitempty"`
	CRS      string       `json:"crs,omitempty"`
	Grid     string       `json:"grid,omitempty"`
	Into     string       `json:"into,omitempty"`
}

// ContactJSON is a person as a request names them.
type ContactJSON struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
}

// Event is a checked EventRequest.
type Event struct {
	Action Action
	Note   string
	// Assignee is the explicit reassignment target, nil otherwise.
	Assignee *Assignee
	// Correct is what a correction asks for, nil otherwise.
	Correct *CorrectionRequest
	// Into is the number of the incident to merge into ("": the flagged
	// one).
	Into string
}

// CorrectionRequest is a checked correction: a new category (empty:
// unchanged) and/or a new place (Lon and Lat in CRS, or Grid; neither:
// unchanged).
type CorrectionRequest struct {
	Category Category
	Lon, Lat *float64
	CRS      string
	Grid     string
}

// moves reports whether the correction gives a new place.
func (c *CorrectionRequest) moves() bool { return c.Lon != nil || c.Grid != "" }

// CheckEvent checks req whole: a user action, a note within limits (and
// given, as the reason, with the actions of ReasonRequired), an assignee
// only with reassign and then with a name and a valid phone, a category
// or place only with correct (which needs one of them), into only with
// merge. actor is who asks (it goes into the reassignment's reason).
func CheckEvent(req EventRequest, actor string) (Event, error) {
	ev := Event{Action: Action(req.Action), Note: req.Note}
	var probs []Problem
	bad := func(where, format string, args ...any) {
		probs = append(probs, Problem{Where: where, Reason: fmt.Sprintf(format, args...)})
	}
	if !slices.Contains(UserActions, ev.Action) {
		bad("action", "got %q, want one of %v", Clip(req.Action), UserActions)
	}
	if len(req.Note) > MaxNoteBytes {
		bad("note", "at most %d bytes", MaxNoteBytes)
	} else if slices.Contains(ReasonRequired, ev.Action) && strings.TrimSpace(req.Note) == "" {
		bad("note", "required with %s: the reason", Clip(req.Action))
	}
	if req.Assignee != nil {
		phone, err := NormalizePhone(req.Assignee.Phone)
		switch {
		case ev.Action != ActReassign:
			bad("assignee", "only with action reassign")
		case err != nil || strings.TrimSpace(req.Assignee.Name) == "":
			bad("assignee", `want {"name": …, "phone": a valid phone}`)
		default:
			ev.Assignee = &Assignee{Name: strings.TrimSpace(req.Assignee.Name), Phone: phone, Reason: "reassigned by " + actor}
		}
	}
	correcting := req.Category != "" || req.Lon != nil || req.Lat != nil || req.Grid != "" || req.CRS != ""
	switch {
	case ev.Action == ActCorrect:
		// The category is checked against the catalogue in force by
		// Dispatcher.Correct.
		c := &CorrectionRequest{Category: Category(strings.TrimSpace(req.Category)), Lon: req.Lon, Lat: req.Lat, CRS: req.CRS, Grid: req.Grid}
		probs = append(probs, checkPlace(req.Lon, req.Lat, req.CRS, req.Grid, false)...)
		if c.Category == "" && !c.moves() {
			bad("category", "correct needs a new category, a new location (lon, lat) or a grid code")
		}
		ev.Correct = c
	case correcting:
		where := "category"
		switch {
		case req.Category != "":
		case req.Lon != nil || req.Lat != nil:
			where = "lon"
		case req.Grid != "":
			where = "grid"
		default:
			where = "crs"
		}
		bad(where, "only with action correct")
	}
	if req.Into != "" {
		if ev.Action != ActMerge {
			bad("into", "only with action merge")
		} else {
			ev.Into = strings.TrimSpace(req.Into)
		}
	}
	if len(probs) > 0 {
		return Event{}, Invalid(probs...)
	}
	return ev, nil
}
