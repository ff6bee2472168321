package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRequestHeader_canonicalKeys: requestHeader reads the header map
// directly, which is Header.Get only for a key in canonical form. Every
// call in the package passes a literal (or a name of headersChecked), and
// each is canonical.
func TestRequestHeader_canonicalKeys(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	calls := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "requestHeader" || len(call.Args) != 2 {
				return true
			}
			calls++
			switch key := call.Args[1].(type) {
			case *ast.BasicLit:
				k, _ := strconv.Unquote(key.Value)
				if textproto.CanonicalMIMEHeaderKey(k) != k {
					t.Errorf("%s: requestHeader(%s): not canonical (%q)", fset.Position(call.Pos()), key.Value, textproto.CanonicalMIMEHeaderKey(k))
				}
			case *ast.Ident:
				if key.Name != "h" { // checkHeaders' loop over headersChecked
					t.Errorf("%s: requestHeader with key %s: want a literal, or extend this test", fset.Position(call.Pos()), key.Name)
				}
			default:
				t.Errorf("%s: requestHeader with a computed key: want a literal", fset.Position(call.Pos()))
			}
			return true
		})
	}
	if calls < 6 {
		t.Fatalf("found %d calls of requestHeader, want the request id, CORS, gzip, authorization and checked headers' at least", calls)
	}
	for _, k := range headersChecked {
		if textproto.CanonicalMIMEHeaderKey(k) != k {
			t.Errorf("headersChecked: %q is not canonical", k)
		}
	}
	// And it reads what Get reads, on a request as net/http parses it.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("x-request-id", "abc")
	r.Header.Add("accept-encoding", "gzip")
	r.Header.Add("accept-encoding", "br")
	for _, k := range []string{"X-Request-Id", "Accept-Encoding", "Origin"} {
		if got, want := requestHeader(r, k), r.Header.Get(k); got != want {
			t.Errorf("requestHeader(%q) = %q, Get = %q", k, got, want)
		}
	}
}

// FuzzParseFloat holds parseFloat to strconv.ParseFloat: the same value
// (to the bit) and whether it failed, for any text.
func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{"112.123456", "27.2041", "-0", "0", "-", "", ".", "-.", ".5", "5.", "-.5", "+5", "1e5",
		"1E-400", "1e400", "NaN", "inf", "-Inf", "0x1p-2", "1_000", "00012.5", "123456789012345", "1234567890123456",
		"0.000000000000000000001", "0.0000000000000000000001", "0.00000000000000000000001", "9007199254740993",
		"112.10000000000001", " 1", "1 ", "1..2", "--1", "1-", "١٢"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gerr := parseFloat(s)
		want, werr := strconv.ParseFloat(s, 64)
		if (gerr == nil) != (werr == nil) || math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("parseFloat(%q) = %v, %v; ParseFloat: %v, %v", s, got, gerr, want, werr)
		}
	})
}

// TestSetDate: the Date header is the current second's, in net/http's
// format, and a second later the next one's.
func TestSetDate(t *testing.T) {
	h := http.Header{}
	before := time.Now().Truncate(time.Second)
	setDate(h)
	after := time.Now()
	d, err := http.ParseTime(h.Get("Date"))
	if err != nil || d.Before(before) || d.After(after) || len(h["Date"]) != 1 {
		t.Fatalf("Date %q (%v): want a time in [%v, %v]", h.Get("Date"), err, before, after)
	}
	if !strings.HasSuffix(h.Get("Date"), " GMT") {
		t.Fatalf("Date %q: want http.TimeFormat", h.Get("Date"))
	}
	time.Sleep(time.Until(d.Add(1100 * time.Millisecond)))
	setDate(h)
	if d2, _ := http.ParseTime(h.Get("Date")); !d2.After(d) {
		t.Fatalf("a second later: Date %q, want later than %v", h.Get("Date"), d)
	}
}
