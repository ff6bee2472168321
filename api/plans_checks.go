package api

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/featurejson"
)

// This file serves what a planner reads before applying: validation of a
// draft (JSON, or a GeoJSON layer of the problems), the repairs it offers,
// the impact, and the coverage report of the current generation, which
// runs the same checks.

// findingJSON is one finding as sent. Location is a point on the problem;
// in the GeoJSON layer the feature's geometry is the area concerned (or
// that point).
type findingJSON struct {
	Kind     geo.FindingKind `json:"kind"`
	Severity string          `json:"severity"`
	Layer    string          `json:"layer"`
	Codes    []string        `json:"codes"`
	Villages []string        `json:"villages,omitempty"`
	AreaM2   *float64        `json:"area_m2,omitempty"`
	WidthM   *float64        `json:"width_m,omitempty"`
	Value    *int            `json:"value,omitempty"`
	Reason   string          `json:"reason"`
	Location []float64       `json:"location,omitempty"`
}

type validationOptionsJSON struct {
	SliverM2      float64 `json:"sliver_m2"`
	SliverWidthM  float64 `json:"sliver_width_m"`
	HouseholdsMin int     `json:"households_min"`
	HouseholdsMax int     `json:"households_max"`
}

type missingOrgJSON struct {
	Kind   geo.OrgKind `json:"kind"`
	InTown int         `json:"organizations_in_town"`
	Count  int         `json:"grids_lacking"`
	Codes  []string    `json:"codes"`
}

// validationJSON is a validation report (or the coverage report) as sent.
type validationJSON struct {
	PlanID               int64                 `json:"plan_id,omitempty"`
	Generation           int64                 `json:"generation"`
	Grids                int                   `json:"grids"`
	Clean                bool                  `json:"clean"`
	Blocking             int                   `json:"blocking"`
	Warnings             int                   `json:"warnings"`
	Options              validationOptionsJSON `json:"options"`
	Findings             []findingJSON         `json:"findings"`
	MissingOrganizations []missingOrgJSON      `json:"missing_organizations,omitempty"`
}

// round2 rounds to centimetres (or cm²): the checks' tolerances are 0.01
// m² and 1 m², so more digits are noise.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

func findingOut(f *geo.Finding, crs chinacrs.CRS) findingJSON {
	out := findingJSON{Kind: f.Kind, Severity: f.Kind.Severity(), Layer: f.Layer, Codes: f.Codes, Villages: f.Villages, Reason: f.Reason}
	if out.Codes == nil {
		out.Codes = []string{}
	}
	if f.AreaM2 > 0 {
		a := round2(f.AreaM2)
		out.AreaM2 = &a
	}
	if f.Kind == geo.FindSliver {
		w := round2(f.WidthM)
		out.WidthM = &w
	}
	if f.Kind == geo.FindHouseholds {
		out.Value = &f.Value
	}
	if f.Location != (orb.Point{}) {
		p := chinacrs.FromWGS84(crs, f.Location)
		out.Location = []float64{p[0], p[1]}
	}
	return out
}

func validationOut(r *geo.ValidationReport, crs chinacrs.CRS) validationJSON {
	b, w := r.Count()
	out := validationJSON{PlanID: r.PlanID, Generation: r.Generation, Grids: r.Grids, Clean: b == 0 && w == 0, Blocking: b, Warnings: w,
		Options: validationOptionsJSON{SliverM2: r.Options.SliverM2, SliverWidthM: r.Options.SliverWidthM,
			HouseholdsMin: r.Options.HouseholdsMin, HouseholdsMax: r.Options.HouseholdsMax},
		Findings: make([]findingJSON, len(r.Findings))}
	for i := range r.Findings {
		out.Findings[i] = findingOut(&r.Findings[i], crs)
	}
	for _, m := range r.MissingOrganizations {
		codes := m.Codes
		if codes == nil {
			codes = []string{}
		}
		out.MissingOrganizations = append(out.MissingOrganizations, missingOrgJSON{Kind: m.Kind, InTown: m.InTown, Count: len(codes), Codes: codes})
	}
	return out
}

// validationLayer renders the findings as a GeoJSON FeatureCollection:
// each feature's geometry is the area concerned, or the point where the
// problem is; its properties are the finding.
func validationLayer(r *geo.ValidationReport, crs chinacrs.CRS, prec int) ([]byte, error) {
	head := validationOut(r, crs)
	head.Findings = nil
	meta, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	b := []byte(`{"type":"FeatureCollection","report":`)
	b = append(b, meta...)
	b = append(b, `,"features":[`...)
	first := true
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Area == nil && f.Location == (orb.Point{}) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		props, err := json.Marshal(findingOut(f, crs))
		if err != nil {
			return nil, err
		}
		b = append(b, `{"type":"Feature","geometry":`...)
		if f.Area != nil {
			b = featurejson.AppendMultiPolygon(b, inCRS(f.Area, crs), prec)
		} else {
			b = featurejson.AppendPointGeometry(b, chinacrs.FromWGS84(crs, f.Location), prec)
		}
		b = append(b, `,"properties":`...)
		b = append(b, props...)
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// validationOptions reads the thresholds from the query (defaults:
// geo.DefaultValidationOptions).
func validationOptions(c *gin.Context) (geo.ValidationOptions, error) {
	o := geo.DefaultValidationOptions()
	floats := []struct {
		name string
		v    *float64
	}{{"sliver_m2", &o.SliverM2}, {"sliver_width_m", &o.SliverWidthM}}
	for _, f := range floats {
		if raw, ok := c.GetQuery(f.name); ok {
			v, err := strconv.ParseFloat(raw, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return o, badParam(f.name, "got %q, want a number", truncate(raw))
			}
			*f.v = v
		}
	}
	ints := []struct {
		name string
		v    *int
	}{{"households_min", &o.HouseholdsMin}, {"households_max", &o.HouseholdsMax}}
	for _, f := range ints {
		if raw, ok := c.GetQuery(f.name); ok {
			v, err := strconv.Atoi(raw)
			if err != nil {
				return o, badParam(f.name, "got %q, want a whole number", truncate(raw))
			}
			*f.v = v
		}
	}
	if err := o.Validate(); err != nil {
		return o, paramProblems(err)
	}
	return o, nil
}

// paramProblems is the 400 of an EINVALID error whose problems name query
// parameters; other errors pass through.
func paramProblems(err error) error {
	var ge *geo.Error
	if !errors.As(err, &ge) || ge.Code != geo.EINVALID || len(ge.Problems) == 0 {
		return err
	}
	p := badParam(ge.Problems[0].Where, "%s", ge.Problems[0].Reason)
	p.Errors = ge.Problems
	return p
}

// wantsGeoJSON reports whether the caller asks for the GeoJSON layer: by
// ?f=geojson, or by Accept naming application/geo+json (and not ?f=json).
func wantsGeoJSON(c *gin.Context) (bool, error) {
	switch f := c.Query("f"); f {
	case "geojson":
		return true, nil
	case "json":
		return false, nil
	case "":
		return strings.Contains(c.GetHeader("Accept"), GeoJSONContentType), nil
	default:
		return false, badParam("f", "got %q, want json or geojson", truncate(f))
	}
}

// sendReport answers with a validation report as JSON or as a GeoJSON
// layer of the problems.
func (s *Server) sendReport(c *gin.Context, r *geo.ValidationReport) error {
	crs, err := queryCRS(c)
	if err != nil {
		return err
	}
	layer, err := wantsGeoJSON(c)
	if err != nil {
		return err
	}
	c.Header("Vary", "Accept")
	if !layer {
		c.JSON(http.StatusOK, validationOut(r, crs))
		return nil
	}
	prec, err := queryPrecision(c)
	if err != nil {
		return err
	}
	body, err := validationLayer(r, crs, prec)
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, GeoJSONContentType, body)
	return nil
}

// validatePlan answers GET /v1/plans/{id}/validation.
func (s *Server) validatePlan(c *gin.Context) error {
	store := s.cfg.Plans
	id := pathInt(c, "id")
	opts, err := validationOptions(c)
	if err != nil {
		return err
	}
	r, err := store.ValidatePlan(c.Request.Context(), id, opts, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	return s.sendReport(c, r)
}

// coverageReport answers GET /v1/coverage/report[?town=]: validation's
// checks on the current generation (of one town, or of every town against
// their union), villages whose grids do not tile them, and the grids each
// organization kind does not serve. A town's token gets its town's.
func (s *Server) coverageReport(c *gin.Context) error {
	store := s.cfg.Plans
	opts, err := validationOptions(c)
	if err != nil {
		return err
	}
	town, err := s.queryTown(c)
	if err != nil {
		return err
	}
	r, err := store.CoverageReport(c.Request.Context(), opts, town, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	return s.sendReport(c, r)
}

// repairPlan answers POST /v1/plans/{id}/repairs: one repair the
// validation offers, applied to the draft and audited.
func (s *Server) repairPlan(c *gin.Context, req *geo.RepairRequest) error {
	crs, err := queryCRS(c)
	if err != nil {
		return err
	}
	r, err := req.Check(crs)
	if err != nil {
		return err
	}
	res, err := s.cfg.Plans.RepairPlan(c.Request.Context(), pathInt(c, "id"), r, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	changed := res.Changed
	if changed == nil {
		changed = []string{}
	}
	c.JSON(http.StatusOK, gin.H{"kind": res.Kind, "changed": changed, "notes": res.Notes})
	return nil
}

type impactGridJSON struct {
	Code             string         `json:"code"`
	Change           geo.GridChange `json:"change"`
	AreaBeforeM2     float64        `json:"area_before_m2"`
	AreaAfterM2      float64        `json:"area_after_m2"`
	GainedM2         float64        `json:"gained_m2"`
	LostM2           float64        `json:"lost_m2"`
	HouseholdsBefore int            `json:"households_before"`
	HouseholdsAfter  int            `json:"households_after"`
	PopulationBefore int            `json:"population_before"`
	PopulationAfter  int            `json:"population_after"`
	HouseholdsIn     float64        `json:"households_in"`
	HouseholdsOut    float64        `json:"households_out"`
	PopulationIn     float64        `json:"population_in"`
	PopulationOut    float64        `json:"population_out"`
	LeaderBefore     *string        `json:"leader_before"`
	LeaderAfter      *string        `json:"leader_after"`
}

type impactMoveJSON struct {
	From       *string `json:"from"`
	To         *string `json:"to"`
	AreaM2     float64 `json:"area_m2"`
	Households float64 `json:"households"`
	Population float64 `json:"population"`
}

type impactOrgJSON struct {
	OrganizationID int64       `json:"organization_id"`
	Kind           geo.OrgKind `json:"kind"`
	Name           string      `json:"name"`
	GridCode       string      `json:"grid_code"`
	Change         string      `json:"change"`
	Via            []string    `json:"via"`
}

type impactIncidentJSON struct {
	Number     string     `json:"number"`
	Status     geo.Status `json:"status"`
	Location   []float64  `json:"location"`
	RoutedGrid *string    `json:"routed_grid"`
	GridBefore *string    `json:"grid_before"`
	GridAfter  *string    `json:"grid_after"`
}

// impactNote says how counts on moved area are estimated.
const impactNote = "households and population on moved area are estimated in proportion to area (the registry counts them per grid only); split parts share them the same way"

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// round1 rounds estimated counts to a tenth.
func round1(v float64) float64 { return math.Round(v*10) / 10 }

// planImpact answers GET /v1/plans/{id}/impact.
func (s *Server) planImpact(c *gin.Context) error {
	store := s.cfg.Plans
	id := pathInt(c, "id")
	crs, err := queryCRS(c)
	if err != nil {
		return err
	}
	im, err := store.PlanImpact(c.Request.Context(), id, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	grids := make([]impactGridJSON, len(im.Grids))
	for i, g := range im.Grids {
		grids[i] = impactGridJSON{Code: g.Code, Change: g.Change, AreaBeforeM2: round2(g.AreaBeforeM2), AreaAfterM2: round2(g.AreaAfterM2),
			GainedM2: round2(g.GainedM2), LostM2: round2(g.LostM2), HouseholdsBefore: g.HouseholdsBefore, HouseholdsAfter: g.HouseholdsAfter,
			PopulationBefore: g.PopulationBefore, PopulationAfter: g.PopulationAfter,
			HouseholdsIn: round1(g.HouseholdsIn), HouseholdsOut: round1(g.HouseholdsOut),
			PopulationIn: round1(g.PopulationIn), PopulationOut: round1(g.PopulationOut),
			LeaderBefore: nonEmpty(g.LeaderBefore), LeaderAfter: nonEmpty(g.LeaderAfter)}
	}
	moves := make([]impactMoveJSON, len(im.Moves))
	var households, people float64
	for i, m := range im.Moves {
		moves[i] = impactMoveJSON{From: nonEmpty(m.From), To: nonEmpty(m.To), AreaM2: round2(m.AreaM2),
			Households: round1(m.Households), Population: round1(m.Population)}
		households += m.Households
		people += m.Population
	}
	orgs := make([]impactOrgJSON, len(im.Attachments))
	for i, a := range im.Attachments {
		change, via := "attach", a.Via
		if a.Detach {
			change = "detach"
		}
		if via == nil {
			via = []string{}
		}
		orgs[i] = impactOrgJSON{OrganizationID: a.OrganizationID, Kind: a.Kind, Name: a.Name, GridCode: a.GridCode, Change: change, Via: via}
	}
	incidents := make([]impactIncidentJSON, len(im.Incidents))
	for i, inc := range im.Incidents {
		p := chinacrs.FromWGS84(crs, inc.Location)
		incidents[i] = impactIncidentJSON{Number: inc.Number, Status: inc.Status, Location: []float64{p[0], p[1]},
			RoutedGrid: nonEmpty(inc.Routed), GridBefore: nonEmpty(inc.Before), GridAfter: nonEmpty(inc.After)}
	}
	c.JSON(http.StatusOK, gin.H{
		"plan_id": im.PlanID, "base_generation": im.BaseGeneration,
		"totals": gin.H{"grids_changed": len(grids), "households_moved": round1(households), "population_moved": round1(people),
			"attachments_changed": len(orgs), "open_incidents_rerouted": len(incidents)},
		"grids": grids, "moves": moves, "organizations": orgs, "incidents": incidents, "note": impactNote,
	})
	return nil
}
