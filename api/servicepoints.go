package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/featurejson"
	"wangge/geo/workcal"
)

// This file serves the service points (便民服务中心/站, 党代表工作室, 群工站)
// as map features, with their duty rosters (servicepoints_roster.go):
// GeoJSON under /v1/service-points (the OGC collection and the tile layer
// of the same name answer from the same store), "who is on duty" at a
// point or at a town's duty desk, and "the nearest open point for this
// service". Anyone reads them; staff phones and the phones of the people
// on duty go only to roles that see personal data. Admins write.

// servicePointRoutes registers the service point endpoints under /v1.
func (s *Server) servicePointRoutes(v1 router) {
	v1.GET("/service-points", endpoint{query: append(read("town", "village", "kind", "service"), pAt, pCRS, pPrecision, pBBox)}, s.listServicePoints)
	v1.GET("/service-points/nearest", endpoint{query: append(read("service"), pLon, pLat, pCRS, pAt, pPrecision)}, s.nearestServicePoint)
	v1.GET("/service-points/:id", endpoint{query: []param{pAt, pCRS, pPrecision}}, s.getServicePoint)
	v1.GET("/service-points/:id/history", endpoint{query: []param{pCRS, pPrecision}}, s.servicePointHistory)
	v1.GET("/service-points/:id/duty", endpoint{query: []param{pAt}}, s.servicePointDuty)
	v1.GET("/towns/:town/duty", endpoint{query: []param{pAt}}, s.townDuty)
	admin := v1.with(s.require(geo.AccessAdmin))
	admin.POST("/service-points", endpoint{}, withBody(s.createServicePoint))
	admin.PUT("/service-points/:id", endpoint{}, withBody(s.replaceServicePoint))
	admin.DELETE("/service-points/:id", endpoint{}, s.endServicePoint)
	admin.POST("/duty-rosters", endpoint{query: []param{pDryRun}}, s.importDutyRoster)
}

// servicePointStore is the store of service points, or the 503 of a
// server without one.
func (s *Server) servicePointStore() (geo.ServicePointStore, error) {
	if s.cfg.ServicePoints == nil {
		return nil, problemf(TypeUnavailable, http.StatusServiceUnavailable, "service points are not available on this server")
	}
	return s.cfg.ServicePoints, nil
}

// calendar is the holiday calendar opening hours follow (nil: the
// weekday rule).
func (s *Server) calendar() *workcal.Calendar {
	if c := s.limits.Load(); c != nil {
		return c.Calendar
	}
	return nil
}

// servicePointProps are the properties of a service point feature.
type servicePointProps struct {
	ID             int64                `json:"id"`
	Town           string               `json:"town"`
	Village        *string              `json:"village"`
	Kind           geo.ServicePointKind `json:"kind"`
	KindZh         string               `json:"kind_zh"`
	Name           string               `json:"name"`
	Address        string               `json:"address"`
	Hours          geo.OpeningHours     `json:"hours"`
	OpenOnHolidays bool                 `json:"open_on_holidays"`
	Services       []geo.Category       `json:"services"`
	Staff          []geo.StaffMember    `json:"staff"`
	ValidFrom      time.Time            `json:"valid_from"`
	ValidTo        *time.Time           `json:"valid_to"`
}

type servicePointFeature struct {
	Type       string            `json:"type"`
	ID         int64             `json:"id"`
	Geometry   json.RawMessage   `json:"geometry"`
	Properties servicePointProps `json:"properties"`
}

// servicePointJSON renders p as a GeoJSON Feature in crs, rounded to
// prec; staff phones only when personal.
func servicePointJSON(p geo.ServicePoint, crs chinacrs.CRS, prec int, personal bool) servicePointFeature {
	props := servicePointProps{ID: p.ID, Town: p.TownCode, Kind: p.Kind, KindZh: p.Kind.NameZh(), Name: p.Name,
		Address: p.Address, Hours: p.Hours, OpenOnHolidays: p.OpenOnHolidays, Services: p.Services,
		Staff: make([]geo.StaffMember, 0, len(p.Staff)), ValidFrom: p.ValidFrom}
	if p.Services == nil {
		props.Services = []geo.Category{}
	}
	if p.VillageCode != "" {
		props.Village = &p.VillageCode
	}
	if !p.ValidTo.IsZero() {
		props.ValidTo = &p.ValidTo
	}
	for _, m := range p.Staff {
		if !personal {
			m.Phone = ""
		}
		props.Staff = append(props.Staff, m)
	}
	loc := chinacrs.FromWGS84(crs, orb.Point(p.Location))
	return servicePointFeature{Type: "Feature", ID: p.ID, Geometry: featurejson.AppendPointGeometry(nil, loc, prec), Properties: props}
}

// listServicePoints answers GET /v1/service-points[?town=&village=&kind=
// &service=&at=&bbox=&crs=&precision=]: a GeoJSON FeatureCollection of
// the points (as they were at at=), by id.
func (s *Server) listServicePoints(c *gin.Context) error {
	store, err := s.servicePointStore()
	if err != nil {
		return err
	}
	crs, _ := queryCRS(c)
	prec, _ := queryPrecision(c)
	at, _, _ := queryAt(c)
	bbox, hasBBox, _ := queryBBox(c)
	if hasBBox && crs != chinacrs.WGS84 {
		bbox = orb.Bound{Min: chinacrs.ToWGS84(crs, bbox.Min), Max: chinacrs.ToWGS84(crs, bbox.Max)}
	}
	town, village, kind, service := c.Query("town"), c.Query("village"), c.Query("kind"), c.Query("service")
	if _, ok := c.GetQuery("town"); ok && !isDigits(town, 9) {
		return badParam("town", "got %q, want a 9-digit town code", truncate(town))
	}
	if _, ok := c.GetQuery("village"); ok && !isDigits(village, 12) {
		return badParam("village", "got %q, want a 12-digit village code", truncate(village))
	}
	if _, ok := c.GetQuery("kind"); ok && !isServicePointKind(kind) {
		return badParam("kind", "got %q, want service_center, service_station, party_rep_studio or mass_work_station", truncate(kind))
	}
	if _, ok := c.GetQuery("service"); ok && !s.knownService(service) {
		return badParam("service", "got %q, want the code of a service item (GET /v1/service-items)", truncate(service))
	}
	if village != "" && town == "" {
		town = geo.TownCodeOf(village)
	}
	points, err := store.ServicePoints(c.Request.Context(), town, at)
	if err != nil {
		return err
	}
	personal := callerRole(c).SeesPersonalData()
	features := make([]servicePointFeature, 0, len(points))
	for _, p := range points {
		if (village != "" && p.VillageCode != village) || (kind != "" && string(p.Kind) != kind) ||
			(service != "" && !p.Handles(geo.Category(service))) || (hasBBox && !bbox.Contains(orb.Point(p.Location))) {
			continue
		}
		features = append(features, servicePointJSON(p, crs, prec, personal))
	}
	c.Header("Cache-Control", "no-cache")
	return writeGeoJSON(c, http.StatusOK, gin.H{"type": "FeatureCollection", "features": features})
}

func writeGeoJSON(c *gin.Context, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.Data(status, GeoJSONContentType, b)
	return nil
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func isServicePointKind(k string) bool {
	for _, x := range geo.ServicePointKinds {
		if string(x) == k {
			return true
		}
	}
	return false
}

func (s *Server) knownService(code string) bool {
	for _, x := range s.limits.Categories(true) {
		if string(x) == code {
			return true
		}
	}
	return false
}

// getServicePoint answers GET /v1/service-points/{id}[?at=&crs=&precision=].
func (s *Server) getServicePoint(c *gin.Context) error {
	store, err := s.servicePointStore()
	if err != nil {
		return err
	}
	id, _ := parseID("id", c.Param("id"))
	crs, _ := queryCRS(c)
	prec, _ := queryPrecision(c)
	at, _, _ := queryAt(c)
	p, err := store.ServicePoint(c.Request.Context(), id, at)
	if err != nil {
		return err
	}
	return writeGeoJSON(c, http.StatusOK, servicePointJSON(p, crs, prec, callerRole(c).SeesPersonalData()))
}

// servicePointHistory answers GET /v1/service-points/{id}/history: every
// version of the point, oldest first, as a FeatureCollection.
func (s *Server) servicePointHistory(c *gin.Context) error {
	store, err := s.servicePointStore()
	if err != nil {
		return err
	}
	id, _ := parseID("id", c.Param("id"))
	crs, _ := queryCRS(c)
	prec, _ := queryPrecision(c)
	versions, err := store.ServicePointHistory(c.Request.Context(), id)
	if err != nil {
		return err
	}
	personal := callerRole(c).SeesPersonalData()
	features := make([]servicePointFeature, len(versions))
	for i, p := range versions {
		features[i] = servicePointJSON(p, crs, prec, personal)
	}
	return writeGeoJSON(c, http.StatusOK, gin.H{"type": "FeatureCollection", "features": features})
}

// checkServicePoint checks a request against the current snapshot and
// the catalogue.
func (s *Server) checkServicePoint(req *geo.ServicePointRequest) (geo.ServicePoint, error) {
	return req.Check(s.registry.Load(), s.limits.Categories(true))
}

// createServicePoint answers POST /v1/service-points (admin): 201 with
// the point and its Location.
func (s *Server) createServicePoint(c *gin.Context, req *geo.ServicePointRequest) error {
	store, err := s.servicePointStore()
	if err != nil {
		return err
	}
	p, err := s.checkServicePoint(req)
	if err != nil {
		return err
	}
	out, err := store.CreateServicePoint(c.Request.Context(), p, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	s.peopleReload(c) // the map layers are drawn from the snapshot
	c.Header("Location", fmt.Sprintf("/v1/service-points/%d", out.ID))
	return writeGeoJSON(c, http.StatusCreated, servicePointJSON(out, chinacrs.WGS84, featurejson.Exact, true))
}

// replaceServicePoint answers PUT /v1/service-points/{id} (admin): the
// point's next version, given whole; the one before stays in its history.
func (s *Server) replaceServicePoint(c *gin.Context, req *geo.ServicePointRequest) error {
	store, err := s.servicePointStore()
	if err != nil {
		return err
	}
	id, _ := parseID("id", c.Param("id"))
	p, err := s.checkServicePoint(req)
	if err != nil {
		return err
	}
	out, err := store.ReplaceServicePoint(c.Request.Context(), id, p, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	s.peopleReload(c)
	return writeGeoJSON(c, http.StatusOK, servicePointJSON(out, chinacrs.WGS84, featurejson.Exact, true))
}

// endServicePoint answers DELETE /v1/service-points/{id} (admin): the
// point ends now (204); its history and past rosters stay.
func (s *Server) endServicePoint(c *gin.Context) error {
	store, err := s.servicePointStore()
	if err != nil {
		return err
	}
	id, _ := parseID("id", c.Param("id"))
	if err := store.EndServicePoint(c.Request.Context(), id, callerName(c), s.cfg.Now().UTC()); err != nil {
		return err
	}
	s.peopleReload(c)
	c.Status(http.StatusNoContent)
	return nil
}

// dutyOut is a person on duty.
type dutyOut struct {
	Name  string       `json:"name"`
	Phone string       `json:"phone,omitempty"`
	Shift string       `json:"shift"`
	Date  workcal.Date `json:"date"`
	From  time.Time    `json:"from"`
	To    time.Time    `json:"to"`
}

func dutyJSON(shifts []geo.DutyShift, personal bool) []dutyOut {
	out := make([]dutyOut, len(shifts))
	for i, sh := range shifts {
		out[i] = dutyOut{Name: sh.Name, Shift: sh.Shift, Date: sh.Date, From: sh.From, To: sh.To}
		if personal {
			out[i].Phone = sh.Phone
		}
	}
	return out
}

// queryAtOrNow is at= or the server's clock.
func (s *Server) queryAtOrNow(c *gin.Context) time.Time {
	if at, ok, _ := queryAt(c); ok {
		return at
	}
	return s.cfg.Now()
}

// servicePointDuty answers GET /v1/service-points/{id}/duty[?at=]: who is
// on duty at the point at at= (default now), by its roster, and whether
// it is open then (its hours, or someone on duty).
func (s *Server) servicePointDuty(c *gin.Context) error {
	store, err := s.servicePointStore()
	if err != nil {
		return err
	}
	id, _ := parseID("id", c.Param("id"))
	at := s.queryAtOrNow(c)
	p, err := store.ServicePoint(c.Request.Context(), id, at)
	if err != nil {
		return err
	}
	shifts, err := store.DutyShifts(c.Request.Context(), p.TownCode, id, at, at.Add(time.Nanosecond))
	if err != nil {
		return err
	}
	on := geo.OnDuty(shifts, at)
	byHours := p.OpenAt(at, s.calendar())
	c.JSON(http.StatusOK, gin.H{"service_point": gin.H{"id": p.ID, "name": p.Name, "town": p.TownCode},
		"at": at.UTC(), "open": byHours || len(on) > 0, "open_by_hours": byHours, "on_duty": dutyJSON(on, callerRole(c).SeesPersonalData())})
	return nil
}

// townDuty answers GET /v1/towns/{town}/duty[?at=]: who takes what falls
// to the town's duty desk at at= (default now): the person of the desk's
// roster whose shift covers it, else the fixed duty desk.
func (s *Server) townDuty(c *gin.Context) error {
	store, err := s.servicePointStore()
	if err != nil {
		return err
	}
	town := c.Param("town")
	snap := s.registry.Load()
	t, ok := snap.TownOf(town)
	if !ok {
		return problemf(TypeNotFound, http.StatusNotFound, "no town %s in this deployment", town)
	}
	at := s.queryAtOrNow(c)
	shifts, err := store.DutyShifts(c.Request.Context(), town, 0, at, at.Add(time.Nanosecond))
	if err != nil {
		return err
	}
	personal := callerRole(c).SeesPersonalData()
	on := geo.OnDuty(shifts, at)
	out := gin.H{"town": town, "at": at.UTC(), "on_duty": dutyJSON(on, personal), "rostered": len(on) > 0, "duty_desk": nil}
	if t.DutyDesk != nil {
		out["duty_desk"] = contactJSON(t.DutyDesk, personal)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// nearestServicePoint answers GET /v1/service-points/nearest?lon=&lat=
// [&service=&at=&crs=&precision=]: the nearest point (by distance on the
// spheroid) that handles service and is open at at= (default now): by its
// hours on the holiday calendar, or with someone on duty there. 404 when
// none is.
func (s *Server) nearestServicePoint(c *gin.Context) error {
	store, err := s.servicePointStore()
	if err != nil {
		return err
	}
	pt, err := queryPoint(c)
	if err != nil {
		return err
	}
	crs, _ := queryCRS(c)
	prec, _ := queryPrecision(c)
	service := c.Query("service")
	if _, ok := c.GetQuery("service"); ok && !s.knownService(service) {
		return badParam("service", "got %q, want the code of a service item (GET /v1/service-items)", truncate(service))
	}
	at := s.queryAtOrNow(c)
	wgs := chinacrs.ToWGS84(crs, pt)
	near, err := store.NearestServicePoints(c.Request.Context(), [2]float64(wgs), geo.Category(service), at, maxNearest)
	if err != nil {
		return err
	}
	cal := s.calendar()
	for _, n := range near {
		byHours := n.OpenAt(at, cal)
		if !byHours && !n.Rostered {
			continue
		}
		openBy := "hours"
		if !byHours {
			openBy = "duty_roster"
		}
		c.JSON(http.StatusOK, gin.H{"service_point": servicePointJSON(n.ServicePoint, crs, prec, callerRole(c).SeesPersonalData()),
			"distance_m": n.DistanceM, "open_by": openBy, "at": at.UTC()})
		return nil
	}
	what := "any service"
	if service != "" {
		what = strconv.Quote(service)
	}
	return problemf(TypeNotFound, http.StatusNotFound, "no service point for %s is open at %s", what, at.In(workcal.Zone).Format(time.RFC3339))
}

// maxNearest bounds the points considered by nearestServicePoint, nearest
// first: a county holds a few hundred.
const maxNearest = 5000
