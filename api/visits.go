package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
	"wangge/geo/photofile"
)

// This file serves the log of visits and meetings (issue 13, item 4):
// dispatchers (the town office) log them and list them; the counts per
// person, grid, village and 片区 (/v1/visits/stats) are open to every
// caller, as counts. The point of a visit is checked against the grids:
// see geo/visit.go for the rule.

// visitRoutes registers the visit endpoints under /v1.
func (s *Server) visitRoutes(v1 router) {
	filter := read("town", "kind", "person", "grid", "village", "district", "from", "to")
	v1.GET("/visits/stats", endpoint{query: append(filter, read("by")...)}, s.visitStats)
	dispatch := v1.with(s.require(geo.AccessDispatcher))
	dispatch.POST("/visits", endpoint{}, withBody(s.createVisit))
	dispatch.GET("/visits", endpoint{query: append(filter, pCursor, pLimit(1000))}, s.listVisits)
	dispatch.POST("/visits/:id/photos", endpoint{}, s.uploadVisitPhoto) // visitPhotoPath
	dispatch.GET("/visits/:id/photos/:photo", endpoint{}, s.getVisitPhoto)
}

// visitPhotoPath is the route of visit photo uploads, whose body limit is
// the photo limit (bodyLimit).
const visitPhotoPath = "/v1/visits/:id/photos"

type visitPhotoOut struct {
	ID            int64          `json:"id"`
	Visit         int64          `json:"visit"`
	SHA256        string         `json:"sha256"`
	Bytes         int            `json:"bytes"`
	ContentType   string         `json:"content_type"`
	Width         int            `json:"width"`
	Height        int            `json:"height"`
	LocationCheck geo.PhotoCheck `json:"location_check"`
	UploadedBy    string         `json:"uploaded_by"`
	UploadedAt    time.Time      `json:"uploaded_at"`
	URL           string         `json:"url"`
}

// uploadVisitPhoto answers POST /v1/visits/{id}/photos (dispatchers): a
// photo taken at the visit, checked as incidents' photos are (size, type,
// pixels; metadata stripped; the EXIF position against the visit's grid).
// 201, or 200 for the same bytes again; 409 past geo.MaxVisitPhotos.
func (s *Server) uploadVisitPhoto(c *gin.Context) error {
	st, err := s.visitStore()
	if err != nil {
		return err
	}
	id := pathInt(c, "id")
	v, err := st.Visit(c.Request.Context(), id)
	if err != nil {
		return err
	}
	raw, err := s.readPhoto(c)
	if err != nil {
		return err
	}
	clean, err := photofile.Clean(raw, s.cfg.MaxPhotoPixels)
	if err != nil {
		return photoProblem(err)
	}
	p := &geo.Photo{ContentType: clean.Format.ContentType(), Width: clean.Width, Height: clean.Height, Data: clean.Data,
		Check: geo.PhotoNoPlace, UploadedBy: callerName(c), UploadedAt: s.cfg.Now().UTC()}
	p.SHA256 = sha256.Sum256(clean.Data)
	p.Bytes = len(clean.Data)
	if snap := s.registry.Load(); clean.GPS != nil && snap != nil {
		loc := v.Location
		p.Check, _ = snap.CheckPhotoLocation(&geo.Incident{GridCode: v.GridCode, Location: &loc}, *clean.GPS, s.cfg.ToleranceM)
	}
	out, fresh, err := st.AddVisitPhoto(c.Request.Context(), id, p)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !fresh {
		status = http.StatusOK
	}
	body := visitPhotoOut{ID: out.ID, Visit: id, SHA256: hex.EncodeToString(out.SHA256[:]), Bytes: out.Bytes,
		ContentType: out.ContentType, Width: out.Width, Height: out.Height, LocationCheck: out.Check,
		UploadedBy: out.UploadedBy, UploadedAt: out.UploadedAt, URL: fmt.Sprintf("/v1/visits/%d/photos/%d", id, out.ID)}
	c.Header("Location", body.URL)
	c.JSON(status, body)
	return nil
}

// getVisitPhoto answers GET /v1/visits/{id}/photos/{photo} with the image,
// served as incidents' photos are.
func (s *Server) getVisitPhoto(c *gin.Context) error {
	st, err := s.visitStore()
	if err != nil {
		return err
	}
	photoID, err := parseID("photo", c.Param("photo"))
	if err != nil {
		return err
	}
	p, err := st.VisitPhoto(c.Request.Context(), pathInt(c, "id"), photoID)
	if err != nil {
		return err
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	etag := `"` + hex.EncodeToString(p.SHA256[:]) + `"`
	if notModified(c, etag) {
		return nil
	}
	h.Set("ETag", etag)
	c.Data(http.StatusOK, p.ContentType, p.Data)
	return nil
}

// visitStore is the store of the visit log (the people's store keeps
// it), or the 503 of a server without one.
func (s *Server) visitStore() (geo.VisitStore, error) {
	if st, ok := s.cfg.People.(geo.VisitStore); ok {
		return st, nil
	}
	return nil, problemf(TypeUnavailable, http.StatusServiceUnavailable, "the visit log is not available on this server")
}

type visitOut struct {
	ID     int64         `json:"id"`
	Kind   geo.VisitKind `json:"kind"`
	Person struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"person"`
	HeldAt     time.Time  `json:"held_at"`
	Location   [2]float64 `json:"location"`
	Town       string     `json:"town"`
	Grid       string     `json:"grid"`
	Village    string     `json:"village"`
	District   string     `json:"district"`
	Generation int64      `json:"generation"`
	Raised     string     `json:"raised"`
	Incident   *string    `json:"incident"`
	Households int        `json:"households"`
	Attendees  int        `json:"attendees"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
}

func visitJSON(v *geo.Visit) visitOut {
	out := visitOut{ID: v.ID, Kind: v.Kind, HeldAt: v.HeldAt, Location: v.Location, Town: v.TownCode, Grid: v.GridCode,
		Village: v.VillageCode, District: v.DistrictCode, Generation: v.Generation, Raised: v.Raised,
		Households: v.Households, Attendees: v.Attendees, CreatedAt: v.CreatedAt, CreatedBy: v.CreatedBy}
	out.Person.ID, out.Person.Name = v.PersonID, v.PersonName
	if v.IncidentNumber != "" {
		out.Incident = &v.IncidentNumber
	}
	return out
}

// createVisit answers POST /v1/visits (dispatchers): 201 with the visit
// as logged, its grid, village and 片区 found from its point.
func (s *Server) createVisit(c *gin.Context, req *geo.VisitRequest) error {
	st, err := s.visitStore()
	if err != nil {
		return err
	}
	snap := s.registry.Load()
	if snap == nil {
		return problemf(TypeUnavailable, http.StatusServiceUnavailable, "no town is loaded yet")
	}
	now := s.cfg.Now().UTC()
	v, err := req.Check(snap, s.cfg.ToleranceM, now)
	if err != nil {
		return err
	}
	if !callerTown(c).Covers(v.TownCode) {
		return s.outsideTown(c, "grid "+v.GridCode, v.TownCode)
	}
	out, err := st.CreateVisit(c.Request.Context(), v, callerName(c), now)
	if err != nil {
		return err
	}
	c.Header("Location", "/v1/visits?person="+strconv.FormatInt(out.PersonID, 10))
	c.JSON(http.StatusCreated, visitJSON(out))
	return nil
}

// visitFilter reads the filter parameters shared by the list and stats.
func (s *Server) visitFilter(c *gin.Context) (geo.VisitFilter, error) {
	var f geo.VisitFilter
	var err error
	if f.Town, err = s.queryTown(c); err != nil {
		return f, err
	}
	if raw := c.Query("kind"); raw != "" {
		if f.Kind = geo.VisitKind(raw); !slices.Contains(geo.VisitKinds, f.Kind) {
			return f, badParam("kind", "got %q, want one of %v", truncate(raw), geo.VisitKinds)
		}
	}
	if raw := c.Query("person"); raw != "" {
		if f.PersonID, err = parseID("person", raw); err != nil {
			return f, err
		}
	}
	if f.Grid = c.Query("grid"); f.Grid != "" && geo.ValidateGridCode(f.Grid, "") != nil {
		return f, badParam("grid", "got %q, want a 15-digit grid code", truncate(f.Grid))
	}
	if f.Village = c.Query("village"); f.Village != "" && geo.ValidateVillageCode(f.Village) != nil {
		return f, badParam("village", "got %q, want a 12-digit village code", truncate(f.Village))
	}
	if f.District = c.Query("district"); f.District != "" {
		if len(f.District) > 20 {
			return f, badParam("district", "got %q, want a 片区 code of the town", truncate(f.District))
		}
		if f.Town == "" {
			if snap := s.registry.Load(); snap != nil && len(snap.Towns) == 1 {
				f.Town = snap.Towns[0].Code
			} else {
				return f, badParam("town", "required with district: 片区 codes are numbered within a town")
			}
		}
	}
	if f.From, err = queryTime(c, "from", time.Time{}); err != nil {
		return f, err
	}
	if f.To, err = queryTime(c, "to", time.Time{}); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, badParam("to", "must be after from")
	}
	return f, nil
}

// listVisits answers GET /v1/visits (dispatchers): newest first, paged by
// cursor.
func (s *Server) listVisits(c *gin.Context) error {
	st, err := s.visitStore()
	if err != nil {
		return err
	}
	f, err := s.visitFilter(c)
	if err != nil {
		return err
	}
	if f.AfterID, err = queryCursor(c); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(c, 100, 1000); err != nil {
		return err
	}
	visits, err := st.Visits(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]visitOut, len(visits))
	for i := range visits {
		out[i] = visitJSON(&visits[i])
	}
	var next *string
	if len(visits) == f.Limit {
		cur := encodeCursor(visits[len(visits)-1].ID)
		next = &cur
	}
	c.JSON(http.StatusOK, gin.H{"visits": out, "next_cursor": next})
	return nil
}

type visitCountOut struct {
	Key        string                `json:"key"`
	Name       string                `json:"name"`
	Total      int                   `json:"total"`
	ByKind     map[geo.VisitKind]int `json:"by_kind"`
	Households int                   `json:"households"`
}

// visitStats answers GET /v1/visits/stats?by=person|grid|village|district:
// counts of visits and meetings, and households visited, per key. A
// 片区's key is "town/code" (片区 are numbered within a town).
func (s *Server) visitStats(c *gin.Context) error {
	st, err := s.visitStore()
	if err != nil {
		return err
	}
	by := c.DefaultQuery("by", "grid")
	if !slices.Contains(geo.VisitGroupings, by) {
		return badParam("by", "got %q, want one of %v", truncate(by), geo.VisitGroupings)
	}
	f, err := s.visitFilter(c)
	if err != nil {
		return err
	}
	counts, err := st.VisitCounts(c.Request.Context(), f, by)
	if err != nil {
		return err
	}
	snap := s.registry.Load()
	out := make([]visitCountOut, len(counts))
	total := visitCountOut{Key: "total", Name: "合计", ByKind: map[geo.VisitKind]int{}}
	for i, n := range counts {
		out[i] = visitCountOut{Key: n.Key, Name: n.Name, Total: n.Total, ByKind: n.ByKind, Households: n.Households}
		if snap != nil {
			switch by {
			case "grid":
				if g, ok := snap.Grid(n.Key); ok {
					out[i].Name = g.Name
				}
			case "village":
				if v, ok := snap.Village(n.Key); ok {
					out[i].Name = v.Name
				}
			}
		}
		total.Total += n.Total
		total.Households += n.Households
		for k, m := range n.ByKind {
			total.ByKind[k] += m
		}
	}
	c.JSON(http.StatusOK, gin.H{"by": by, "counts": out, "total": total})
	return nil
}
