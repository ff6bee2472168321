package api

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// This file takes the residents' feedback (回访): the rating link an SMS
// sends when an incident closes opens a small page at /rate/{token}, whose
// three buttons post to /v1/ratings/{token}. No login: the token is the
// credential, good for one answer within geo.RatingValidity. 不满意
// reopens the incident for a dispatcher to decide.

func (s *Server) ratingRoutes(r *gin.Engine, v1 router) {
	v1.POST("/ratings/:token", endpoint{needs: needRatings}, withBody(s.rateIncident))
	r.GET("/rate/:token", s.handle(s.ratingPage))
}

// rateIncident answers POST /v1/ratings/{token} {"rating", "comment"}.
func (s *Server) rateIncident(c *gin.Context, req *geo.RatingRequest) error {
	rating, comment, err := req.Check()
	if err != nil {
		return err
	}
	inc, err := s.cfg.Ratings.RateIncident(c.Request.Context(), c.Param("token"), rating, comment, s.cfg.Now().UTC(),
		func(inc *geo.Incident) (geo.IncidentChange, error) { return geo.RatingChange(inc, rating, comment) })
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"incident": inc.Number, "rating": rating, "status": inc.Status})
	return nil
}

// ratingPage serves the page a rating link opens: Chinese, phone-sized,
// no script from anywhere else.
func (s *Server) ratingPage(c *gin.Context) error {
	token := c.Param("token")
	if err := checkPathParam("token", token); err != nil {
		return err
	}
	c.Header("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	c.Header("Content-Type", "text/html; charset=utf-8")
	return ratingTemplate.Execute(c.Writer, map[string]any{"Token": token, "Ratings": []map[string]string{
		{"Value": string(geo.RatingSatisfied), "Label": geo.RatingSatisfied.Chinese()},
		{"Value": string(geo.RatingBasic), "Label": geo.RatingBasic.Chinese()},
		{"Value": string(geo.RatingUnsatisfied), "Label": geo.RatingUnsatisfied.Chinese()},
	}})
}

// isRatingToken reports whether v has the shape of geo.NewRatingToken's
// tokens.
func isRatingToken(v string) bool {
	return len(v) == 22 && !strings.ContainsFunc(v, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-' || r == '_')
	})
}

var ratingTemplate = template.Must(template.New("rate").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>服务评价</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:0;padding:24px 16px;max-width:480px;margin:auto;color:#1a1a1a}
h1{font-size:20px}p{color:#555}button{display:block;width:100%;margin:12px 0;padding:16px;font-size:18px;border-radius:10px;border:1px solid #ccc;background:#f7f7f7}
textarea{width:100%;box-sizing:border-box;font-size:16px;padding:8px;border-radius:8px;border:1px solid #ccc}
#done{font-size:18px}
</style></head><body>
<h1>您反映的问题已办结，请评价</h1>
<p>您的评价将用于考核网格服务质量。</p>
<textarea id="comment" rows="3" maxlength="500" placeholder="可选：补充说明"></textarea>
<div id="choices">{{range .Ratings}}<button data-rating="{{.Value}}">{{.Label}}</button>{{end}}</div>
<p id="done" role="status"></p>
<script>
document.querySelectorAll('button[data-rating]').forEach(function (b) {
  b.addEventListener('click', function () {
    var done = document.getElementById('done');
    fetch('/v1/ratings/{{.Token}}', {method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({rating: b.dataset.rating, comment: document.getElementById('comment').value})})
    .then(function (r) {
      if (r.ok) { document.getElementById('choices').remove(); done.textContent = '感谢您的评价！'; }
      else if (r.status === 409) { done.textContent = '您已评价过，感谢！'; }
      else if (r.status === 404) { done.textContent = '评价链接无效或已过期。'; }
      else { done.textContent = '提交失败，请稍后再试。'; }
    }).catch(function () { done.textContent = '网络不通，请稍后再试。'; });
  });
});
</script></body></html>
`))
