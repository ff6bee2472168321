package geo

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// A plan (规划方案) is a draft redraw of the grid layer: opened on the
// current generation (its base), edited, validated, previewed for impact,
// and applied as one new generation. This file holds the plan's types and
// the rules that need no database; geo/pgstore keeps plans and runs the
// geometry in PostGIS.

// PlanStatus is where a plan is in its life.
type PlanStatus string

// Plan statuses. A draft is applied at most once; a draft whose base is no
// longer current stays a draft (nothing is lost) and is rebased by opening
// a new plan from it.
const (
	PlanDraft   PlanStatus = "draft"
	PlanApplied PlanStatus = "applied"
)

// GridChange is what a plan does to one grid, compared with its base
// generation.
type GridChange string

// Changes, by grid code. A grid whose code changes (a move to another
// village) is the old code retired and the new one added.
const (
	GridUnchanged GridChange = "unchanged"
	GridModified  GridChange = "modified" // same code, other geometry, name, households or population
	GridAdded     GridChange = "added"    // a code the base does not have
	GridRetired   GridChange = "retired"  // a code of the base the draft no longer has
)

// Plan is a plan's header: who opened it on which base, and what came of it.
type Plan struct {
	ID   int64
	Note string
	// Town is the code of the town the plan redraws; empty for a plan of
	// every town (the deployment as a whole). A town's plan copies, checks
	// and writes that town's grids and villages only, and goes stale only
	// when that town changes.
	Town string
	// BaseGeneration is the generation the draft was opened on: the
	// town's current generation (the newest that changed it). Apply
	// refuses the plan once another generation has changed its town;
	// generations of other towns do not make it stale.
	BaseGeneration int64
	Status         PlanStatus
	// RebasedFrom is the plan whose changes this one replayed onto a newer
	// base (0: none).
	RebasedFrom int64
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Revision counts the edits: every edit, repair and import adds one.
	// With BaseGeneration it makes the plan's Tag.
	Revision int
	// AppliedBy, AppliedAt and AppliedGeneration are set once applied.
	AppliedBy         string
	AppliedAt         time.Time
	AppliedGeneration int64
	Summary           PlanSummary
}

// InTown reports whether the village or grid code is of the town p
// redraws: any code for a plan of every town.
func (p *Plan) InTown(code string) bool {
	return p.Town == "" || TownCodeOf(code) == p.Town
}

// CheckInTown refuses, as EINVALID located at where, a village or grid
// code of another town than the one p redraws: a town's plan never
// touches another town's grids or villages.
func (p *Plan) CheckInTown(where, code string) error {
	if why := p.OutsideTown(code); why != "" {
		return Invalidf(where, "%s", why)
	}
	return nil
}

// OutsideTown says why the village or grid code is not p's to change
// (another town's), or returns "" when it is.
func (p *Plan) OutsideTown(code string) string {
	if p.InTown(code) {
		return ""
	}
	return fmt.Sprintf("%s is in town %s, but plan %d redraws town %s: open a plan of town %s to change it",
		code, TownCodeOf(code), p.ID, p.Town, TownCodeOf(code))
}

// PlanTag names a draft as someone reviewed it: its base generation and
// its revision. It is the plan's ETag ("3.7": base 3, revision 7), which
// changes with every edit, and apply's If-Match must name the tag the
// plan has when it is applied, so that an edit made after the review is
// never applied unseen.
type PlanTag struct {
	Generation int64
	Revision   int
}

// Tag returns the plan's tag.
func (p *Plan) Tag() PlanTag { return PlanTag{Generation: p.BaseGeneration, Revision: p.Revision} }

// String formats t as an ETag's opaque part: "3.7".
func (t PlanTag) String() string { return fmt.Sprintf("%d.%d", t.Generation, t.Revision) }

// ParsePlanTag reads "<generation>.<revision>" as String writes it; ok is
// false for anything else.
func ParsePlanTag(s string) (t PlanTag, ok bool) {
	gen, rev, found := strings.Cut(s, ".")
	if !found {
		return t, false
	}
	g, err1 := strconv.ParseInt(gen, 10, 64)
	r, err2 := strconv.Atoi(rev)
	if err1 != nil || err2 != nil || g <= 0 || r < 0 {
		return t, false
	}
	return PlanTag{Generation: g, Revision: r}, true
}

// GeometryToleranceDeg is how far apart, in degrees (about 0.1 mm), two
// geometries of a grid may be and still be the same geometry: a grid of a
// draft whose geometry has as many polygons and vertices as its base's
// and lies within this Hausdorff distance of it keeps the base's geometry,
// bit for bit, and so stays unchanged. It absorbs what a round trip
// through a file does (GCJ-02 and back differs by about 4e-15°, a ring
// may come back in the other orientation), and nothing a person draws.
const GeometryToleranceDeg = 1e-9

// LayerMode says which grids of a draft a layer file replaces.
type LayerMode string

// Layer modes.
const (
	// LayerReplaceAll replaces every grid of the draft: a grid the layer
	// does not have is retired.
	LayerReplaceAll LayerMode = "all"
	// LayerReplaceVillages replaces the grids of the villages the layer
	// has grids in, and leaves the other villages' grids alone: one
	// village's KML redraws that village.
	LayerReplaceVillages LayerMode = "villages"
)

// ParseLayerMode reads a layer mode; empty is LayerReplaceAll.
func ParseLayerMode(s string) (LayerMode, error) {
	switch m := LayerMode(strings.TrimSpace(s)); m {
	case "":
		return LayerReplaceAll, nil
	case LayerReplaceAll, LayerReplaceVillages:
		return m, nil
	}
	return "", Errorf(EINVALID, "mode %q: want all (replace every grid) or villages (replace the grids of the layer's villages)", Clip(s))
}

// PlanSummary counts the draft's grids by change, and the leaders it
// appoints.
type PlanSummary struct {
	Unchanged, Modified, Added, Retired int
	Leaders                             int
}

// Count adds one grid of change c.
func (s *PlanSummary) Count(c GridChange) {
	switch c {
	case GridUnchanged:
		s.Unchanged++
	case GridModified:
		s.Modified++
	case GridAdded:
		s.Added++
	case GridRetired:
		s.Retired++
	}
}

// PlanGrid is one grid of a draft with its change. A retired grid carries
// its geometry in the base, so that a map can draw what goes away.
type PlanGrid struct {
	Code        string
	Name        string
	VillageCode string
	Households  int
	Population  int
	Geometry    orb.MultiPolygon
	Change      GridChange
	// DerivedFrom names the grids whose area a split, merge or move gave
	// this one.
	DerivedFrom []string
	// Leader is the grid's leader once the plan is applied: the one the
	// plan appoints, else the one in office. Nil when there is none.
	Leader *Contact
	// LeaderAppointed is true when the plan appoints Leader.
	LeaderAppointed bool
}

// PlanView is a plan with its grids, sorted by code.
type PlanView struct {
	Plan
	Grids []PlanGrid
}

// PlanGridEdit changes a grid of a draft; nil fields stay as they are.
type PlanGridEdit struct {
	Geometry   orb.MultiPolygon
	Name       *string
	Households *int
	Population *int
}

// NewPlanGrid is a grid added to a draft, or one grid of a layer that
// replaces the draft's.
type NewPlanGrid struct {
	Code        string
	Name        string
	VillageCode string
	Households  int
	Population  int
	Geometry    orb.MultiPolygon
	// CountsGiven is false for a grid of a layer file without households
	// and population: it keeps the draft's counts for its code.
	CountsGiven bool
	// Where names the grid in problems ("layer.kml: feature 3"); empty
	// for a single added grid.
	Where string
}

// Limits of what a plan holds.
const (
	// MaxGridName bounds a grid's name, in characters.
	MaxGridName = 100
	// MaxLeaderName bounds a leader's name, in characters.
	MaxLeaderName = 50
	// MaxCount bounds households and population of one grid.
	MaxCount = 1_000_000
	// MaxPlanNote bounds a plan's note, in characters.
	MaxPlanNote = 500
)

// Validate checks what can be checked of e without the draft: a name
// within bounds, counts not negative. A wrong property is located by its
// name; an edit that changes nothing is a problem of "body".
func (e PlanGridEdit) Validate() error {
	var ps problemList
	if e.Geometry == nil && e.Name == nil && e.Households == nil && e.Population == nil {
		ps.add("body", "nothing to change: give a geometry and/or properties (name, households, population)")
	}
	if e.Name != nil {
		ps.text("name", *e.Name, MaxGridName)
	}
	ps.count("households", e.Households)
	ps.count("population", e.Population)
	return ps.err()
}

// Validate checks g's code (15 digits, of its village), name and counts.
// VillageCode defaults to the first 12 digits of the code.
func (g *NewPlanGrid) Validate() error { return g.validate(false) }

// ValidateInLayer checks g as one grid of a layer that replaces a draft's:
// as Validate, except that the name may be empty (the draft's name, or
// one made of the code, is kept), and so may the counts (CountsGiven).
func (g *NewPlanGrid) ValidateInLayer() error { return g.validate(true) }

func (g *NewPlanGrid) validate(layer bool) error {
	if g.VillageCode == "" && len(g.Code) >= 12 {
		g.VillageCode = g.Code[:12]
	}
	if err := ValidateGridCode(g.Code, g.VillageCode); err != nil {
		return err
	}
	var ps problemList
	if !layer || g.Name != "" {
		ps.text("name", g.Name, MaxGridName)
	}
	if !layer || g.CountsGiven {
		ps.count("households", &g.Households)
		ps.count("population", &g.Population)
	}
	if len(g.Geometry) == 0 {
		ps.add("geometry", "required for grid %s", g.Code)
	}
	return ps.err()
}

// text records at where a name that is blank or longer than max
// characters.
func (ps *problemList) text(where, s string, max int) {
	if strings.TrimSpace(s) == "" {
		ps.add(where, "must not be empty")
	} else if n := utf8.RuneCountInString(s); n > max {
		ps.add(where, "%d characters, want at most %d", n, max)
	}
}

// count records at where a count of households or people out of range.
func (ps *problemList) count(where string, v *int) {
	if v != nil && (*v < 0 || *v > MaxCount) {
		ps.add(where, "got %d, want 0..%d", *v, MaxCount)
	}
}

// gridCode records at where a code that is not a grid code (of village,
// when not empty), and reports whether it is one.
func (ps *problemList) gridCode(where, code, village string) bool {
	if err := ValidateGridCode(code, village); err != nil {
		ps.add(where, "%s", ErrorMessage(err))
		return false
	}
	return true
}

// SplitRequest cuts a grid of a draft in two along a line. The larger part
// keeps the grid's code, name and leader; the smaller becomes NewCode (a
// new code of the same village) named NewName (default: the grid's name
// with "（拆分）"). Households and population are shared in proportion to
// the parts' areas on the spheroid, rounded so that they add up: nobody
// counted the people on each side, and area is the least arbitrary proxy
// (impact says so).
type SplitRequest struct {
	Code string `json:"code"`
	// Line is in WGS-84; requests give it as a GeoJSON geometry, which
	// the HTTP layer decodes.
	Line    orb.LineString `json:"-"`
	NewCode string         `json:"new_code"`
	NewName string         `json:"new_name"`
}

// Validate checks the codes, that the line has two distinct positions
// and the new name, which it trims.
func (r *SplitRequest) Validate() error {
	var ps problemList
	r.NewName = strings.TrimSpace(r.NewName)
	if ps.gridCode("code", r.Code, "") {
		if err := ValidateGridCode(r.NewCode, r.Code[:12]); err != nil {
			ps.add("new_code", "%s (the new grid stays in the village of %s)", ErrorMessage(err), r.Code)
		} else if r.NewCode == r.Code {
			ps.add("new_code", "must differ from code %s", r.Code)
		}
	} else {
		ps.gridCode("new_code", r.NewCode, "")
	}
	if len(r.Line) < 2 {
		ps.add("line", "want a LineString of at least 2 positions")
	} else if !slices.ContainsFunc(r.Line[1:], func(p orb.Point) bool { return p != r.Line[0] }) {
		ps.add("line", "all positions are the same point; want a line across the grid")
	}
	if r.NewName != "" {
		ps.text("new_name", r.NewName, MaxGridName)
	}
	return ps.err()
}

// SplitCounts shares a grid's count (households or population) between
// the part kept and the new part in proportion to their areas, rounding
// the new part's share to the nearest whole number so that the two add up
// to total.
func SplitCounts(total int, keptM2, newM2 float64) (kept, added int) {
	if keptM2+newM2 <= 0 || math.IsNaN(keptM2+newM2) {
		return total, 0
	}
	added = int(math.Round(float64(total) * newM2 / (keptM2 + newM2)))
	return total - added, added
}

// MergeRequest merges grids of one village into one of them, Into, which
// keeps its code, name and leader; the others are retired. Households and
// population add up.
type MergeRequest struct {
	Codes []string `json:"codes"`
	Into  string   `json:"into"`
}

// MaxMergeCodes bounds the grids one merge takes.
const MaxMergeCodes = 100

// Validate checks that there are 2..MaxMergeCodes distinct, well-formed
// codes of one village and that Into is one of them. A wrong code is
// located as "codes[i]".
func (r MergeRequest) Validate() error {
	var ps problemList
	switch n := len(r.Codes); {
	case n > MaxMergeCodes:
		ps.add("codes", "got %d grids, want at most %d", n, MaxMergeCodes)
		return ps.err()
	case n < 2:
		ps.add("codes", "got %d, want at least 2 grids to merge", n)
	}
	seen := map[string]bool{}
	first := ""
	for i, c := range r.Codes {
		where := fmt.Sprintf("codes[%d]", i)
		switch {
		case !ps.gridCode(where, c, ""):
		case seen[c]:
			ps.add(where, "%s is listed twice", c)
		case first == "":
			first = c
		case c[:12] != first[:12]:
			ps.add(where, "%s and %s are in different villages; move one first, then merge", first, c)
		}
		seen[c] = true
	}
	if !seen[r.Into] {
		ps.add("into", "%q must be one of codes (the grid that keeps its code)", Clip(r.Into))
	}
	return ps.err()
}

// MoveRequest moves a grid to another village. Its code changes to
// NewCode, a new code of that village (codes start with the village's);
// the old code is retired. The grid's area leaves the old village's outline
// and joins the new one's. The leader in office (or the one the plan
// appointed) goes with it.
type MoveRequest struct {
	Code    string `json:"code"`
	Village string `json:"village"`
	NewCode string `json:"new_code"`
}

// Validate checks the codes: the grid's, another village's, and a new
// code of that village.
func (r MoveRequest) Validate() error {
	var ps problemList
	codeOK := ps.gridCode("code", r.Code, "")
	village := ""
	if err := ValidateVillageCode(r.Village); err != nil {
		ps.add("village", "%s", ErrorMessage(err))
	} else if village = r.Village; codeOK && r.Village == r.Code[:12] {
		ps.add("village", "grid %s is already in village %s", r.Code, r.Village)
	}
	ps.gridCode("new_code", r.NewCode, village)
	return ps.err()
}

// CheckLeader validates and normalises a leader appointed by a plan: a
// name of 1..MaxLeaderName characters and a mainland phone number.
// The error locates a wrong "name" and "phone".
func CheckLeader(c Contact) (Contact, error) {
	var ps problemList
	c.Name = strings.TrimSpace(c.Name)
	ps.text("name", c.Name, MaxLeaderName)
	c.Phone, _ = ps.phone("phone", c.Phone)
	return c, ps.err()
}

// FindingKind names a kind of problem that validation finds.
type FindingKind string

// Finding kinds. Invalid geometries, overlaps, gaps and spills outside the
// town are blocking: apply refuses a plan that has them, because they make
// routing wrong (an overlap routes a point two ways, a gap routes it to
// nobody). The others are warnings a planner should read.
const (
	FindInvalid         FindingKind = "invalid_geometry"
	FindOverlap         FindingKind = "overlap"
	FindGap             FindingKind = "gap"
	FindOutsideTown     FindingKind = "outside_town"
	FindSliver          FindingKind = "sliver"
	FindVillageCrossing FindingKind = "village_crossing"
	FindNoLeader        FindingKind = "no_leader"
	FindHouseholds      FindingKind = "households_out_of_range"
	FindVillageNotTiled FindingKind = "village_not_tiled"
	FindMissingOrgKind  FindingKind = "missing_organization"
)

// Blocking reports whether a finding of kind k stops a plan from being
// applied.
func (k FindingKind) Blocking() bool {
	switch k {
	case FindInvalid, FindOverlap, FindGap, FindOutsideTown:
		return true
	}
	return false
}

// Severity is "blocking" or "warning".
func (k FindingKind) Severity() string {
	if k.Blocking() {
		return "blocking"
	}
	return "warning"
}

// Finding is one problem of a grid layer, located.
type Finding struct {
	Kind FindingKind
	// Layer is "grid", "village" or "town": what the codes name.
	Layer string
	// Codes are the grids (or villages) concerned: two for an overlap,
	// none for a gap of the town.
	Codes []string
	// Villages are the villages a gap lies in.
	Villages []string
	// AreaM2 is the area concerned (overlap, gap, sliver, crossing), in m²
	// on the spheroid; WidthM the mean width of a sliver (2·area/perimeter).
	AreaM2 float64
	WidthM float64
	// Value is the count a range check found (households).
	Value int
	// Reason says what is wrong in words.
	Reason string
	// Location is a point on the problem: PostGIS's location of an invalid
	// geometry, or a point inside the area concerned.
	Location orb.Point
	// Area is the part concerned (overlap, gap, sliver, the part outside a
	// village), nil for point-like problems.
	Area orb.MultiPolygon
}

// ValidationOptions are the thresholds of the warnings.
type ValidationOptions struct {
	// SliverM2 and SliverWidthM: a polygon part of a grid smaller than
	// SliverM2 m², or whose mean width (2·area/perimeter) is under
	// SliverWidthM m, is a sliver: left over by a redraw, not a
	// neighbourhood anyone walks.
	SliverM2     float64
	SliverWidthM float64
	// HouseholdsMin and HouseholdsMax: a grid outside the range is too
	// small to justify a leader or too big for one.
	HouseholdsMin, HouseholdsMax int
}

// DefaultValidationOptions: slivers under 50 m² or 2 m wide, households
// 30..300.
func DefaultValidationOptions() ValidationOptions {
	return ValidationOptions{SliverM2: 50, SliverWidthM: 2, HouseholdsMin: 30, HouseholdsMax: 300}
}

// Validate checks the options' ranges. A wrong option is located by the
// name of its query parameter.
func (o ValidationOptions) Validate() error {
	var ps problemList
	if o.SliverM2 < 0 || o.SliverM2 > 1e6 || math.IsNaN(o.SliverM2) {
		ps.add("sliver_m2", "got %v, want 0..1000000", o.SliverM2)
	}
	if o.SliverWidthM < 0 || o.SliverWidthM > 1000 || math.IsNaN(o.SliverWidthM) {
		ps.add("sliver_width_m", "got %v, want 0..1000", o.SliverWidthM)
	}
	if o.HouseholdsMin < 0 {
		ps.add("households_min", "got %d, want at least 0", o.HouseholdsMin)
	}
	if o.HouseholdsMax < o.HouseholdsMin {
		ps.add("households_max", "got %d, want at least households_min (%d)", o.HouseholdsMax, o.HouseholdsMin)
	}
	return ps.err()
}

// ValidationReport is the result of validating a grid layer: a draft, or
// the current generation (the coverage report).
type ValidationReport struct {
	// PlanID is the plan validated (0 for the coverage report);
	// Generation the base generation (or the current one).
	PlanID     int64
	Generation int64
	Options    ValidationOptions
	Grids      int
	Findings   []Finding
	// MissingOrganizations (coverage report only) lists, for each
	// organization kind, the grids no organization of that kind serves.
	MissingOrganizations []MissingOrganizations
}

// MissingOrganizations lists the grids that no organization of Kind
// serves; InTown counts the organizations of that kind in the town.
type MissingOrganizations struct {
	Kind   OrgKind
	InTown int
	Codes  []string
}

// Count returns the number of blocking findings and of warnings.
func (r *ValidationReport) Count() (blocking, warnings int) {
	for _, f := range r.Findings {
		if f.Kind.Blocking() {
			blocking++
		} else {
			warnings++
		}
	}
	return blocking, warnings
}

// Problems returns the blocking findings as located problems, for an error
// response.
func (r *ValidationReport) Problems() []Problem {
	var out []Problem
	for _, f := range r.Findings {
		if !f.Kind.Blocking() {
			continue
		}
		where := string(f.Kind)
		if len(f.Codes) > 0 {
			where += ": " + strings.Join(f.Codes, " and ")
		}
		p := Problem{Where: where, Reason: f.Reason}
		if f.Location != (orb.Point{}) {
			p.Location = []float64{f.Location[0], f.Location[1]}
		}
		out = append(out, p)
	}
	return out
}

// RepairKind names a repair a planner may accept.
type RepairKind string

// Repairs. Each changes the draft and is audited.
const (
	// RepairMakeValid replaces invalid geometries by their valid polygonal
	// part (ST_MakeValid, structure method).
	RepairMakeValid RepairKind = "make_valid"
	// RepairSnap snaps a grid's vertices to its neighbours' vertices and
	// edges within the tolerance (ST_Snap to their union), closing hairline
	// gaps and overlaps left by hand digitising.
	RepairSnap RepairKind = "snap"
	// RepairFillGap gives each gap to the neighbouring grid with which it
	// shares the longest border.
	RepairFillGap RepairKind = "fill_gap"
	// RepairDissolveSliver gives each sliver part of a grid to the
	// neighbouring grid with which it shares the longest border, by the
	// same rule as fill_gap.
	RepairDissolveSliver RepairKind = "dissolve_sliver"
	// RepairClipToVillage cuts the part of a grid outside its village's
	// outline off and gives it to the grid of the village it lies in with
	// which it shares the longest border (a part outside the town is
	// dropped).
	RepairClipToVillage RepairKind = "clip_to_village"
)

// RepairKinds lists the repairs.
var RepairKinds = []RepairKind{RepairMakeValid, RepairSnap, RepairFillGap, RepairDissolveSliver, RepairClipToVillage}

// Snap tolerance bounds, in metres.
const (
	DefaultSnapToleranceM = 1.0
	MaxSnapToleranceM     = 10.0
)

// Repair is a repair request. Codes select the grids (make_valid, snap,
// dissolve_sliver, clip_to_village; empty: every grid the repair applies
// to, except for snap, which needs them named); At selects
// the gap or sliver that covers a point (fill_gap, dissolve_sliver; nil:
// every one found). ToleranceM is the snap distance (default 1 m, at most
// 10 m: farther is a redraw, not a repair).
type Repair struct {
	Kind       RepairKind
	Codes      []string
	At         *orb.Point
	ToleranceM float64
}

// MaxRepairCodes bounds the grids one repair names.
const MaxRepairCodes = 1000

// Validate checks the kind, the codes (named for snap) and the tolerance,
// and sets the default tolerance. A wrong code is located as "codes[i]".
func (r *Repair) Validate() error {
	var ps problemList
	r.check(&ps)
	return ps.err()
}

func (r *Repair) check(ps *problemList) {
	if !slices.Contains(RepairKinds, r.Kind) {
		ps.add("kind", "got %q, want one of %v", Clip(string(r.Kind)), RepairKinds)
	}
	switch {
	case len(r.Codes) > MaxRepairCodes:
		ps.add("codes", "got %d grids, want at most %d", len(r.Codes), MaxRepairCodes)
	case len(r.Codes) == 0 && r.Kind == RepairSnap:
		ps.add("codes", "name the grids to snap (those of an overlap or beside a gap in the validation report)")
	default:
		for i, c := range r.Codes {
			ps.gridCode(fmt.Sprintf("codes[%d]", i), c, "")
		}
	}
	if r.At != nil {
		if p := CheckLonLat(r.At[0], r.At[1]); p != nil {
			ps.add("at", "%s", p)
		}
	}
	if r.ToleranceM == 0 {
		r.ToleranceM = DefaultSnapToleranceM
	}
	if r.ToleranceM < 0 || r.ToleranceM > MaxSnapToleranceM || math.IsNaN(r.ToleranceM) {
		ps.add("tolerance_m", "got %v, want more than 0 and at most %v", r.ToleranceM, MaxSnapToleranceM)
	}
}

// RepairResult says what a repair changed: the grids whose geometry it
// rewrote, and one line per change.
type RepairResult struct {
	Kind    RepairKind
	Changed []string
	Notes   []string
}

// Impact is what applying a plan would change for the people on the
// ground.
type Impact struct {
	PlanID         int64
	BaseGeneration int64
	// Grids are the changed grids, by code.
	Grids []GridImpact
	// Moves are the areas that change grid: From (or "" for area no grid of
	// the base covered) → To (or "" for area no grid of the draft covers).
	Moves []AreaMove
	// Attachments are the organization attachments apply ends or starts.
	Attachments []AttachmentChange
	// Incidents are the open incidents whose location falls in another
	// grid in the draft than in the base.
	Incidents []IncidentMove
}

// GridImpact is one changed grid: its area, counts and leader before and
// after, and how much area (with the households and people estimated on
// it) it gains from and loses to other grids.
type GridImpact struct {
	Code         string
	Change       GridChange
	AreaBeforeM2 float64
	AreaAfterM2  float64
	// GainedM2 came from other grids (or from outside the base's
	// coverage); LostM2 went to other grids (or out of coverage).
	GainedM2, LostM2 float64
	// HouseholdsIn/Out and PopulationIn/Out are the people on the area
	// gained and lost: they change grid, and so grid leader.
	HouseholdsIn, HouseholdsOut       float64
	PopulationIn, PopulationOut       float64
	HouseholdsBefore, HouseholdsAfter int
	PopulationBefore, PopulationAfter int
	LeaderBefore, LeaderAfter         string
}

// AreaMove is area passing from one grid to another. Households and
// Population are those of From moved with it, in proportion to area (the
// registry has no finer data), so they are estimates.
type AreaMove struct {
	From, To   string
	AreaM2     float64
	Households float64
	Population float64
}

// AttachmentChange is one organization attachment that apply ends
// (Detach, the grid is retired) or starts (the grid took area from a grid
// the organization serves, in the organization's village).
type AttachmentChange struct {
	// AttachmentID is the attachment a Detach ends (0 for a start).
	AttachmentID   int64
	OrganizationID int64
	Kind           OrgKind
	Name           string
	GridCode       string
	Detach         bool
	// Via names the grids the attachment is carried over from.
	Via []string
}

// IncidentMove is an open incident whose location the draft routes to
// another grid than the base did. Routed is the grid it was routed to when
// received.
type IncidentMove struct {
	Number   string
	Status   Status
	Location orb.Point
	Routed   string
	Before   string
	After    string
}

// StaleBaseError is the error of applying a plan whose base generation is
// no longer current (another plan or an import was applied), or whose
// If-Match names another tag than the plan's: another base generation,
// or a revision the plan has since left (it was edited after the review).
// Tag is the plan's tag as it is.
type StaleBaseError struct {
	Plan, Base, Current int64
	// Town is the town the plan redraws ("" for every town): Current is
	// that town's current generation.
	Town    string
	IfMatch PlanTag
	Tag     PlanTag
}

func (e *StaleBaseError) Error() string {
	switch {
	case e.IfMatch.Generation != e.Base:
		return fmt.Sprintf("If-Match names generation %d but plan %d is based on generation %d", e.IfMatch.Generation, e.Plan, e.Base)
	case e.IfMatch.Revision != e.Tag.Revision:
		return fmt.Sprintf("If-Match names revision %d of plan %d, but it is at revision %d: it was edited since; review it again (GET) and apply with its ETag %q",
			e.IfMatch.Revision, e.Plan, e.Tag.Revision, e.Tag.String())
	}
	if e.Town != "" {
		return fmt.Sprintf("plan %d is based on generation %d, but generation %d has changed town %s since: open a new plan (rebase) and apply that", e.Plan, e.Base, e.Current, e.Town)
	}
	return fmt.Sprintf("plan %d is based on generation %d, but generation %d is current: open a new plan (rebase) and apply that", e.Plan, e.Base, e.Current)
}

// BlockingError is the error of applying a plan that has blocking
// problems; Report is the full validation report.
type BlockingError struct {
	Report *ValidationReport
}

func (e *BlockingError) Error() string {
	b, _ := e.Report.Count()
	return fmt.Sprintf("plan %d has %d blocking problems (invalid geometries, overlaps, gaps or spills outside the town): nothing was applied", e.Report.PlanID, b)
}

// PlanStore keeps plans. Every method returns EUNAVAILABLE when the
// database cannot be reached, and ENOTFOUND when the plan does not exist.
// Edits take the actor, recorded in the audit log in the same transaction,
// and now; they return ECONFLICT when the plan is no longer a draft,
// EINVALID located at the member when a grid or village code is of another
// town than the plan's (Plan.CheckInTown), and return the grids they
// touched as they are after the edit.
type PlanStore interface {
	// CreatePlan opens a draft of np.Town (see NewPlan for the default)
	// on its current generation, copying that town's grids and village
	// outlines. With np.Rebase > 0 it then replays that plan's changes
	// (grids it added, modified or retired, and leaders it appoints) onto
	// the copy: ECONFLICT if that plan was applied. EINVALID naming
	// "town" when the deployment has no such town, naming "rebase" when
	// the plan rebased redraws another town. ENOTFOUND when the database
	// holds no town.
	CreatePlan(ctx context.Context, np NewPlan, actor string, now time.Time) (*Plan, error)
	// Plans lists the plans of the status (every plan when empty) that
	// redraw town (every plan when empty; a plan of every town is listed
	// under each town), newest first.
	Plans(ctx context.Context, status PlanStatus, town string) ([]Plan, error)
	// PlanHeader returns a plan's header and summary, without its grids.
	PlanHeader(ctx context.Context, id int64) (*Plan, error)
	// Plan returns a plan with every grid of its draft and the retired
	// ones, leaders as they would be at time at.
	Plan(ctx context.Context, id int64, at time.Time) (*PlanView, error)
	// EditPlanGrid changes a grid of the draft. ENOTFOUND when the draft
	// has no such grid.
	EditPlanGrid(ctx context.Context, id int64, code string, e PlanGridEdit, actor string, now time.Time) (*PlanView, error)
	// AddPlanGrid adds a grid. EINVALID when the village is not in the town;
	// ECONFLICT when the code is in the draft or was ever used.
	AddPlanGrid(ctx context.Context, id int64, g NewPlanGrid, actor string, now time.Time) (*PlanView, error)
	// RetirePlanGrid removes a grid from the draft. ENOTFOUND when the
	// draft has no such grid.
	RetirePlanGrid(ctx context.Context, id int64, code string, actor string, now time.Time) (*PlanView, error)
	// SplitPlanGrid cuts a grid in two (see SplitRequest). EINVALID, saying
	// why, when the line does not cut it into exactly two parts or its
	// geometry is invalid; ECONFLICT when the new code is taken.
	SplitPlanGrid(ctx context.Context, id int64, r SplitRequest, actor string, now time.Time) (*PlanView, error)
	// MergePlanGrids merges grids (see MergeRequest). EINVALID when they
	// are not adjacent (sharing a border, not just a point) or a geometry
	// is invalid; ENOTFOUND when one is not in the draft.
	MergePlanGrids(ctx context.Context, id int64, r MergeRequest, actor string, now time.Time) (*PlanView, error)
	// MovePlanGrid moves a grid to another village (see MoveRequest).
	// EINVALID for an unknown village; ECONFLICT when the new code is
	// taken or the old village would have no area left.
	MovePlanGrid(ctx context.Context, id int64, r MoveRequest, actor string, now time.Time) (*PlanView, error)
	// SetPlanLeader appoints the leader of a grid of the draft, from the
	// moment the plan is applied. ENOTFOUND when the draft has no such grid.
	SetPlanLeader(ctx context.Context, id int64, code string, leader Contact, actor string, now time.Time) (*PlanView, error)
	// ReplacePlanLayer replaces the draft's grids by grids, all or none:
	// every grid of the draft (LayerReplaceAll), or those of the villages
	// grids are in (LayerReplaceVillages). A grid keeps the households,
	// population and name of the draft's grid of the same code when the
	// layer has none, and its base's geometry when the layer's is the same
	// within GeometryToleranceDeg. EINVALID, listing every problem, for
	// duplicate codes, unknown villages or codes used before by other
	// grids.
	ReplacePlanLayer(ctx context.Context, id int64, grids []NewPlanGrid, mode LayerMode, actor string, now time.Time) (*Plan, error)
	// ValidatePlan checks the draft as a coverage: the report lists every
	// finding, located, leaders as they would be at time at.
	ValidatePlan(ctx context.Context, id int64, opts ValidationOptions, at time.Time) (*ValidationReport, error)
	// RepairPlan applies a repair to the draft. EINVALID when it finds
	// nothing to repair, or a gap or sliver has no neighbour.
	RepairPlan(ctx context.Context, id int64, r Repair, actor string, now time.Time) (*RepairResult, error)
	// PlanImpact computes what applying the plan would change, at time at.
	PlanImpact(ctx context.Context, id int64, at time.Time) (*Impact, error)
	// ApplyPlan writes the draft as a new generation of its town in one
	// transaction: *StaleBaseError when ifMatch is not the plan's tag
	// (base and revision) or the base is no longer its town's current
	// generation; a town's apply checks its draft under a lock of that
	// town and holds the generation lock (shared by every writer of
	// generations) only while it writes;
	// ECONFLICT when it was applied already or changes nothing (no grid
	// added, modified or retired, no leader appointed); *BlockingError
	// when blocking problems remain. It appoints the plan's leaders,
	// carries organizations over, marks the plan applied, audits and
	// announces the generation (NOTIFY).
	ApplyPlan(ctx context.Context, id int64, ifMatch PlanTag, actor string, now time.Time) (*Plan, error)
	// CoverageReport runs validation's checks on the current generation
	// of town ("": of every town, against the union of their outlines),
	// plus villages whose grids do not tile them and grids lacking each
	// organization kind, at time at. ENOTFOUND when there is no town.
	CoverageReport(ctx context.Context, opts ValidationOptions, town string, at time.Time) (*ValidationReport, error)
}
