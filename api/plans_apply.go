package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"wangge/geo"
	"wangge/geo/chinacrs"
)

// ifMatchGeneration reads If-Match: "<generation>" (a weak W/ prefix is
// tolerated; several tags may be listed). It returns the generations named.
func ifMatchGeneration(c *gin.Context) ([]int64, error) {
	h := strings.TrimSpace(c.GetHeader("If-Match"))
	if h == "" {
		return nil, problemf(TypePreconditionRequired, http.StatusPreconditionRequired,
			`If-Match is required: send the plan's ETag, If-Match: "<base generation>"`)
	}
	var gens []int64
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" {
			return nil, problemf(TypePreconditionRequired, http.StatusPreconditionRequired,
				`If-Match: * does not say which generation the plan was reviewed on: send If-Match: "<base generation>"`)
		}
		raw, err := strconv.Unquote(t)
		if err != nil {
			raw = t
		}
		g, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || g <= 0 {
			return nil, badParam("If-Match", `got %q, want the plan's ETag, e.g. "3"`, truncate(h))
		}
		gens = append(gens, g)
	}
	return gens, nil
}

// blockedProblem is the 422 of apply: the problem with the validation
// report that blocks the plan.
type blockedProblem struct {
	Problem
	Validation validationJSON `json:"validation"`
}

// applyPlan answers POST /v1/plans/{id}/apply with If-Match on the plan's
// base generation: 428 without it, 412 when the base is no longer current,
// 422 with the report when blocking problems remain, else the new
// generation, written in one transaction; this replica's snapshot is then
// rebuilt, and NOTIFY tells the others.
func (s *Server) applyPlan(c *gin.Context) error {
	store := s.cfg.Plans
	id := pathInt(c, "id")
	gens, err := ifMatchGeneration(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	// Any generation listed that is the plan's base will do; the store
	// checks it again under the generation lock.
	ifMatch := gens[0]
	if len(gens) > 1 {
		p, err := store.Plan(ctx, id, s.cfg.Now().UTC())
		if err != nil {
			return err
		}
		for _, g := range gens {
			if g == p.BaseGeneration {
				ifMatch = g
			}
		}
	}
	p, err := store.ApplyPlan(ctx, id, ifMatch, callerName(c), s.cfg.Now().UTC())
	var stale *geo.StaleBaseError
	var blocked *geo.BlockingError
	switch {
	case errors.As(err, &stale):
		pr := problemf(TypePreconditionFailed, http.StatusPreconditionFailed, "%s", stale.Error())
		pr.Errors = []geo.Problem{{Where: "If-Match", Reason: stale.Error()}}
		c.Header("ETag", strconv.Quote(strconv.FormatInt(stale.Base, 10)))
		return pr
	case errors.As(err, &blocked):
		pr := problemf(TypePlanBlocked, http.StatusUnprocessableEntity, "%s", blocked.Error())
		pr.Errors = blocked.Report.Problems()
		pr.Instance, pr.RequestID = c.Request.URL.Path, c.GetString(requestIDKey)
		body, err := json.Marshal(blockedProblem{Problem: *pr, Validation: validationOut(blocked.Report, chinacrs.WGS84)})
		if err != nil {
			return err
		}
		c.Data(http.StatusUnprocessableEntity, ProblemContentType, body)
		return nil
	case err != nil:
		return err
	}
	if s.cfg.Reload != nil {
		// The generation is committed; a failed reload only delays this
		// replica, which the NOTIFY also reaches.
		if err := s.cfg.Reload(ctx); err != nil {
			s.log.Warn("reloading the snapshot after an apply", "plan", id, "generation", p.AppliedGeneration, "err", err)
		}
	}
	c.JSON(http.StatusOK, gin.H{"plan": planOut(p), "generation": p.AppliedGeneration})
	return nil
}
