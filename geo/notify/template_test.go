package notify

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseTemplate(t *testing.T) {
	vals := map[string]string{"phone": "13807381234", "text": "路灯坏了", "id": "m1"}
	for _, tc := range []struct {
		name    string
		tmpl    string
		want    string // rendered with vals, no escaping
		wantErr string
	}{
		{"json braces are literal", `{"phone":"{phone}","text":"{text}"}`, `{"phone":"13807381234","text":"路灯坏了"}`, ""},
		{"nested object", `{"a":{"b":"{id}"}}`, `{"a":{"b":"m1"}}`, ""},
		{"form", `mobile={phone}&msg={text}`, `mobile=13807381234&msg=路灯坏了`, ""},
		{"adjacent placeholders", `{phone}{text}{id}`, `13807381234路灯坏了m1`, ""},
		{"placeholder at the ends", `{id}-{id}`, `m1-m1`, ""},
		{"missing value is empty", `[{grid}]`, `[]`, ""},
		{"empty braces", `{}{ }{phone`, `{}{ }{phone`, ""},
		{"upper case is not a placeholder", `{PHONE}`, `{PHONE}`, ""},
		{"unclosed at the end", `x{`, `x{`, ""},
		{"unknown placeholder", `{"to":"{mobile}"}`, "", "unknown placeholder {mobile}"},
		{"typo", `{nmuber}`, "", "unknown placeholder {nmuber}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm, err := parseTemplate(tc.tmpl)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseTemplate = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(tm.render(vals, escapeNone)); got != tc.want {
				t.Errorf("render = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEscapers(t *testing.T) {
	in := "a\"b\\c\nd&e=f<g>\u2028h 100%"
	for _, tc := range []struct {
		esc  escaper
		want string
	}{
		{escapeJSON, `a\"b\\c\nd&e=f<g>\u2028h 100%`},
		{escapeForm, `a%22b%5Cc%0Ad%26e%3Df%3Cg%3E%E2%80%A8h+100%25`},
		{escapeXML, `a&#34;b\c&#xA;d&amp;e=f&lt;g&gt;` + "\u2028" + `h 100%`},
		{escapeNone, in},
	} {
		if got := tc.esc.escape(in); got != tc.want {
			t.Errorf("escaper %d: %q, want %q", tc.esc, got, tc.want)
		}
	}
}

// FuzzBodyTemplate checks the template renderer on arbitrary templates and
// values:
//   - parsing and rendering never panic;
//   - rendering with empty values gives the template without its
//     placeholders, so literal text is never altered;
//   - a JSON template that is valid with sample values stays valid JSON
//     whatever the values, and a value inside a JSON string or a form field
//     comes back intact (as valid UTF-8) when the body is decoded.
func FuzzBodyTemplate(f *testing.F) {
	f.Add(`{"phone":"{phone}","text":"{text}"}`, "路灯坏了")
	f.Add(`phone={phone}&text={text}`, "a&b=c")
	f.Add(`{"a":{"b":"{text}"},"c":"\\{id}"}`, "\"\\\n")
	f.Add(`{text}`, "\xff\xfe")
	f.Add(`{"x":"\u12{text}"}`, "34")
	f.Add(`{{phone}}`, "}")
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		if len(tmpl) > maxTemplate || len(value) > 2048 {
			return // Validate refuses longer templates; keep each run fast
		}
		tm, err := parseTemplate(tmpl)
		if err != nil {
			return
		}
		empty := string(tm.render(nil, escapeJSON))
		var stripped strings.Builder
		for _, p := range tm.parts {
			stripped.WriteString(p.lit)
		}
		if empty != stripped.String() {
			t.Fatalf("empty render %q != literals %q", empty, stripped.String())
		}
		all := map[string]string{}
		for n := range placeholders {
			all[n] = value
		}
		if json.Valid(tm.render(sampleValues(), escapeJSON)) {
			if body := tm.render(all, escapeJSON); !json.Valid(body) {
				t.Fatalf("template %q valid with samples, invalid with %q: %s", tmpl, value, body)
			}
		}
		want := strings.ToValidUTF8(value, "\uFFFD")
		// A value in a JSON string comes back intact.
		js, _ := parseTemplate(`{"text":"{text}"}`)
		var got struct{ Text string }
		if err := json.Unmarshal(js.render(all, escapeJSON), &got); err != nil || got.Text != want {
			t.Fatalf("JSON round trip of %q: got %q, %v", value, got.Text, err)
		}
		// A value in a form field comes back intact.
		fm, _ := parseTemplate(`text={text}&phone={phone}`)
		q, err := url.ParseQuery(string(fm.render(all, escapeForm)))
		if err != nil || q.Get("text") != want || q.Get("phone") != want || len(q) != 2 {
			t.Fatalf("form round trip of %q: got %v, %v", value, q, err)
		}
		if !utf8.Valid(tm.render(all, escapeNone)) && utf8.ValidString(tmpl) {
			t.Fatalf("rendering %q into a valid template gave invalid UTF-8", value)
		}
	})
}
