package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
	"wangge/geo/workcal"
)

// This file serves the catalogue of service items (服务事项): what an
// incident can be about and its time limit. Anyone lists them (Open311's
// services list is built from them); only admins write. A write reloads
// this replica's catalogue at once, so the next intake uses it; the
// store's NOTIFY tells the other replicas. Incidents keep the due time
// they were given: a changed limit applies to new ones.

// serviceItemRoutes registers the service item endpoints under /v1.
func (s *Server) serviceItemRoutes(v1 router) {
	items := endpoint{needs: needServiceItems}
	v1.GET("/service-items", endpoint{needs: needServiceItems, query: []param{pActive}}, s.listServiceItems)
	v1.GET("/service-items/:item", items, s.getServiceItem)
	admin := v1.with(s.require(geo.AccessAdmin))
	admin.POST("/service-items", items, withBody(s.createServiceItem))
	admin.PATCH("/service-items/:item", items, withBody(s.updateServiceItem))
}

// pActive is ?active= of the service item list: true or false (absent:
// every item).
var pActive = param{"active", func(c *gin.Context) error { _, _, err := queryActive(c); return err }}

func queryActive(c *gin.Context) (active, given bool, err error) {
	raw, ok := c.GetQuery("active")
	switch {
	case !ok:
		return false, false, nil
	case raw == "true" || raw == "false":
		return raw == "true", true, nil
	}
	return false, false, badParam("active", "got %q, want true or false", truncate(raw))
}

// serviceItemOut is a service item as sent: exactly one of the limits is
// set, the other is null.
type serviceItemOut struct {
	Code          geo.Category `json:"code"`
	NameZh        string       `json:"name_zh"`
	Description   string       `json:"description"`
	LimitWorkdays *int         `json:"limit_workdays"`
	LimitHours    *int         `json:"limit_hours"`
	Active        bool         `json:"active"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
}

func serviceItemJSON(it geo.ServiceItem) serviceItemOut {
	out := serviceItemOut{Code: it.Code, NameZh: it.NameZh, Description: it.Description, Active: it.Active,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt}
	if it.LimitHours > 0 {
		out.LimitHours = &it.LimitHours
	} else {
		out.LimitWorkdays = &it.LimitWorkdays
	}
	return out
}

// listServiceItems answers GET /v1/service-items[?active=]: the catalogue
// by code.
func (s *Server) listServiceItems(c *gin.Context) error {
	active, filter, _ := queryActive(c)
	items, err := s.cfg.ServiceItems.ServiceItems(c.Request.Context())
	if err != nil {
		return err
	}
	out := make([]serviceItemOut, 0, len(items))
	for _, it := range items {
		if !filter || it.Active == active {
			out = append(out, serviceItemJSON(it))
		}
	}
	c.JSON(http.StatusOK, gin.H{"service_items": out})
	return nil
}

// getServiceItem answers GET /v1/service-items/{item}.
func (s *Server) getServiceItem(c *gin.Context) error {
	items, err := s.cfg.ServiceItems.ServiceItems(c.Request.Context())
	if err != nil {
		return err
	}
	for _, it := range items {
		if string(it.Code) == c.Param("item") {
			c.JSON(http.StatusOK, serviceItemJSON(it))
			return nil
		}
	}
	return geo.Errorf(geo.ENOTFOUND, "no service item %q", c.Param("item"))
}

// createServiceItem answers POST /v1/service-items (admin). A retry with
// the same Idempotency-Key and body returns the item first created (200);
// another body with that key is 422; a code already taken is 409.
func (s *Server) createServiceItem(c *gin.Context, req *geo.ServiceItemRequest) error {
	key := strings.TrimSpace(c.GetHeader("Idempotency-Key"))
	if len(key) > maxIdempotencyKey {
		return badParam("Idempotency-Key", "longer than %d characters", maxIdempotencyKey)
	}
	it, err := req.Check()
	if err != nil {
		return err
	}
	// The hash of the decoded request, so a retry that differs only in
	// spacing or member order is the same request.
	canonical, _ := json.Marshal(req)
	hash := sha256.Sum256(canonical)
	out, fresh, err := s.cfg.ServiceItems.CreateServiceItem(c.Request.Context(), it, callerName(c), key, hash[:], s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if fresh {
		status = http.StatusCreated
		s.limitsReload(c)
	}
	c.Header("Location", "/v1/service-items/"+string(out.Code))
	c.JSON(status, serviceItemJSON(out))
	return nil
}

// updateServiceItem answers PATCH /v1/service-items/{item} (admin): see
// geo.ServiceItemPatch.
func (s *Server) updateServiceItem(c *gin.Context, req *geo.ServiceItemPatch) error {
	out, err := s.cfg.ServiceItems.UpdateServiceItem(c.Request.Context(), geo.Category(c.Param("item")), callerName(c),
		s.cfg.Now().UTC(), req.Apply)
	if err != nil {
		return err
	}
	s.limitsReload(c)
	c.JSON(http.StatusOK, serviceItemJSON(out))
	return nil
}

// ReloadLimits reads the catalogue of service items and the holiday
// calendar into memory, where intake decides categories and due times
// from; a server without a ServiceItems store has nothing to read. The
// server calls it after its own writes; the program calls it at start and
// whenever another replica announces a change.
func (s *Server) ReloadLimits(ctx context.Context) error {
	if s.cfg.ServiceItems == nil {
		return nil
	}
	c, err := geo.LoadCatalogue(ctx, s.cfg.ServiceItems)
	if err != nil {
		return err
	}
	s.limits.Store(c)
	// A year whose notice is not entered counts working days by the
	// weekday rule and the statutory holidays alone, which the notice's
	// 补假 and 调休 make wrong: say so while limits set now can end in it.
	now := s.cfg.Now()
	for _, y := range []int{workcal.DateOf(now).Year, workcal.DateOf(now.AddDate(0, 3, 0)).Year} {
		if !c.Calendar.Covers(y) {
			s.log.Warn("the holiday calendar holds no day of this year: working days follow the weekday rule and the statutory holidays, without the notice's 补假 and 调休; enter the State Council's notice with PUT /v1/calendar/{date}", "year", y)
			break
		}
	}
	return nil
}

// Limits is the catalogue and calendar this server decides intake with,
// for the other deciders of the process (the escalator) to share.
func (s *Server) Limits() *geo.Limits { return &s.limits }

// limitsReload is ReloadLimits after a write of this replica; a failure
// is logged (the write stands, and the NOTIFY reload will retry).
func (s *Server) limitsReload(c *gin.Context) {
	if err := s.ReloadLimits(context.WithoutCancel(c.Request.Context())); err != nil {
		s.log.Warn("reloading the service items and calendar", "request_id", c.GetString(requestIDKey), "err", err)
	}
}
