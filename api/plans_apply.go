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

// ifMatchTags reads If-Match: the plan's ETag, "<generation>.<revision>"
// (several tags may be listed). RFC 9110 §13.1.1 compares If-Match
// strongly, so a weak tag (W/"…") never matches: it is dropped, and weak
// is true when one was. A strong tag of another form (an old "<generation>")
// matches no plan and reads as the zero tag, which apply answers 412.
func ifMatchTags(c *gin.Context) (tags []geo.PlanTag, weak bool, err error) {
	h := strings.TrimSpace(c.GetHeader("If-Match"))
	if h == "" {
		return nil, false, problemf(TypePreconditionRequired, http.StatusPreconditionRequired,
			`If-Match is required: send the plan's ETag, If-Match: "<base generation>.<revision>"`)
	}
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return nil, false, problemf(TypePreconditionRequired, http.StatusPreconditionRequired,
				`If-Match: * does not say which revision of the plan was reviewed: send its ETag, If-Match: "<base generation>.<revision>"`)
		}
		isWeak := strings.HasPrefix(t, "W/")
		raw, err := strconv.Unquote(strings.TrimPrefix(t, "W/"))
		if err != nil || !strings.HasPrefix(strings.TrimPrefix(t, "W/"), `"`) {
			return nil, false, badParam("If-Match", `got %q, want the plan's ETag, e.g. "3.7"`, truncate(h))
		}
		if isWeak {
			weak = true
			continue
		}
		tag, _ := geo.ParsePlanTag(raw)
		tags = append(tags, tag)
	}
	return tags, weak, nil
}

// blockedProblem is the 422 of apply: the problem with the validation
// report that blocks the plan.
type blockedProblem struct {
	Problem
	Validation validationJSON `json:"validation"`
}

// applyPlan answers POST /v1/plans/{id}/apply with If-Match on the plan's
// ETag: 428 without it, 412 when it names another revision or a weak tag
// or the base is no longer current, 409 when the plan changes nothing,
// 422 with the report when blocking problems remain, else the new
// generation, written in one transaction; this replica's snapshot is then
// rebuilt, and NOTIFY tells the others.
func (s *Server) applyPlan(c *gin.Context) error {
	store := s.cfg.Plans
	id := pathInt(c, "id")
	tags, weak, err := ifMatchTags(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	// Any tag listed that is the plan's will do; the store checks it again
	// under the generation lock, where a later edit makes it stale.
	var ifMatch geo.PlanTag
	if len(tags) > 0 {
		ifMatch = tags[0]
	}
	if len(tags) > 1 || weak {
		p, err := store.Plan(ctx, id, s.cfg.Now().UTC())
		if err != nil {
			return err
		}
		if len(tags) == 0 {
			c.Header("ETag", planETag(&p.Plan))
			return problemf(TypePreconditionFailed, http.StatusPreconditionFailed,
				"If-Match holds only weak tags, and If-Match compares strongly (RFC 9110): send the plan's ETag %s without W/", planETag(&p.Plan))
		}
		for _, t := range tags {
			if t == p.Tag() {
				ifMatch = t
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
		c.Header("ETag", strconv.Quote(stale.Tag.String()))
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
