package api

import (
	"bytes"
	"html/template"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// This file renders the HTML representation of /ogc: plain, readable pages
// with no scripts and nothing fetched from elsewhere, for people who open
// the API in a browser.

// ogcPage is the data of every HTML page: its title, the landing page's
// base URL (for the navigation), the resource's links, and the page's own
// data in Body.
type ogcPage struct {
	Title string
	Base  string
	Links []ogcLink
	Body  any
}

// ogcCollectionPage is the Body of a collection's page.
type ogcCollectionPage struct {
	ogcCollectionJSON
	Fields   []ogcField
	Temporal bool
	Since    time.Time
	// Items counts the features; -1 for collections read from the
	// database on each request.
	Items int
}

// ogcItemsPage is the Body of an items page.
type ogcItemsPage struct {
	Collection             *ogcCollection
	Matched, Offset, Limit int
	Prev, Next             *ogcLink
	Rows                   []ogcRow
}

// ogcRow is one feature in an items table.
type ogcRow struct {
	ID, Href string
	Cells    []string
}

// ogcItemPage is the Body of a feature's page.
type ogcItemPage struct {
	ID         string
	Collection *ogcCollection
	Props      [][2]string
	Geometry   string
}

var ogcTemplates = template.Must(template.New("ogc").Funcs(template.FuncMap{
	"add":  func(a, b int) int { return a + b },
	"kind": func(k ogcFieldKind) string { return k.String() },
	"since": func(t time.Time) string {
		if t.IsZero() {
			return "any time"
		}
		return t.UTC().Format(time.RFC3339) + " or later"
	},
}).Parse(`
{{define "top"}}<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; line-height: 1.45; max-width: 80em; margin: 1.5em auto; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
nav, .links { font-size: .9em; }
code { font-size: .95em; }
</style>
</head>
<body>
<nav><a href="{{.Base}}?f=html">OGC API – Features</a> · <a href="{{.Base}}/collections?f=html">collections</a> · <a href="{{.Base}}/conformance?f=html">conformance</a> · <a href="{{.Base}}/api?f=html">API</a></nav>
<h1>{{.Title}}</h1>
{{end}}

{{define "bottom"}}<h2>Links</h2>
<ul class="links">{{range .Links}}
<li><a href="{{.Href}}">{{if .Title}}{{.Title}}{{else}}{{.Href}}{{end}}</a> <code>rel={{.Rel}}</code>{{if .Type}} <code>{{.Type}}</code>{{end}}</li>{{end}}
</ul>
</body>
</html>
{{end}}

{{define "landing"}}{{template "top" .}}
<p>{{.Body.Description}}</p>
<ul>
<li><a href="{{.Base}}/collections?f=html">Collections</a>: grids, villages, organizations</li>
<li><a href="{{.Base}}/conformance?f=html">Conformance classes</a></li>
<li><a href="{{.Base}}/api?f=html">API definition</a> (<a href="{{.Base}}/api?f=json">OpenAPI 3.0 JSON</a>)</li>
</ul>
{{template "bottom" .}}{{end}}

{{define "conformance"}}{{template "top" .}}
<ul>{{range .Body}}
<li><code>{{.}}</code></li>{{end}}
</ul>
{{template "bottom" .}}{{end}}

{{define "api"}}{{template "top" .}}
<p>The OpenAPI 3.0 document: <a href="{{.Base}}/api?f=json">{{.Base}}/api?f=json</a>.</p>
<table>
<tr><th>method</th><th>path</th><th>summary</th></tr>{{range .Body}}
<tr><td>{{.Method}}</td><td><code>{{.Path}}</code></td><td>{{.Summary}}</td></tr>{{end}}
</table>
{{template "bottom" .}}{{end}}

{{define "collections"}}{{template "top" .}}
<table>
<tr><th>id</th><th>title</th><th>description</th><th>items</th></tr>{{range .Body}}
<tr><td><a href="{{$.Base}}/collections/{{.ID}}?f=html">{{.ID}}</a></td><td>{{.Title}}</td><td>{{.Description}}</td><td><a href="{{$.Base}}/collections/{{.ID}}/items?f=html">items</a></td></tr>{{end}}
</table>
{{template "bottom" .}}{{end}}

{{define "collection"}}{{template "top" .}}
<p>{{.Body.Description}}</p>
<p><a href="{{.Base}}/collections/{{.Body.ID}}/items?f=html">Browse the {{if ge .Body.Items 0}}{{.Body.Items}} {{end}}features</a> (<a href="{{.Base}}/collections/{{.Body.ID}}/items?f=json">GeoJSON</a>).</p>
{{with .Body.Extent}}{{with .Spatial}}<p>Extent: {{index .BBox 0}} (CRS84).</p>{{end}}{{end}}
<h2>Properties and filters</h2>
<p>Each property is also a parameter of items: <code>?name=value</code> selects features whose property equals the value
(for a list, contains it). Items also take <code>bbox</code> (minLon,minLat,maxLon,maxLat in CRS84, or in
<code>bbox-crs</code>), <code>crs</code> (CRS84, EPSG:4326, EPSG:4490 or EPSG:3857), <code>filter</code> (CQL2 text or
JSON, with <code>filter-lang</code> and <code>filter-crs</code>; see the <a href="{{.Base}}/collections/{{.Body.ID}}/queryables?f=html">queryables</a>),
<code>sortby</code>, <code>limit</code> (1..10000, default 10) and <code>offset</code>{{if .Body.Temporal}}, and
<code>datetime</code> ({{since .Body.Since}}){{end}}.</p>
<table>
<tr><th>property</th><th>type</th><th>meaning</th></tr>{{range .Body.Fields}}
<tr><td><code>{{.Name}}</code></td><td>{{kind .Kind}}</td><td>{{.Title}}</td></tr>{{end}}
</table>
{{template "bottom" .}}{{end}}

{{define "items"}}{{template "top" .}}{{with .Body}}
<p>{{.Matched}} features match; shown: {{if .Rows}}{{add .Offset 1}}–{{add .Offset (len .Rows)}}{{else}}none{{end}}.
{{with .Prev}}<a href="{{.Href}}" rel="prev">previous page</a>{{end}} {{with .Next}}<a href="{{.Href}}" rel="next">next page</a>{{end}}</p>
<table>
<tr><th>id</th>{{range .Collection.Fields}}<th>{{.Name}}</th>{{end}}</tr>{{range .Rows}}
<tr><td><a href="{{.Href}}">{{.ID}}</a></td>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>{{end}}
</table>{{end}}
{{template "bottom" .}}{{end}}

{{define "queryables"}}{{template "top" .}}{{with .Body}}
<p>{{.Description}}</p>
<table>
<tr><th>queryable</th><th>type</th><th>meaning</th></tr>{{range $name, $q := .Properties}}
<tr><td><code>{{$name}}</code></td><td>{{$q.Type}}{{if $q.Format}} ({{$q.Format}}){{end}}</td><td>{{$q.Title}}{{if $q.Enum}}: {{range $i, $e := $q.Enum}}{{if $i}}, {{end}}{{$e}}{{end}}{{end}}</td></tr>{{end}}
</table>{{end}}
{{template "bottom" .}}{{end}}

{{define "item"}}{{template "top" .}}{{with .Body}}
<table>
<tr><th>id</th><td>{{.ID}}</td></tr>{{range .Props}}
<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}
<tr><th>geometry</th><td>{{.Geometry}}</td></tr>
</table>{{end}}
{{template "bottom" .}}{{end}}
`))

// Name is the property's name, for the templates.
func (f ogcField) Name() string { return f.name }

// Kind is the property's type, for the templates.
func (f ogcField) Kind() ogcFieldKind { return f.kind }

// Title says what the property means, for the templates.
func (f ogcField) Title() string { return f.title }

// Fields are the collection's properties, for the templates.
func (col *ogcCollection) Fields() []ogcField { return col.fields }

// ogcWriteHTML renders the named page.
func ogcWriteHTML(c *gin.Context, name string, page ogcPage) error {
	var buf bytes.Buffer
	if err := ogcTemplates.ExecuteTemplate(&buf, name, page); err != nil {
		return err
	}
	c.Data(http.StatusOK, ogcHTMLType, buf.Bytes())
	return nil
}
