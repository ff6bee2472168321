package api

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sync"

	"github.com/gin-gonic/gin"
)

// mobileFiles is the work screen of grid leaders at /m: one page, one
// script, one style sheet and an icon, written by hand (no build step),
// served as the console's files are (versioned URLs, ETags, gzip, the
// same Content-Security-Policy, so nothing is fetched from elsewhere).
//
//go:embed mobile/index.html mobile/app.js mobile/style.css mobile/icon.svg
var mobileFiles embed.FS

// loadMobile reads the embedded files once per process, index.html with
// its references rewritten to versioned URLs.
var loadMobile = sync.OnceValues(func() (consoleFiles, error) {
	names, err := fs.Glob(mobileFiles, "mobile/*")
	if err != nil {
		return nil, err
	}
	files := consoleFiles{}
	for _, n := range names {
		body, err := fs.ReadFile(mobileFiles, n)
		if err != nil {
			return nil, err
		}
		files[path.Base(n)] = newConsoleAsset(path.Base(n), body)
	}
	index, ok := files["index.html"]
	if !ok {
		return nil, fmt.Errorf("mobile: index.html is missing")
	}
	page := index.body
	for name, a := range files {
		if name != "index.html" {
			page = bytes.ReplaceAll(page, []byte(`"/m/`+name+`"`), []byte(`"/m/`+name+`?v=`+a.version+`"`))
		}
	}
	files["index.html"] = newConsoleAsset("index.html", page)
	return files, nil
})

// mobileRoutes registers the work screen: the page at /m and /m/ (login
// links are /m/#/login/<token>, notifications link /m/#/incidents/<n>),
// its files at /m/{name}.
func (s *Server) mobileRoutes(r *gin.Engine) {
	files, err := loadMobile()
	if err != nil {
		s.log.Error("the work screen is not available", "err", err)
		return
	}
	for name, a := range files {
		h := s.handle(func(c *gin.Context) error {
			serveConsoleAsset(c, a)
			return nil
		})
		targets := []string{"/m/" + name}
		if name == "index.html" {
			targets = []string{"/m", "/m/"}
		}
		for _, t := range targets {
			r.GET(t, h)
			r.HEAD(t, h)
		}
	}
}
