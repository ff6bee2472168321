package open311_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/open311"
)

var services = []open311.Service{{Code: "dispute", Name: "矛盾纠纷"}, {Code: "safety", Name: "安全隐患"}}

func TestReporterName(t *testing.T) {
	for _, tt := range []struct{ first, last, want string }{
		{"秀英", "李", "李秀英"},
		{"John", "Smith", "John Smith"},
		{"", "李", "李"},
		{"秀英", "", "秀英"},
		{"阿依古丽", "买买提·", "买买提·阿依古丽"},
		{"Xiuying", "李", "Xiuying 李"},
	} {
		if got := open311.ReporterName(tt.first, tt.last); got != tt.want {
			t.Errorf("ReporterName(%q, %q) = %q, want %q", tt.first, tt.last, got, tt.want)
		}
	}
}

// TestStatus: every status of the closed loop reads as open or closed;
// closed is completed (verified, closed) or ended (cancelled, merged);
// resolved, which waits for verification, is still open.
func TestStatus(t *testing.T) {
	all := append(slices.Clone(geo.Statuses), "cancelled", "merged", "suspended")
	want := map[geo.Status]string{geo.StReceived: "open", geo.StDispatched: "open", geo.StAccepted: "open",
		geo.StInProgress: "open", geo.StResolved: "open", geo.StVerified: "closed", geo.StClosed: "closed",
		geo.StRejected: "open", geo.StReopened: "open", "cancelled": "closed", "merged": "closed", "suspended": "open"}
	for _, st := range all {
		if got := open311.Status(st); got != want[st] {
			t.Errorf("Status(%s) = %s, want %s", st, got, want[st])
		}
	}
	open, closed := open311.Statuses("open", all), open311.Statuses("closed", all)
	if len(open)+len(closed) != len(all) || slices.Contains(open, geo.StClosed) || !slices.Contains(closed, geo.StVerified) {
		t.Errorf("open %v, closed %v: want a partition of %v", open, closed, all)
	}
}

func TestParseSubmission(t *testing.T) {
	base := url.Values{"service_code": {"safety"}, "lat": {"27.1"}, "long": {"112.1"}, "description": {"桥栏杆断了"},
		"first_name": {"秀英"}, "last_name": {"李"}, "phone": {"139 1234 5678"}, "email": {"li@example.cn"},
		"media_url": {"https://example.cn/1.jpg"}, "address_string": {"一村"}, "jurisdiction_id": {"431321101"}}
	sub, err := open311.ParseSubmission(base, services)
	if err != nil {
		t.Fatal(err)
	}
	req := sub.Incident
	if req.Category != "safety" || *req.Lon != 112.1 || *req.Lat != 27.1 || req.CRS != "wgs84" || req.ReporterName != "李秀英" ||
		req.Severity != string(geo.SevMinor) || req.Source != "open311" || !slices.Contains(geo.Sources, geo.Source(req.Source)) {
		t.Errorf("incident request %+v", req)
	}
	if sub.Extras.Address != "一村" || sub.Extras.Email != "li@example.cn" || sub.Extras.Jurisdiction != "431321101" {
		t.Errorf("extras %+v", sub.Extras)
	}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for key, vs := range base {
			out[key] = vs
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = []string{v}
		}
		return out
	}
	for _, tt := range []struct {
		name  string
		form  url.Values
		code  string
		where string
	}{
		{"unknown service", with("service_code", "pothole"), geo.ENOTFOUND, ""},
		{"no service", with("service_code", ""), geo.EINVALID, "service_code"},
		{"lat alone", with("long", ""), geo.EINVALID, "lat"},
		{"lat not a number", with("lat", "north"), geo.EINVALID, "lat"},
		{"address alone", func() url.Values { v := with("lat", ""); delete(v, "long"); return v }(), geo.EINVALID, "lat"},
		{"attribute", with("attribute[x]", "1"), geo.EINVALID, "attribute[x]"},
		{"4,001 characters", with("description", strings.Repeat("长", 4001)), geo.EINVALID, "description"},
		{"e-mail with a name", with("email", "Li <li@example.cn>"), geo.EINVALID, "email"},
		{"ftp media", with("media_url", "ftp://example.cn/1.jpg"), geo.EINVALID, "media_url"},
		{"device id with a newline", with("device_id", "a\nb"), geo.EINVALID, "device_id"},
	} {
		_, err := open311.ParseSubmission(tt.form, services)
		var ge *geo.Error
		if geo.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		} else if tt.where != "" && (!errorsAs(err, &ge) || ge.Problems[0].Where != tt.where) {
			t.Errorf("%s: %v, want a problem at %s", tt.name, err, tt.where)
		}
	}
}

func errorsAs(err error, ge **geo.Error) bool {
	e, ok := err.(*geo.Error)
	*ge = e
	return ok && len(e.Problems) > 0
}

// TestParseQuery: the range defaults to the 90 days before now, includes
// end_date, may not exceed 90 days; lists are comma-separated and may be
// repeated.
func TestParseQuery(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	q, err := open311.ParseQuery(url.Values{}, services, now)
	if err != nil || !q.From.Equal(now.Add(-open311.MaxSpan)) || !q.To.Equal(now.Add(time.Microsecond)) {
		t.Errorf("default range %v..%v (%v), want the 90 days up to now, now included", q.From, q.To, err)
	}
	q, err = open311.ParseQuery(url.Values{"start_date": {"2026-11-01T00:00:00+08:00"}, "end_date": {"2026-11-02T00:00:00+08:00"},
		"service_code": {"safety,dispute", "safety"}, "status": {"open"}, "service_request_id": {"WG00000001,WG00000002"}}, services, now)
	if err != nil || !q.From.Equal(time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC)) || len(q.Services) != 2 || len(q.IDs) != 2 || q.Statuses[0] != "open" {
		t.Errorf("query %+v (%v)", q, err)
	}
	for _, tt := range []struct {
		name  string
		v     url.Values
		where string
	}{
		{"91 days", url.Values{"start_date": {"2026-01-01T00:00:00Z"}, "end_date": {"2026-04-02T00:00:00Z"}}, "end_date"},
		{"end before start", url.Values{"start_date": {"2026-01-02T00:00:00Z"}, "end_date": {"2026-01-01T00:00:00Z"}}, "end_date"},
		{"no time zone", url.Values{"start_date": {"2026-01-02T00:00:00"}}, "start_date"},
		{"a bare date", url.Values{"end_date": {"2026-01-02"}}, "end_date"},
		{"unknown service", url.Values{"service_code": {"safety,pothole"}}, "service_code"},
		{"unknown status", url.Values{"status": {"open,pending"}}, "status"},
		{"an id with a slash", url.Values{"service_request_id": {"WG1/2"}}, "service_request_id"},
	} {
		_, err := open311.ParseQuery(tt.v, services, now)
		var ge *geo.Error
		if !errorsAs(err, &ge) || ge.Code != geo.EINVALID || ge.Problems[0].Where != tt.where {
			t.Errorf("%s: %v, want EINVALID at %s", tt.name, err, tt.where)
		}
	}
}

func TestCheckJurisdiction(t *testing.T) {
	town := geo.Town{Code: "431321101", Name: "荷叶镇"}
	for _, tt := range []struct {
		given string
		code  string
	}{{"", ""}, {"431321101", ""}, {"sfgov.org", geo.ENOTFOUND}, {"431321", geo.ENOTFOUND}} {
		if got := geo.ErrorCode(open311.CheckJurisdiction(tt.given, town, []geo.Town{town})); got != tt.code {
			t.Errorf("CheckJurisdiction(%q) = %q, want %q", tt.given, got, tt.code)
		}
	}
}

func TestToken(t *testing.T) {
	a, b := open311.NewToken(), open311.NewToken()
	if a == b || !open311.ValidToken(a) || open311.ValidToken(a[1:]) || open311.ValidToken(strings.Repeat("!", 22)) {
		t.Errorf("tokens %q %q", a, b)
	}
}

func TestUnknown(t *testing.T) {
	if got := open311.Unknown([]string{"lat", "zeta", "alpha", "attribute[x]"}, open311.PostParams, true); got != "alpha" {
		t.Errorf("Unknown = %q, want alpha (the first in name order)", got)
	}
	if got := open311.Unknown([]string{"attribute[x]"}, open311.QueryParams, false); got != "attribute[x]" {
		t.Errorf("Unknown on a GET = %q, want attribute[x]", got)
	}
}
