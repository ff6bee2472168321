package notify

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"sort"
	"strings"
)

// Placeholders of an SMS body template, each written {name}. Values are
// escaped for the body's content type when the template is rendered.
var placeholders = map[string]string{
	"id":       "the message ID (stable across retries)",
	"phone":    "the recipient's mobile number",
	"name":     "the recipient's name",
	"text":     "the rendered text, cut to max_runes",
	"title":    "the rendered title",
	"kind":     "the message kind (routed, overdue, …)",
	"number":   "the incident number",
	"grid":     "the grid name",
	"category": "the incident category",
	"due":      "the due time as 12月3日 14:00",
	"link":     "the link to the incident",
	"secret":   "the channel's secret (an API key kept sealed at rest)",
}

// placeholderList is the placeholders as "{id} {phone} …", for messages.
func placeholderList() string {
	names := make([]string, 0, len(placeholders))
	for n := range placeholders {
		names = append(names, "{"+n+"}")
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// maxTemplate is the longest body template Validate accepts, in bytes.
const maxTemplate = 8 << 10

// bodyTemplate is a parsed body template: literal text and placeholders.
type bodyTemplate struct {
	parts []tmplPart
}

// tmplPart is literal text, or a placeholder when name is set.
type tmplPart struct {
	lit, name string
}

// parseTemplate splits s into literals and placeholders. A placeholder is
// "{" lower-case letters or underscores "}"; any other brace is literal, so
// the braces of a JSON template need no escaping. A well-formed placeholder
// with an unknown name is an error, so a typo is found when the channel is
// configured rather than when a grid leader gets "{nmuber}".
func parseTemplate(s string) (*bodyTemplate, error) {
	t := &bodyTemplate{}
	lit := 0 // start of the pending literal
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] == '_') {
			j++
		}
		if j == i+1 || j >= len(s) || s[j] != '}' {
			continue
		}
		name := s[i+1 : j]
		if _, ok := placeholders[name]; !ok {
			return nil, fmt.Errorf("unknown placeholder {%s}; want one of %s", name, placeholderList())
		}
		if lit < i {
			t.parts = append(t.parts, tmplPart{lit: s[lit:i]})
		}
		t.parts = append(t.parts, tmplPart{name: name})
		lit = j + 1
		i = j
	}
	if lit < len(s) {
		t.parts = append(t.parts, tmplPart{lit: s[lit:]})
	}
	return t, nil
}

// uses reports whether the template has the placeholder name.
func (t *bodyTemplate) uses(name string) bool {
	for _, p := range t.parts {
		if p.name == name {
			return true
		}
	}
	return false
}

// render writes the template with each placeholder replaced by its value,
// escaped by esc. A missing value is empty. Values are made valid UTF-8
// first.
func (t *bodyTemplate) render(values map[string]string, esc escaper) []byte {
	var b bytes.Buffer
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.lit)
			continue
		}
		b.WriteString(esc.escape(strings.ToValidUTF8(values[p.name], "\uFFFD")))
	}
	return b.Bytes()
}

// escaper escapes a value for one body syntax.
type escaper int

const (
	escapeNone escaper = iota // text/plain: values as they are
	escapeJSON                // JSON string content, without the quotes
	escapeForm                // application/x-www-form-urlencoded (and URL query)
	escapeXML                 // XML character data and attribute values
)

func (e escaper) escape(s string) string {
	switch e {
	case escapeJSON:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			return ""
		}
		out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
		return string(out[1 : len(out)-1])
	case escapeForm:
		return url.QueryEscape(s)
	case escapeXML:
		var b bytes.Buffer
		if err := xml.EscapeText(&b, []byte(s)); err != nil {
			return ""
		}
		return b.String()
	}
	return s
}

// escaperFor picks the escaping for a Content-Type, or says why it cannot.
func escaperFor(contentType string) (escaper, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, fmt.Errorf("got %q, want a media type such as application/json", contentType)
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return escapeJSON, nil
	case mt == "application/x-www-form-urlencoded":
		return escapeForm, nil
	case mt == "text/plain":
		return escapeNone, nil
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return escapeXML, nil
	}
	return 0, fmt.Errorf("got %q, want application/json, application/x-www-form-urlencoded, application/xml or text/plain", mt)
}

// checkRendered reports whether a template rendered with sample values is
// well-formed for its escaping: valid JSON, a parseable form, well-formed
// XML. Plain text is always fine.
func checkRendered(body []byte, esc escaper) error {
	switch esc {
	case escapeJSON:
		if !json.Valid(body) {
			return fmt.Errorf("is not valid JSON once filled in; put each placeholder inside a JSON string, e.g. {\"text\":\"{text}\"}")
		}
	case escapeForm:
		if _, err := url.ParseQuery(string(body)); err != nil {
			return fmt.Errorf("is not a valid form once filled in: %v", err)
		}
	case escapeXML:
		d := xml.NewDecoder(bytes.NewReader(body))
		for {
			_, err := d.Token()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return fmt.Errorf("is not well-formed XML once filled in: %v", err)
			}
		}
	}
	return nil
}

// sampleValues fills every placeholder for checkRendered.
func sampleValues() map[string]string {
	v := make(map[string]string, len(placeholders))
	for n := range placeholders {
		v[n] = "x"
	}
	return v
}

// defaultTemplate is the body used when an SMS channel configures none.
func defaultTemplate(esc escaper) string {
	switch esc {
	case escapeJSON:
		return `{"phone":"{phone}","text":"{text}","id":"{id}"}`
	case escapeForm:
		return `phone={phone}&text={text}&id={id}`
	}
	return ""
}
