package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/featurejson"
	"wangge/geo/jsonerr"
	"wangge/geo/layerfile"
)

// This file serves plans (规划方案): a planner opens a draft on the current
// generation, edits it (geometry, properties, add, retire, split, merge,
// move, leaders, a whole layer from a file), validates and repairs it,
// previews its impact and applies it as a new generation (plans_checks.go,
// plans_apply.go, plans_import.go). A plan's ETag is its tag, base
// generation and revision ("3.7"): every edit changes it, and apply's
// If-Match must name it as it is. Planners and admins only; leaders'
// phones are shown to admins alone (planners do not see personal data).

// planRoutes registers the plan endpoints and the coverage report under
// /v1.
func (s *Server) planRoutes(v1 router) {
	p := router{s, v1.g.Group("/plans", s.require(geo.AccessPlanner), s.planTownScope)} // auth.go: a town's planner, its town's plans
	plans := endpoint{needs: needPlans}
	// Routes that answer with the draft as GeoJSON take its crs and
	// precision; those that read coordinates take crs.
	view := endpoint{needs: needPlans, query: []param{pCRS, pPrecision}}
	p.POST("", plans, withOptionalBody(s.createPlan))
	p.GET("", endpoint{needs: needPlans, query: read("status", "town")}, s.listPlans)
	p.GET("/:id", endpoint{needs: needPlans, query: append(read("change"), pCRS, pPrecision)}, s.getPlan)
	p.POST("/:id/grids", view, withFeatureBody(s.addPlanGrid))
	p.PUT("/:id/grids/:code", view, withFeatureBody(s.editPlanGrid))
	p.DELETE("/:id/grids/:code", view, s.retirePlanGrid)
	p.PUT("/:id/grids/:code/leader", view, withBody(s.setPlanLeader))
	p.POST("/:id/split", view, withBody(s.splitPlanGrid))
	p.POST("/:id/merge", view, withBody(s.mergePlanGrids))
	p.POST("/:id/move", view, withBody(s.movePlanGrid))
	p.POST("/:id/import", endpoint{needs: needPlans, query: []param{pCRS, pLayerFormat, pLayerMode, pField("code_field"), pField("name_field"), pField("village_field")}}, s.importPlanLayer)
	p.GET("/:id/validation", endpoint{needs: needPlans, query: reportParams}, s.validatePlan)
	p.POST("/:id/repairs", endpoint{needs: needPlans, query: []param{pCRS}}, withBody(s.repairPlan))
	p.GET("/:id/impact", endpoint{needs: needPlans, query: []param{pCRS}}, s.planImpact)
	p.POST("/:id/apply", plans, s.applyPlan)
	v1.with(s.requireOneOf(geo.AccessDispatcher, geo.AccessPlanner)).GET("/coverage/report", endpoint{needs: needPlans, query: append(slices.Clip(reportParams), read("town")...)}, s.coverageReport)
}

// Query parameters of the plan routes.
var (
	// reportParams are those of a validation or coverage report: its
	// thresholds and how it is rendered.
	reportParams = append(read("sliver_m2", "sliver_width_m", "households_min", "households_max"), pCRS, pPrecision, pF)
	pLayerFormat = param{"format", func(c *gin.Context) error {
		if _, err := layerfile.ParseFormat(c.Query("format")); err != nil {
			return badParam("format", "%s", geo.ErrorMessage(err))
		}
		return nil
	}}
	pLayerMode = param{"mode", func(c *gin.Context) error {
		if _, err := geo.ParseLayerMode(c.Query("mode")); err != nil {
			return badParam("mode", "%s", geo.ErrorMessage(err))
		}
		return nil
	}}
)

// pField is a query parameter naming an attribute of an uploaded layer.
func pField(name string) param {
	return param{name, func(c *gin.Context) error {
		if v := c.Query(name); len(v) > 64 || strings.TrimSpace(v) == "" {
			return badParam(name, "got %q, want the name of an attribute of the layer", truncate(v))
		}
		return nil
	}}
}

// requireOneOf lets callers through whose role allows any of needs;
// others get 403 (401 when anonymous), as require answers.
func (s *Server) requireOneOf(needs ...geo.AccessRole) gin.HandlerFunc {
	names := make([]string, len(needs))
	for i, n := range needs {
		names[i] = string(n)
	}
	return func(c *gin.Context) {
		role := callerRole(c)
		for _, n := range needs {
			if role.Allows(n) {
				c.Next()
				return
			}
		}
		if c.GetString(actorKey) == "anonymous" {
			s.unauthorized(c, "this endpoint needs a "+strings.Join(names, " or ")+" token")
			return
		}
		s.writeProblem(c, problemf(TypeForbidden, http.StatusForbidden, "role %s may not do this: it needs %s", role, strings.Join(names, " or ")))
	}
}

// gridCodeParam reads a grid code from the path.
func gridCodeParam(c *gin.Context) (string, error) {
	code := c.Param("code")
	if err := geo.ValidateGridCode(code, ""); err != nil {
		return "", badParam("code", "%s", geo.ErrorMessage(err))
	}
	return code, nil
}

// planJSON is a plan's header as sent.
type planJSON struct {
	ID   int64  `json:"id"`
	Note string `json:"note"`
	// Town is the code of the town the plan redraws; null for a plan of
	// every town.
	Town              *string         `json:"town"`
	Status            geo.PlanStatus  `json:"status"`
	BaseGeneration    int64           `json:"base_generation"`
	ETag              string          `json:"etag"`
	RebasedFrom       *int64          `json:"rebased_from"`
	CreatedBy         string          `json:"created_by"`
	CreatedAt         time.Time       `json:"created_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
	Revision          int             `json:"revision"`
	AppliedBy         *string         `json:"applied_by"`
	AppliedAt         *time.Time      `json:"applied_at"`
	AppliedGeneration *int64          `json:"applied_generation"`
	Summary           planSummaryJSON `json:"summary"`
}

type planSummaryJSON struct {
	Unchanged int `json:"unchanged"`
	Modified  int `json:"modified"`
	Added     int `json:"added"`
	Retired   int `json:"retired"`
	Leaders   int `json:"leaders_appointed"`
}

// planETag is the ETag of a plan: its tag (base generation and revision),
// quoted, e.g. "3.7".
func planETag(p *geo.Plan) string { return strconv.Quote(p.Tag().String()) }

func planOut(p *geo.Plan) planJSON {
	out := planJSON{ID: p.ID, Note: p.Note, Status: p.Status, BaseGeneration: p.BaseGeneration, ETag: planETag(p),
		CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(), Revision: p.Revision,
		Summary: planSummaryJSON{Unchanged: p.Summary.Unchanged, Modified: p.Summary.Modified, Added: p.Summary.Added,
			Retired: p.Summary.Retired, Leaders: p.Summary.Leaders}}
	if p.Town != "" {
		out.Town = &p.Town
	}
	if p.RebasedFrom > 0 {
		out.RebasedFrom = &p.RebasedFrom
	}
	if p.Status == geo.PlanApplied {
		at := p.AppliedAt.UTC()
		out.AppliedBy, out.AppliedAt, out.AppliedGeneration = &p.AppliedBy, &at, &p.AppliedGeneration
	}
	return out
}

// planGridProperties are the properties of a grid of a draft.
type planGridProperties struct {
	Code            string         `json:"code"`
	Name            string         `json:"name"`
	VillageCode     string         `json:"village_code"`
	Households      int            `json:"households"`
	Population      int            `json:"population"`
	Change          geo.GridChange `json:"change"`
	DerivedFrom     []string       `json:"derived_from"`
	Leader          *personJSON    `json:"leader"`
	LeaderAppointed bool           `json:"leader_appointed"`
}

// planCollection renders a plan and grids as a GeoJSON FeatureCollection
// with the plan's header as the foreign member "plan".
func planCollection(p *geo.Plan, grids []geo.PlanGrid, personal bool, crs chinacrs.CRS, prec int) ([]byte, error) {
	head, err := json.Marshal(planOut(p))
	if err != nil {
		return nil, err
	}
	b := []byte(`{"type":"FeatureCollection","plan":`)
	b = append(b, head...)
	b = append(b, `,"features":[`...)
	for i := range grids {
		g := &grids[i]
		if i > 0 {
			b = append(b, ',')
		}
		derived := g.DerivedFrom
		if derived == nil {
			derived = []string{}
		}
		props, err := json.Marshal(planGridProperties{Code: g.Code, Name: g.Name, VillageCode: g.VillageCode,
			Households: g.Households, Population: g.Population, Change: g.Change, DerivedFrom: derived,
			Leader: contactJSON(g.Leader, personal), LeaderAppointed: g.LeaderAppointed})
		if err != nil {
			return nil, err
		}
		b = append(b, `{"type":"Feature","id":"`...)
		b = append(b, g.Code...)
		b = append(b, `","geometry":`...)
		b = featurejson.AppendMultiPolygon(b, inCRS(g.Geometry, crs), prec)
		b = append(b, `,"properties":`...)
		b = append(b, props...)
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// sendPlanView answers with a plan and its grids as GeoJSON, in the
// caller's crs and precision.
func (s *Server) sendPlanView(c *gin.Context, status int, v *geo.PlanView) error {
	crs, err := queryCRS(c)
	if err != nil {
		return err
	}
	prec, err := queryPrecision(c)
	if err != nil {
		return err
	}
	body, err := planCollection(&v.Plan, v.Grids, callerRole(c).SeesPersonalData(), crs, prec)
	if err != nil {
		return err
	}
	c.Header("ETag", planETag(&v.Plan))
	c.Header("Vary", "Authorization")
	c.Data(status, GeoJSONContentType, body)
	return nil
}

// createPlan answers POST /v1/plans: a draft of a town (the body's
// "town"; by default the plan rebased's, or the deployment's only town) on
// its current generation.
func (s *Server) createPlan(c *gin.Context, req *geo.NewPlan) error {
	if err := req.Check(); err != nil {
		return err
	}
	if err := s.townMayPlan(c, req); err != nil { // auth.go: a town's planner opens its town's plans
		return err
	}
	p, err := s.cfg.Plans.CreatePlan(c.Request.Context(), *req, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	c.Header("Location", fmt.Sprintf("/v1/plans/%d", p.ID))
	c.Header("ETag", planETag(p))
	c.JSON(http.StatusCreated, planOut(p))
	return nil
}

// listPlans answers GET /v1/plans[?status=draft|applied|all][&town=]:
// drafts by default, of every town unless town names one, newest first.
func (s *Server) listPlans(c *gin.Context) error {
	store := s.cfg.Plans
	status := geo.PlanStatus(c.DefaultQuery("status", string(geo.PlanDraft)))
	switch status {
	case geo.PlanDraft, geo.PlanApplied:
	case "all":
		status = ""
	default:
		return badParam("status", "got %q, want draft, applied or all", truncate(string(status)))
	}
	town := c.Query("town")
	if town != "" {
		if err := geo.ValidateTownCode(town); err != nil {
			return badParam("town", "%s", geo.ErrorMessage(err))
		}
	}
	town, err := s.scopedTown(c, town) // auth.go: a town's planner lists its town's plans
	if err != nil {
		return err
	}
	plans, err := store.Plans(c.Request.Context(), status, town)
	if err != nil {
		return err
	}
	out := make([]planJSON, len(plans))
	for i := range plans {
		out[i] = planOut(&plans[i])
	}
	c.JSON(http.StatusOK, gin.H{"plans": out})
	return nil
}

// getPlan answers GET /v1/plans/{id}: the draft as GeoJSON, every feature
// with its change; ?change=modified,added,retired keeps those.
func (s *Server) getPlan(c *gin.Context) error {
	store := s.cfg.Plans
	id := pathInt(c, "id")
	var keep []geo.GridChange
	if raw := c.Query("change"); raw != "" {
		for _, v := range strings.Split(raw, ",") {
			ch := geo.GridChange(strings.TrimSpace(v))
			if !slices.Contains([]geo.GridChange{geo.GridUnchanged, geo.GridModified, geo.GridAdded, geo.GridRetired}, ch) {
				return badParam("change", "got %q, want a comma-separated list of unchanged, modified, added, retired", truncate(v))
			}
			keep = append(keep, ch)
		}
	}
	v, err := store.Plan(c.Request.Context(), id, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	if keep != nil {
		v.Grids = slices.DeleteFunc(v.Grids, func(g geo.PlanGrid) bool { return !slices.Contains(keep, g.Change) })
	}
	return s.sendPlanView(c, http.StatusOK, v)
}

// withFeatureBody is withBody for a grid sent as a GeoJSON Feature, which
// may come as application/geo+json (RFC 7946 §12) as well as
// application/json; any other Content-Type is refused as withBody does.
func withFeatureBody(h func(c *gin.Context, req *featureRequest) error) handlerFunc {
	decode := withBody(h)
	return func(c *gin.Context) error {
		if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err == nil && mt == "application/geo+json" {
			c.Request.Header.Set("Content-Type", "application/json")
		}
		return decode(c)
	}
}

// featureRequest is a grid as a GeoJSON Feature (or just its geometry and
// properties), the body of PUT and POST …/grids.
type featureRequest struct {
	Type       string          `json:"type"`
	ID         json.RawMessage `json:"id"`
	BBox       json.RawMessage `json:"bbox"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties json.RawMessage `json:"properties"`
}

// gridProps are the properties a grid edit reads; others (as GET sends
// them: change, leader, …) are ignored, so a feature can be sent back.
type gridProps struct {
	Code        *string `json:"code"`
	Name        *string `json:"name"`
	VillageCode *string `json:"village_code"`
	Households  *int    `json:"households"`
	Population  *int    `json:"population"`
}

// readFeature decodes a grid feature; the geometry (if any) is converted
// from the query's crs to WGS-84.
func readFeature(c *gin.Context, req *featureRequest, geometryRequired bool) (orb.MultiPolygon, gridProps, error) {
	var props gridProps
	if req.Type != "" && req.Type != "Feature" {
		return nil, props, invalidField("type", "got %q, want Feature (or leave it out)", truncate(req.Type))
	}
	if len(req.Properties) > 0 && string(req.Properties) != "null" {
		if err := json.Unmarshal(req.Properties, &props); err != nil {
			return nil, props, invalidField("properties", "%s", jsonerr.Describe(req.Properties, err))
		}
	}
	if len(req.Geometry) == 0 || string(req.Geometry) == "null" {
		if geometryRequired {
			return nil, props, invalidField("geometry", "required: a GeoJSON Polygon or MultiPolygon")
		}
		return nil, props, nil
	}
	mp, reasons := featurejson.DecodePolygonal(req.Geometry)
	if len(reasons) > 0 {
		return nil, props, geometryProblem("geometry", reasons)
	}
	crs, err := queryCRS(c)
	if err != nil {
		return nil, props, err
	}
	return toWGS84(mp, crs), props, nil
}

// geometryProblem is the 400 of a malformed geometry, one error per reason.
func geometryProblem(where string, reasons []string) *Problem {
	p := problemf(TypeInvalidBody, http.StatusBadRequest, "%s: %s", where, reasons[0])
	for _, r := range reasons {
		p.Errors = append(p.Errors, geo.Problem{Where: where, Reason: r})
	}
	return p
}

// toWGS84 converts mp from crs to WGS-84 (mp itself for WGS-84).
func toWGS84(mp orb.MultiPolygon, crs chinacrs.CRS) orb.MultiPolygon {
	if crs == chinacrs.WGS84 {
		return mp
	}
	return project.MultiPolygon(mp.Clone(), func(p orb.Point) orb.Point { return chinacrs.ToWGS84(crs, p) })
}

// editPlanGrid answers PUT /v1/plans/{id}/grids/{code}: a new geometry
// and/or properties (name, households, population).
func (s *Server) editPlanGrid(c *gin.Context, req *featureRequest) error {
	store := s.cfg.Plans
	id := pathInt(c, "id")
	code, err := gridCodeParam(c)
	if err != nil {
		return err
	}
	mp, props, err := readFeature(c, req, false)
	if err != nil {
		return err
	}
	if props.Code != nil && *props.Code != code {
		return invalidField("properties.code", "got %q, but the path names %s: use move to change a grid's code", truncate(*props.Code), code)
	}
	if props.VillageCode != nil && *props.VillageCode != code[:12] {
		return invalidField("properties.village_code", "got %q: use move to change a grid's village", truncate(*props.VillageCode))
	}
	e := geo.PlanGridEdit{Geometry: mp, Name: props.Name, Households: props.Households, Population: props.Population}
	if err := e.Validate(); err != nil {
		return err
	}
	v, err := store.EditPlanGrid(c.Request.Context(), id, code, e, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	return s.sendPlanView(c, http.StatusOK, v)
}

// addPlanGrid answers POST /v1/plans/{id}/grids: a new grid, its code a
// new 15-digit code of its village (properties.code).
func (s *Server) addPlanGrid(c *gin.Context, req *featureRequest) error {
	store := s.cfg.Plans
	id := pathInt(c, "id")
	mp, props, err := readFeature(c, req, true)
	if err != nil {
		return err
	}
	g := geo.NewPlanGrid{Geometry: mp, CountsGiven: true}
	if props.Code == nil {
		return invalidField("properties.code", "required: the new grid's 15-digit code (village code + 3 digits)")
	}
	g.Code = *props.Code
	if props.VillageCode != nil {
		g.VillageCode = *props.VillageCode
	}
	if props.Name != nil {
		g.Name = *props.Name
	}
	if props.Households != nil {
		g.Households = *props.Households
	}
	if props.Population != nil {
		g.Population = *props.Population
	}
	if err := g.Validate(); err != nil {
		return invalidField("properties", "%s", geo.ErrorMessage(err))
	}
	v, err := store.AddPlanGrid(c.Request.Context(), id, g, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return inProperties(err)
	}
	c.Header("Location", fmt.Sprintf("/v1/plans/%d", id))
	return s.sendPlanView(c, http.StatusCreated, v)
}

// inProperties locates the problems of err (a store's refusal naming
// "code" or "village_code") in the Feature's properties, where the
// request gave them.
func inProperties(err error) error {
	var ge *geo.Error
	if !errors.As(err, &ge) || len(ge.Problems) == 0 {
		return err
	}
	out := *ge
	out.Problems = slices.Clone(ge.Problems)
	for i := range out.Problems {
		out.Problems[i].Where = "properties." + out.Problems[i].Where
	}
	out.Message = out.Problems[0].String()
	return &out
}

// retirePlanGrid answers DELETE /v1/plans/{id}/grids/{code}.
func (s *Server) retirePlanGrid(c *gin.Context) error {
	store := s.cfg.Plans
	id := pathInt(c, "id")
	code, err := gridCodeParam(c)
	if err != nil {
		return err
	}
	v, err := store.RetirePlanGrid(c.Request.Context(), id, code, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	return s.sendPlanView(c, http.StatusOK, v)
}

// setPlanLeader answers PUT /v1/plans/{id}/grids/{code}/leader: the
// grid's leader from the moment the plan is applied.
func (s *Server) setPlanLeader(c *gin.Context, req *geo.ContactJSON) error {
	code, err := gridCodeParam(c)
	if err != nil {
		return err
	}
	leader, err := geo.CheckLeader(geo.Contact{Name: req.Name, Phone: req.Phone})
	if err != nil {
		return err
	}
	v, err := s.cfg.Plans.SetPlanLeader(c.Request.Context(), pathInt(c, "id"), code, leader, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	return s.sendPlanView(c, http.StatusOK, v)
}

// splitRequest is the body of POST …/split: geo.SplitRequest with the line
// as a GeoJSON geometry.
type splitRequest struct {
	geo.SplitRequest
	Line json.RawMessage `json:"line"`
}

// splitPlanGrid answers POST /v1/plans/{id}/split: the grid cut in two by
// a GeoJSON LineString (in the query's crs). The larger part keeps the
// code; households and population are shared in proportion to area.
func (s *Server) splitPlanGrid(c *gin.Context, req *splitRequest) error {
	g, reasons := featurejson.DecodeGeometry(req.Line)
	if len(reasons) > 0 {
		return geometryProblem("line", reasons)
	}
	line, ok := g.(orb.LineString)
	if !ok {
		return invalidField("line", "got a %s, want a GeoJSON LineString", g.GeoJSONType())
	}
	crs, err := queryCRS(c)
	if err != nil {
		return err
	}
	if crs != chinacrs.WGS84 {
		line = project.LineString(line.Clone(), func(p orb.Point) orb.Point { return chinacrs.ToWGS84(crs, p) })
	}
	r := req.SplitRequest
	r.Line = line
	if err := r.Validate(); err != nil {
		return err
	}
	v, err := s.cfg.Plans.SplitPlanGrid(c.Request.Context(), pathInt(c, "id"), r, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	return s.sendPlanView(c, http.StatusOK, v)
}

// mergePlanGrids answers POST /v1/plans/{id}/merge: adjacent grids of one
// village become grid "into".
func (s *Server) mergePlanGrids(c *gin.Context, req *geo.MergeRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	v, err := s.cfg.Plans.MergePlanGrids(c.Request.Context(), pathInt(c, "id"), *req, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	return s.sendPlanView(c, http.StatusOK, v)
}

// movePlanGrid answers POST /v1/plans/{id}/move: the grid goes to another
// village under a new code of that village.
func (s *Server) movePlanGrid(c *gin.Context, req *geo.MoveRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	v, err := s.cfg.Plans.MovePlanGrid(c.Request.Context(), pathInt(c, "id"), *req, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	return s.sendPlanView(c, http.StatusOK, v)
}
