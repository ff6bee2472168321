package api

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
)

// This file derives the API definition that /ogc/api serves from the
// service's OpenAPI document: the /ogc paths, rooted at /ogc (the server
// URL is the landing page), plus one items path per collection that lists
// that collection's property parameters. Clients read the filters a
// collection takes from there: GDAL's OAPIF driver pushes a -where down as
// a property parameter or a CQL2 filter only for the parameters it finds
// on /collections/{id}/items.

var ogcAPIOnce struct {
	sync.Once
	doc map[string]any
	err error
}

// ogcAPIDocument returns the /ogc API definition with base as its server.
func ogcAPIDocument(base string) ([]byte, error) {
	ogcAPIOnce.Do(func() { ogcAPIOnce.doc, ogcAPIOnce.err = buildOGCAPIDocument() })
	if ogcAPIOnce.err != nil {
		return nil, ogcAPIOnce.err
	}
	doc := maps.Clone(ogcAPIOnce.doc)
	doc["servers"] = []any{map[string]any{"url": base, "description": "the OGC API – Features landing page"}}
	return ogcMarshal(doc)
}

func buildOGCAPIDocument() (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		return nil, err
	}
	all, _ := doc["paths"].(map[string]any)
	paths := map[string]any{}
	for p, v := range all {
		switch {
		case p == "/ogc":
			paths["/"] = v
		case strings.HasPrefix(p, "/ogc/"):
			paths[strings.TrimPrefix(p, "/ogc")] = v
		}
	}
	if generic, ok := paths["/collections/{collectionId}/items"]; ok {
		for _, col := range ogcCollections {
			var op map[string]any
			raw, err := json.Marshal(generic.(map[string]any)["get"])
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, err
			}
			var params []any
			for _, p := range op["parameters"].([]any) {
				// Keep the parameters every collection takes; the generic
				// path's property parameters give way to col's own.
				name, _ := p.(map[string]any)["name"].(string)
				if !slices.Contains(ogcItemsParams, name) && !(name == "datetime" && (col.temporal || col.instant != "")) {
					continue
				}
				params = append(params, p)
			}
			for _, f := range col.fields {
				schema := map[string]any{"type": "string"}
				switch f.kind {
				case ogcInteger:
					schema["type"] = "integer"
				case ogcBoolean:
					schema["type"] = "boolean"
				case ogcTimestamp:
					schema["format"] = "date-time"
				}
				if vals := col.enums[f.name]; vals != nil {
					schema["enum"] = vals
				}
				params = append(params, map[string]any{"name": f.name, "in": "query", "required": false,
					"description": f.title + ": features whose " + f.name + " equals the value" +
						map[bool]string{true: " (whose list contains it)", false: ""}[f.kind == ogcStringList],
					"schema": schema})
			}
			op["parameters"] = params
			op["operationId"] = "ogcItems_" + col.id
			op["summary"] = col.title
			paths["/collections/"+col.id+"/items"] = map[string]any{"get": op}
		}
	}
	doc["paths"] = paths
	if info, ok := doc["info"].(map[string]any); ok {
		info = maps.Clone(info)
		info["title"] = "wangge: OGC API – Features"
		doc["info"] = info
	}
	return doc, nil
}
