package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
	"wangge/geo/photofile"
)

// This file takes the photos that prove work done: the assignee (or a
// dispatcher) posts a JPEG or PNG to an incident; it is checked (size
// first, then the content's own type, then the pixel count from the header
// before any pixel is decoded), stripped of its metadata, its EXIF
// position checked against the incident's grid, and stored with its
// SHA-256. Nothing is stored from a request that fails a check.

// photoUploadPath is the route of uploads, whose body limit is the photo
// limit rather than the API's (see bodyLimit).
const photoUploadPath = "/v1/incidents/:number/photos"

// multipartSlack is what a multipart envelope may add around a photo.
const multipartSlack = 64 << 10

// photoRoutes registers the photo routes on caseWork, the routes of one
// incident (dispatchers, and people on their own incidents: personMay).
func (s *Server) photoRoutes(caseWork router) {
	caseWork.POST("/incidents/:number/photos", endpoint{needs: needPhotos}, s.uploadPhoto)
	caseWork.GET("/incidents/:number/photos", endpoint{needs: needPhotos}, s.listPhotos)
	caseWork.GET("/incidents/:number/photos/:id", endpoint{needs: needPhotos}, s.getPhoto)
}

// bodyLimit is the request body limit of the route c matched.
func (s *Server) bodyLimit(c *gin.Context) int64 {
	if (c.FullPath() == photoUploadPath || c.FullPath() == visitPhotoPath) && c.Request.Method == http.MethodPost {
		return max(s.cfg.MaxBodyBytes, s.cfg.MaxPhotoBytes+multipartSlack)
	}
	return s.cfg.MaxBodyBytes
}

// photoOut is a photo as sent.
type photoOut struct {
	ID            int64          `json:"id"`
	Incident      string         `json:"incident"`
	SHA256        string         `json:"sha256"`
	Bytes         int            `json:"bytes"`
	ContentType   string         `json:"content_type"`
	Width         int            `json:"width"`
	Height        int            `json:"height"`
	Location      *[2]float64    `json:"location"`
	LocationCheck geo.PhotoCheck `json:"location_check"`
	DistanceM     *float64       `json:"distance_m"`
	UploadedBy    string         `json:"uploaded_by"`
	UploadedAt    time.Time      `json:"uploaded_at"`
	URL           string         `json:"url"`
}

func photoJSON(p *geo.Photo) photoOut {
	out := photoOut{ID: p.ID, Incident: p.IncidentNumber, SHA256: hex.EncodeToString(p.SHA256[:]), Bytes: p.Bytes,
		ContentType: p.ContentType, Width: p.Width, Height: p.Height, Location: p.Location, LocationCheck: p.Check,
		UploadedBy: p.UploadedBy, UploadedAt: p.UploadedAt,
		URL: fmt.Sprintf("/v1/incidents/%s/photos/%d", p.IncidentNumber, p.ID)}
	if p.Location != nil && !math.IsNaN(p.DistanceM) {
		d := math.Round(p.DistanceM*10) / 10
		out.DistanceM = &d
	}
	return out
}

// uploadPhoto answers POST /v1/incidents/{number}/photos: the photo as the
// multipart part "photo" or as a raw image/jpeg or image/png body. 201
// with the stored photo; 200 with the photo already stored when the same
// bytes were attached before (a retried upload). 413 over the size limit,
// 415 for anything but JPEG or PNG, 422 for too many pixels or a damaged
// file, 400 for an empty one.
func (s *Server) uploadPhoto(c *gin.Context) error {
	number := c.Param("number")
	inc, err := s.cfg.Incidents.Incident(c.Request.Context(), number)
	if err != nil {
		return err
	}
	// Adding proof of work is part of resolving: the assignee's (or a
	// dispatcher's) to do.
	if err := s.personMay(c, inc, geo.ActResolve); err != nil {
		return err
	}
	raw, err := s.readPhoto(c)
	if err != nil {
		return err
	}
	clean, err := photofile.Clean(raw, s.cfg.MaxPhotoPixels)
	if err != nil {
		return photoProblem(err)
	}
	p := &geo.Photo{IncidentNumber: inc.Number, ContentType: clean.Format.ContentType(), Width: clean.Width,
		Height: clean.Height, Data: clean.Data, Check: geo.PhotoNoPlace, DistanceM: math.NaN(),
		UploadedBy: callerName(c), UploadedAt: s.cfg.Now().UTC()}
	p.SHA256 = sha256.Sum256(clean.Data)
	p.Bytes = len(clean.Data)
	if clean.GPS != nil {
		p.Location = clean.GPS
		p.Check, p.DistanceM = s.registry.Load().CheckPhotoLocation(inc, *clean.GPS, s.cfg.ToleranceM)
	}
	out, fresh, err := s.cfg.Photos.AddPhoto(c.Request.Context(), p)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !fresh {
		status = http.StatusOK
	}
	body := photoJSON(out)
	c.Header("Location", body.URL)
	c.JSON(status, body)
	return nil
}

// readPhoto reads the photo's bytes from the request within the limit.
func (s *Server) readPhoto(c *gin.Context) ([]byte, error) {
	limit := s.cfg.MaxPhotoBytes
	tooBig := func() error {
		return problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "the photo exceeds the limit of %s (%d bytes)", sizeText(limit), limit)
	}
	read := func(r io.Reader) ([]byte, error) {
		b, err := io.ReadAll(io.LimitReader(r, limit+1))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, tooBig()
		case err != nil:
			return nil, problemf(TypeInvalidBody, http.StatusBadRequest, "reading the photo: %v", err)
		case int64(len(b)) > limit:
			return nil, tooBig()
		}
		return b, nil
	}
	ct := c.GetHeader("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	switch mt {
	case "image/jpeg", "image/png":
		return read(c.Request.Body)
	case "multipart/form-data":
		mr := multipart.NewReader(c.Request.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			var mbe *http.MaxBytesError
			switch {
			case err == io.EOF:
				return nil, problemf(TypeInvalidBody, http.StatusBadRequest, "the form has no part named \"photo\": send the image as the part \"photo\"")
			case errors.As(err, &mbe):
				return nil, tooBig()
			case err != nil:
				return nil, problemf(TypeInvalidBody, http.StatusBadRequest, "reading the form: %v", err)
			}
			if part.FormName() == "photo" {
				return read(part)
			}
		}
	}
	return nil, problemf(TypeUnsupportedMedia, http.StatusUnsupportedMediaType,
		"Content-Type %q: want multipart/form-data with the part \"photo\", or an image/jpeg or image/png body", truncate(ct))
}

// photoProblem maps a photofile error to its answer.
func photoProblem(err error) error {
	switch {
	case errors.Is(err, photofile.ErrEmpty):
		return problemf(TypeInvalidBody, http.StatusBadRequest, "%s", err)
	case errors.Is(err, photofile.ErrUnsupported):
		return problemf(TypeUnsupportedMedia, http.StatusUnsupportedMediaType, "%s", err)
	case errors.Is(err, photofile.ErrTooManyPixels), errors.Is(err, photofile.ErrMalformed):
		return problemf(TypeInvalidPhoto, http.StatusUnprocessableEntity, "%s", err)
	}
	return err
}

// sizeText writes a byte count as people read limits: 5 MiB, 300 KiB.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// listPhotos answers GET /v1/incidents/{number}/photos.
func (s *Server) listPhotos(c *gin.Context) error {
	inc, err := s.cfg.Incidents.Incident(c.Request.Context(), c.Param("number"))
	if err != nil {
		return err
	}
	if err := s.personMay(c, inc, ""); err != nil {
		return err
	}
	list, err := s.cfg.Photos.Photos(c.Request.Context(), inc.Number)
	if err != nil {
		return err
	}
	out := make([]photoOut, len(list))
	for i := range list {
		out[i] = photoJSON(&list[i])
	}
	c.JSON(http.StatusOK, gin.H{"photos": out})
	return nil
}

// getPhoto answers GET /v1/incidents/{number}/photos/{id} with the image.
// A photo never changes: it is cached privately and its ETag is its
// checksum. It is served as an image that runs nothing, even if a viewer
// were to sniff it as something else.
func (s *Server) getPhoto(c *gin.Context) error {
	inc, err := s.cfg.Incidents.Incident(c.Request.Context(), c.Param("number"))
	if err != nil {
		return err
	}
	if err := s.personMay(c, inc, ""); err != nil {
		return err
	}
	p, err := s.cfg.Photos.Photo(c.Request.Context(), inc.Number, pathInt(c, "id"))
	if err != nil {
		return err
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	ext := strings.TrimPrefix(p.ContentType, "image/")
	h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s-%d.%s"`, inc.Number, p.ID, ext))
	etag := `"` + hex.EncodeToString(p.SHA256[:]) + `"`
	if notModified(c, etag) {
		return nil
	}
	h.Set("ETag", etag)
	c.Data(http.StatusOK, p.ContentType, p.Data)
	return nil
}
