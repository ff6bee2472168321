package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// This file serves party members (issue 13, item 5): a person's party
// attribute with their 党员小组 and 联系户 links (personal data:
// dispatchers and admins read it, admins write it); the links themselves;
// and the counts per grid and village, open to every caller as counts.
// 党员小组 are organizations of kind party_group: their members and the
// grids they serve are managed, with history, by /v1/organizations.

// partyRoutes registers the party endpoints under /v1.
func (s *Server) partyRoutes(v1 router) {
	v1.GET("/party/stats", endpoint{query: append(read("town", "by"), pAt)}, s.partyStats)
	reader := v1.with(s.require(geo.AccessDispatcher))
	reader.GET("/people/:id/party", endpoint{query: []param{pAt}}, s.getPartyMember)
	admin := v1.with(s.require(geo.AccessAdmin))
	admin.PUT("/people/:id/party", endpoint{}, withBody(s.putPartyMember))
	admin.POST("/party-links", endpoint{}, withBody(s.createPartyLink))
	admin.POST("/party-links/:id/end", endpoint{}, withBody(s.endPartyLink))
}

// partyStore is the store of party members (the people's store keeps
// them), or the 503 of a server without one.
func (s *Server) partyStore() (geo.PartyStore, error) {
	if st, ok := s.cfg.People.(geo.PartyStore); ok {
		return st, nil
	}
	return nil, problemf(TypeUnavailable, http.StatusServiceUnavailable, "party members are not available on this server")
}

type partyLinkOut struct {
	ID         int64      `json:"id"`
	Person     int64      `json:"person"`
	Grid       string     `json:"grid"`
	Households int        `json:"households"`
	From       time.Time  `json:"from"`
	To         *time.Time `json:"to"`
}

func partyLinkJSON(l geo.PartyLink) partyLinkOut {
	out := partyLinkOut{ID: l.ID, Person: l.PersonID, Grid: l.GridCode, Households: l.Households, From: l.From}
	if !l.To.IsZero() {
		out.To = &l.To
	}
	return out
}

type partyMemberOut struct {
	Person    int64          `json:"person"`
	Member    bool           `json:"member"`
	JoinedOn  *string        `json:"joined_on"`
	Groups    []orgRefOut    `json:"groups"`
	Links     []partyLinkOut `json:"links"`
	UpdatedAt time.Time      `json:"updated_at"`
}

type orgRefOut struct {
	Kind geo.OrgKind `json:"kind"`
	Name string      `json:"name"`
}

func partyMemberJSON(m geo.PartyMember) partyMemberOut {
	out := partyMemberOut{Person: m.PersonID, Member: m.Member, Groups: []orgRefOut{}, Links: []partyLinkOut{}, UpdatedAt: m.UpdatedAt}
	if !m.JoinedOn.IsZero() {
		d := m.JoinedOn.Format(time.DateOnly)
		out.JoinedOn = &d
	}
	for _, g := range m.Groups {
		out.Groups = append(out.Groups, orgRefOut{Kind: g.Kind, Name: g.Name})
	}
	for _, l := range m.Links {
		out.Links = append(out.Links, partyLinkJSON(l))
	}
	return out
}

// getPartyMember answers GET /v1/people/{id}/party[?at=] (dispatchers):
// the attribute, and the 党员小组 and links at at (default now).
func (s *Server) getPartyMember(c *gin.Context) error {
	st, err := s.partyStore()
	if err != nil {
		return err
	}
	id, err := parseID("id", c.Param("id"))
	if err != nil {
		return err
	}
	at, err := queryTime(c, "at", s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	m, err := st.PartyMember(c.Request.Context(), id, at)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, partyMemberJSON(m))
	return nil
}

// putPartyMember answers PUT /v1/people/{id}/party (admin).
func (s *Server) putPartyMember(c *gin.Context, req *geo.PartyMemberRequest) error {
	st, err := s.partyStore()
	if err != nil {
		return err
	}
	id, err := parseID("id", c.Param("id"))
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	m, err := req.Check(id, now)
	if err != nil {
		return err
	}
	out, err := st.PutPartyMember(c.Request.Context(), m, callerName(c), now)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, partyMemberJSON(out))
	return nil
}

// createPartyLink answers POST /v1/party-links (admin): 201.
func (s *Server) createPartyLink(c *gin.Context, req *geo.PartyLinkRequest) error {
	st, err := s.partyStore()
	if err != nil {
		return err
	}
	snap := s.registry.Load()
	if snap == nil {
		return problemf(TypeUnavailable, http.StatusServiceUnavailable, "no town is loaded yet")
	}
	now := s.cfg.Now().UTC()
	l, err := req.Check(snap, now)
	if err != nil {
		return err
	}
	if !callerTown(c).Covers(l.GridCode) {
		return s.outsideTown(c, "grid "+l.GridCode, geo.TownCodeOf(l.GridCode))
	}
	out, err := st.AddPartyLink(c.Request.Context(), l, callerName(c), now)
	if err != nil {
		return err
	}
	c.Header("Location", "/v1/people/"+strconv.FormatInt(out.PersonID, 10)+"/party")
	c.JSON(http.StatusCreated, partyLinkJSON(out))
	return nil
}

// endPartyLink answers POST /v1/party-links/{id}/end (admin): the link
// ends at to (default now).
func (s *Server) endPartyLink(c *gin.Context, req *geo.EndRequest) error {
	st, err := s.partyStore()
	if err != nil {
		return err
	}
	id, err := parseID("id", c.Param("id"))
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	to, err := req.Check(now)
	if err != nil {
		return err
	}
	out, err := st.EndPartyLink(c.Request.Context(), id, to, callerName(c), now)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, partyLinkJSON(out))
	return nil
}

type partyCountOut struct {
	Code             string `json:"code"`
	Name             string `json:"name"`
	Members          int    `json:"party_members"`
	Groups           int    `json:"party_groups"`
	LinkedMembers    int    `json:"linked_members"`
	LinkedHouseholds int    `json:"linked_households"`
}

// partyStats answers GET /v1/party/stats?by=grid|village[&town=&at=]:
// per grid or village, the party members in the 党员小组 serving it, those
// groups, the members with 联系户 links there and the households linked.
// Counts only: no person is named. A member serving several grids counts
// in each, so no total is given.
func (s *Server) partyStats(c *gin.Context) error {
	st, err := s.partyStore()
	if err != nil {
		return err
	}
	by := c.DefaultQuery("by", "grid")
	if !geo.ValidPartyGrouping(by) {
		return badParam("by", "got %q, want one of %v", truncate(by), geo.PartyGroupings)
	}
	town, err := s.queryTown(c)
	if err != nil {
		return err
	}
	at, err := queryTime(c, "at", s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	counts, err := st.PartyCounts(c.Request.Context(), town, by, at)
	if err != nil {
		return err
	}
	snap := s.registry.Load()
	out := make([]partyCountOut, len(counts))
	for i, n := range counts {
		out[i] = partyCountOut{Code: n.Code, Members: n.Members, Groups: n.Groups, LinkedMembers: n.LinkedMembers, LinkedHouseholds: n.LinkedHouseholds}
		if snap != nil {
			if g, ok := snap.Grid(n.Code); ok {
				out[i].Name = g.Name
			} else if v, ok := snap.Village(n.Code); ok {
				out[i].Name = v.Name
			}
		}
	}
	c.JSON(http.StatusOK, gin.H{"by": by, "at": at, "counts": out})
	return nil
}
