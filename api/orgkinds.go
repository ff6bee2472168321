package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// This file serves the catalogue of organization kinds per town (issue
// 13, item 6): anyone lists it; admins add, rename and delete kinds. The
// town is ?town=, else the caller's own (a town's token), else the
// deployment's only town; with several towns and none given, 400. A kind
// organizations of the town have cannot be deleted (409). A kind's
// co_notify (the categories of incident that co-notify its organizations)
// replaces --co-notify for it; a write reloads the snapshot, which routing
// reads it from.

// orgKindRoutes registers the organization-kind endpoints under /v1.
func (s *Server) orgKindRoutes(v1 router) {
	pTown := param{"town", func(c *gin.Context) error { _, err := s.catalogueTown(c); return err }}
	v1.GET("/organization-kinds", endpoint{query: []param{pTown}}, s.listOrgKinds)
	v1.GET("/organization-kinds/:kind", endpoint{query: []param{pTown}}, s.getOrgKind)
	admin := v1.with(s.require(geo.AccessAdmin))
	admin.PUT("/organization-kinds/:kind", endpoint{query: []param{pTown}}, withBody(s.putOrgKind))
	admin.DELETE("/organization-kinds/:kind", endpoint{query: []param{pTown}}, s.deleteOrgKind)
}

// orgKindStore is the store of the catalogues (the organizations' store
// keeps them), or the 503 of a server without one.
func (s *Server) orgKindStore() (geo.OrgKindStore, error) {
	if st, ok := s.cfg.Organizations.(geo.OrgKindStore); ok {
		return st, nil
	}
	return nil, problemf(TypeUnavailable, http.StatusServiceUnavailable, "the catalogue of organization kinds is not available on this server")
}

// catalogueTown is the town a per-town catalogue request is about:
// ?town=, else the caller's town, else the only town of the deployment.
func (s *Server) catalogueTown(c *gin.Context) (string, error) {
	town, err := s.queryTown(c)
	if err != nil || town != "" {
		return town, err
	}
	snap := s.registry.Load()
	switch {
	case snap == nil || len(snap.Towns) == 0:
		return "", problemf(TypeUnavailable, http.StatusServiceUnavailable, "the deployment holds no town yet")
	case len(snap.Towns) > 1:
		return "", badParam("town", "required: the deployment holds %d towns; give the 9-digit code of one", len(snap.Towns))
	}
	return snap.Towns[0].Code, nil
}

// knownOrgKind is nil when some town's catalogue holds the kind raw (a
// filter over organizations), else the 400 naming where.
func (s *Server) knownOrgKind(c *gin.Context, where, raw string) error {
	k := geo.OrgKind(raw)
	if k.WellFormed() {
		st, err := s.orgKindStore()
		if err != nil {
			return err
		}
		ok, err := st.OrgKindKnown(c.Request.Context(), "", k)
		if ok || err != nil {
			return err
		}
	}
	return badParam(where, "got %q, not a kind of any town's catalogue (GET /v1/organization-kinds)", truncate(raw))
}

type orgKindOut struct {
	Town        string      `json:"town"`
	Code        geo.OrgKind `json:"code"`
	NameZh      string      `json:"name_zh"`
	Description string      `json:"description"`
	Position    int         `json:"position"`
	InUse       int         `json:"organizations"`
	// CoNotify is the catalogue's setting (null: --co-notify's);
	// CoNotifyDefault what --co-notify says of the kind.
	CoNotify        []geo.Category `json:"co_notify"`
	CoNotifyDefault []geo.Category `json:"co_notify_default"`
	UpdatedAt       time.Time      `json:"updated_at"`
}

func (s *Server) orgKindJSON(e geo.OrgKindEntry) orgKindOut {
	out := orgKindOut{Town: e.TownCode, Code: e.Code, NameZh: e.NameZh, Description: e.Description, Position: e.Position,
		InUse: e.InUse, CoNotify: e.CoNotify, CoNotifyDefault: []geo.Category{}, UpdatedAt: e.UpdatedAt}
	for _, c := range geo.Categories {
		if k, ok := s.cfg.Dispatch.CoNotify[c]; ok && k == e.Code {
			out.CoNotifyDefault = append(out.CoNotifyDefault, c)
		}
	}
	return out
}

// listOrgKinds answers GET /v1/organization-kinds[?town=].
func (s *Server) listOrgKinds(c *gin.Context) error {
	st, err := s.orgKindStore()
	if err != nil {
		return err
	}
	town, err := s.catalogueTown(c)
	if err != nil {
		return err
	}
	kinds, err := st.OrgKinds(c.Request.Context(), town)
	if err != nil {
		return err
	}
	out := make([]orgKindOut, len(kinds))
	for i, k := range kinds {
		out[i] = s.orgKindJSON(k)
	}
	c.JSON(http.StatusOK, gin.H{"town": town, "organization_kinds": out})
	return nil
}

// pathOrgKind is the kind of the request's path, or the 400 of a
// malformed one.
func pathOrgKind(c *gin.Context) (geo.OrgKind, error) {
	k := geo.OrgKind(c.Param("kind"))
	if !k.WellFormed() {
		return k, badParam("kind", "got %q, want 1 to 40 lowercase letters, digits or _, starting with a letter", truncate(string(k)))
	}
	return k, nil
}

// findOrgKind returns the kind of the request's path in its town's
// catalogue; ok is false when the town has none.
func (s *Server) findOrgKind(c *gin.Context, st geo.OrgKindStore, town string) (geo.OrgKindEntry, bool, error) {
	kinds, err := st.OrgKinds(c.Request.Context(), town)
	if err != nil {
		return geo.OrgKindEntry{}, false, err
	}
	for _, k := range kinds {
		if string(k.Code) == c.Param("kind") {
			return k, true, nil
		}
	}
	return geo.OrgKindEntry{}, false, nil
}

// getOrgKind answers GET /v1/organization-kinds/{kind}[?town=].
func (s *Server) getOrgKind(c *gin.Context) error {
	st, err := s.orgKindStore()
	if err != nil {
		return err
	}
	town, err := s.catalogueTown(c)
	if err != nil {
		return err
	}
	if _, err := pathOrgKind(c); err != nil {
		return err
	}
	k, ok, err := s.findOrgKind(c, st, town)
	if err != nil {
		return err
	} else if !ok {
		return geo.Errorf(geo.ENOTFOUND, "town %s has no organization kind %q", town, truncate(c.Param("kind")))
	}
	c.JSON(http.StatusOK, s.orgKindJSON(k))
	return nil
}

// putOrgKind answers PUT /v1/organization-kinds/{kind}[?town=] (admin):
// 201 when the kind is new to the town, 200 when it changed.
func (s *Server) putOrgKind(c *gin.Context, req *geo.OrgKindRequest) error {
	st, err := s.orgKindStore()
	if err != nil {
		return err
	}
	town, err := s.catalogueTown(c)
	if err != nil {
		return err
	}
	e, err := req.Check(town, geo.OrgKind(c.Param("kind")), s.limits.Categories(true))
	if err != nil {
		return err
	}
	out, created, err := st.PutOrgKind(c.Request.Context(), e, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	s.orgReload(c)
	if k, ok, err := s.findOrgKind(c, st, town); err == nil && ok {
		out = k
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.Header("Location", "/v1/organization-kinds/"+string(out.Code)+"?town="+town)
	c.JSON(status, s.orgKindJSON(out))
	return nil
}

// deleteOrgKind answers DELETE /v1/organization-kinds/{kind}[?town=]
// (admin): 204, 404 if the town has no such kind, 409 while organizations
// have it.
func (s *Server) deleteOrgKind(c *gin.Context) error {
	st, err := s.orgKindStore()
	if err != nil {
		return err
	}
	town, err := s.catalogueTown(c)
	if err != nil {
		return err
	}
	kind, err := pathOrgKind(c)
	if err != nil {
		return err
	}
	if err := st.DeleteOrgKind(c.Request.Context(), town, kind, callerName(c), s.cfg.Now().UTC()); err != nil {
		return err
	}
	s.orgReload(c)
	c.Status(http.StatusNoContent)
	return nil
}
