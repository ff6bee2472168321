package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"wangge/geo"
	"wangge/geo/workcal"
)

// This file serves the holiday calendar that working-day limits count on:
// the statutory holidays (放假) and the weekend days worked instead
// (调休上班), shipped for the years whose State Council notice was
// published and edited by an admin when the next one comes out.
// Dispatchers read it; only admins write. A write reloads this replica's
// calendar at once; the store's NOTIFY tells the others.

// calendarRoutes registers the calendar endpoints under /v1.
func (s *Server) calendarRoutes(v1 router) {
	read := v1.with(s.require(geo.AccessDispatcher))
	read.GET("/calendar", endpoint{needs: needServiceItems, query: []param{pYear}}, s.listCalendar)
	admin := v1.with(s.require(geo.AccessAdmin))
	admin.PUT("/calendar/:date", endpoint{needs: needServiceItems}, withBody(s.putCalendarDay))
	admin.DELETE("/calendar/:date", endpoint{needs: needServiceItems}, s.deleteCalendarDay)
}

// pYear is ?year= of the calendar: 2000..2100.
var pYear = param{"year", func(c *gin.Context) error { _, err := queryYear(c); return err }}

func queryYear(c *gin.Context) (int, error) {
	raw, ok := c.GetQuery("year")
	if !ok {
		return 0, nil
	}
	y, err := strconv.Atoi(raw)
	if err != nil || y < 2000 || y > 2100 {
		return 0, badParam("year", "got %q, want a year 2000..2100", truncate(raw))
	}
	return y, nil
}

// listCalendar answers GET /v1/calendar[?year=]: the listed days (of year,
// if given) in date order, and the years the calendar covers, that is
// whose notice has been entered; days of other years follow the weekday
// rule alone.
func (s *Server) listCalendar(c *gin.Context) error {
	year, _ := queryYear(c)
	days, err := s.cfg.ServiceItems.CalendarDays(c.Request.Context())
	if err != nil {
		return err
	}
	cal, err := workcal.New(days)
	if err != nil {
		return err
	}
	out := make([]workcal.Day, 0, len(days))
	for _, d := range days {
		if year == 0 || d.Date.Year == year {
			out = append(out, d)
		}
	}
	c.JSON(http.StatusOK, gin.H{"years": cal.Years(), "days": out})
	return nil
}

// pathDate returns the {date} path parameter the adapter has checked.
func pathDate(c *gin.Context) workcal.Date {
	d, _ := workcal.ParseDate(c.Param("date"))
	return d
}

// putCalendarDay answers PUT /v1/calendar/{date} (admin): the day becomes
// a holiday or a working day; 201 when the calendar did not list it, 200
// when it replaced what it listed.
func (s *Server) putCalendarDay(c *gin.Context, req *geo.CalendarDayRequest) error {
	day, err := req.Check(pathDate(c))
	if err != nil {
		return err
	}
	created, err := s.cfg.ServiceItems.PutCalendarDay(c.Request.Context(), day, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	s.limitsReload(c)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, day)
	return nil
}

// deleteCalendarDay answers DELETE /v1/calendar/{date} (admin): the day
// follows the weekday rule again. 404 if the calendar does not list it.
func (s *Server) deleteCalendarDay(c *gin.Context) error {
	if err := s.cfg.ServiceItems.DeleteCalendarDay(c.Request.Context(), pathDate(c), callerName(c), s.cfg.Now().UTC()); err != nil {
		return err
	}
	s.limitsReload(c)
	c.Status(http.StatusNoContent)
	return nil
}
