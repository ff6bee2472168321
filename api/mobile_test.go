package api_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/photofile/photofiletest"
)

// The work screen at /m, driven in headless Chromium over the DevTools
// protocol (through a pipe: no WebSocket, no dependency) at phone size.

// mobileWidth and mobileHeight are the phone the tests emulate (CSS
// pixels), an iPhone 14's viewport.
const mobileWidth, mobileHeight = 390, 844

func TestMobile_pageAndAssets(t *testing.T) {
	c := newClient(t)
	for _, target := range []string{"/m", "/m/"} {
		page := c.get(target)
		if page.StatusCode != 200 || page.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET %s: %d %q", target, page.StatusCode, page.Header.Get("Content-Type"))
		}
		if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q, want the page kept to its origin", target, csp)
		}
		if regexp.MustCompile(`(src|href)="(https?:)?//`).Match(page.body) {
			t.Errorf("the work screen loads something from another origin:\n%s", page.body)
		}
	}
	// One page, one script, one style sheet, an icon: small enough for a
	// slow village connection (gzipped, as served).
	page := c.get("/m/")
	refs := regexp.MustCompile(`"(/m/[^"?]+)\?v=([0-9a-f]{12})"`).FindAllStringSubmatch(string(page.body), -1)
	if len(refs) != 3 {
		t.Fatalf("index.html names %d versioned files, want app.js, style.css, icon.svg: %v", len(refs), refs)
	}
	total := len(gzipped(t, page.body))
	for _, ref := range refs {
		res := c.get(ref[1]+"?v="+ref[2], "Accept-Encoding", "gzip")
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d %q", ref[1], res.StatusCode, res.Header.Get("Cache-Control"))
		}
		total += len(res.body)
	}
	if total > 24<<10 {
		t.Errorf("the work screen is %d bytes gzipped, want at most 24 KiB", total)
	}
	t.Logf("the work screen: %d bytes gzipped", total)
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// mobileArtifacts is where the browser tests leave their screenshots:
// $WANGGE_ARTIFACTS/mobile when set, else api/mobile/testdata/artifacts
// (git-ignored).
func mobileArtifacts(t *testing.T) string {
	dir := filepath.Join("mobile", "testdata", "artifacts")
	if root := os.Getenv("WANGGE_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, "mobile")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatal(err)
	}
	return abs
}

// mobileEnv is a photo env (people sign in by SMS code or link, photos
// are kept) served over HTTP, with its delivery worker running, so that
// the SMS receiver gets codes and notifications as they are written.
type mobileEnv struct {
	*loginEnv
	url string
}

func newMobileEnv(t *testing.T) *mobileEnv {
	t.Helper()
	e := &mobileEnv{loginEnv: newPhotoEnv(t)}
	// The browser's clock is the wall clock: the server's must be too, or
	// a session would look expired and every case overdue.
	e.setNow(time.Now().UTC())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.worker.Run(ctx) }()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.srv.ServeHTTP(w, r) }))
	t.Cleanup(func() { srv.Close(); cancel(); wg.Wait() })
	e.url = srv.URL
	return e
}

// intake creates an incident as a dispatcher, received `ago` before now.
func (e *mobileEnv) intake(t *testing.T, p orb.Point, category, severity, description string, ago time.Duration) incidentAnswer {
	t.Helper()
	now := e.clock()
	e.setNow(now.Add(-ago))
	defer e.setNow(now)
	body := newIncident(p, category, severity)
	body["description"] = description
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", body, &inc); code != 201 {
		t.Fatalf("intake: %d", code)
	}
	return inc
}

// incident reads an incident as a dispatcher.
func (e *mobileEnv) incident(t *testing.T, number string) incidentAnswer {
	t.Helper()
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+number, nil, &inc); code != 200 {
		t.Fatalf("GET incident: %d", code)
	}
	return inc
}

func countActions(inc incidentAnswer, action string) int {
	n := 0
	for _, ev := range inc.Events {
		if ev.Action == action {
			n++
		}
	}
	return n
}

// smsCodeTo waits for the code the SMS receiver got for phone after the
// first `after` messages.
func (e *mobileEnv) smsCodeTo(t *testing.T, phone string, after int) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range e.sms.Received()[after:] {
			if got := smsCode.FindStringSubmatch(m.Text); m.Phone == phone && got != nil {
				return got[1]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no code reached %s by SMS; refusals %v", phone, e.sms.Refusals())
	return ""
}

// TestMobile_signInAcceptResolveWithPhoto: 网格长1 signs in on a phone
// with the code the SMS gateway received, sees their two open cases (the
// overdue one first, in red), opens the other, accepts it, and resolves
// it with a note and a photo taken in the grid. The API then shows the
// case resolved, the photo stored without its metadata, its position
// checked inside the grid.
func TestMobile_signInAcceptResolveWithPhoto(t *testing.T) {
	t.Parallel()
	e := newMobileEnv(t)
	overdue := e.intake(t, orb.Point{112.003, 27.004}, "safety", "urgent", "桥头护栏松动，有小孩在附近玩耍，存在坠落危险", 3*time.Hour)
	inc := e.intake(t, orb.Point{112.006, 27.006}, "environment", "major", "村口垃圾堆放三天无人清理，气味很大，请尽快处理", 0)
	e.intake(t, centre(5), "dispute", "minor", "另一个网格的事件，不应出现在网格长1的列表里", 0)

	b := startBrowser(t, mobileArtifacts(t))
	b.navigate(e.url + "/m/")
	b.waitFor(`!!document.querySelector('#phone')`, "the sign-in form")
	b.typeInto("#phone", "13900000001")
	before := len(e.sms.Received())
	b.click("#send-code")
	b.waitFor(`document.querySelector('#login-info').textContent.includes('139****0001')`, "the code sent")
	b.typeInto("#code", e.smsCodeTo(t, "13900000001", before))
	b.screenshot("mobile-1-login.png", false)
	b.click("#login")

	b.waitFor(`document.querySelectorAll('#cases .card').length === 2`, "my two open cases")
	b.waitFor(`document.querySelectorAll('#cases .card svg.thumb path').length === 2`, "the small maps")
	order := b.evalString(`[...document.querySelectorAll('#cases .card')].map(c => c.dataset.number + (c.classList.contains('overdue') ? ':overdue' : '')).join(',')`)
	if want := overdue.Number + ":overdue," + inc.Number; order != want {
		t.Errorf("cases %s, want %s (soonest due first, the overdue one red)", order, want)
	}
	if red := b.evalString(`getComputedStyle(document.querySelector('.card.overdue')).borderLeftColor`); red != "rgb(198, 40, 40)" {
		t.Errorf("the overdue card's edge is %s, want red", red)
	}
	b.checkNoSideways("the list")
	b.screenshot("mobile-2-list.png", false)

	b.click(fmt.Sprintf(`.card[data-number="%s"]`, inc.Number))
	b.waitFor(`document.querySelector('#said') && document.querySelector('#said').textContent.includes('村口垃圾')`, "the case")
	b.waitFor(`!!document.querySelector('svg.map path')`, "the grid on the map")
	b.checkNoSideways("the case")
	b.screenshot("mobile-3-detail.png", true)

	b.click("#do-accept")
	b.waitFor(`document.querySelector('#status-text').textContent === '已接单' && document.querySelector('#queue').hidden && !!document.querySelector('#do-resolve')`, "accepted")
	if got := e.incident(t, inc.Number); got.Status != "accepted" {
		t.Fatalf("after 接单 the incident is %s", got.Status)
	}

	b.click("#do-resolve")
	b.waitFor(`!!document.querySelector('#form-resolve')`, "the resolve form")
	b.typeInto("#note", "垃圾已全部清运，路面已冲洗干净，已告知反映人。")
	taken := metresEast(orb.Point{112.006, 27.006}, 30)
	shot := filepath.Join(t.TempDir(), "现场.jpg")
	jpeg := photofiletest.JPEG(photofiletest.Options{Width: 640, Height: 480, GPS: taken, LittleEndian: true})
	if err := os.WriteFile(shot, jpeg, 0o644); err != nil {
		t.Fatal(err)
	}
	b.setFiles("#photo", shot)
	b.waitFor(`document.querySelectorAll('#picked img').length === 1`, "the photo's preview")
	b.checkNoSideways("the resolve form")
	b.screenshot("mobile-4-resolve-form.png", false)
	b.click("#submit")

	b.waitFor(`document.querySelector('#status-text') && document.querySelector('#status-text').textContent === '已办结' && document.querySelector('#queue').hidden`, "resolved")
	b.waitFor(`[...document.querySelectorAll('#photos img')].some(i => i.complete && i.naturalWidth === 640)`, "the stored photo shown")
	b.checkNoSideways("the resolved case")
	b.waitFor(`document.querySelector('#toast').hidden`, "the toast to go")
	b.screenshot("mobile-5-resolved.png", true)

	got := e.incident(t, inc.Number)
	if got.Status != "resolved" || countActions(got, "accept") != 1 || countActions(got, "resolve") != 1 {
		t.Errorf("status %s, events %+v: want resolved after one accept and one resolve", got.Status, got.Events)
	}
	var list struct{ Photos []photoAnswer }
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+inc.Number+"/photos", nil, &list); code != 200 || len(list.Photos) != 1 {
		t.Fatalf("photos: %d %d", code, len(list.Photos))
	}
	p := list.Photos[0]
	if p.LocationCheck != "inside" || p.Location == nil || p.Width != 640 || !strings.Contains(p.URL, inc.Number) {
		t.Errorf("photo %+v: want 640 px wide, taken inside the grid", p)
	}
	stored := e.get(t, p.URL)
	sum := sha256.Sum256(stored)
	if hex.EncodeToString(sum[:]) != p.SHA256 || bytes.Contains(stored, []byte(photofiletest.Secret)) {
		t.Errorf("the stored photo: checksum %x (answer %s), metadata kept %v", sum, p.SHA256, bytes.Contains(stored, []byte(photofiletest.Secret)))
	}
	b.checkNoErrors()
}

// TestMobile_recordLabels: a dispatcher suspends one of 网格长1's cases,
// cancels another and merges a third into a fourth, each with its reason.
// On the phone the suspended case is still listed, as 挂起 with its clock
// stopped, and shows the reason; the cancelled and the merged ones are
// shown closed (已撤销, 已合并 into the other) with their reasons, and
// offer the leader no step but a comment, as the server allows.
func TestMobile_recordLabels(t *testing.T) {
	t.Parallel()
	e := newMobileEnv(t)
	suspended := e.intake(t, orb.Point{112.003, 27.004}, "safety", "urgent", "桥头护栏松动，需鉴定责任", time.Hour)
	cancelled := e.intake(t, orb.Point{112.006, 27.006}, "environment", "major", "村口垃圾堆放", 0)
	kept := e.intake(t, orb.Point{112.004, 27.007}, "dispute", "minor", "两户因宅基地边界争执", 0)
	// 0.0005° of longitude at 27°N is about 50 m: flagged as a duplicate of kept.
	dup := e.intake(t, orb.Point{112.0045, 27.007}, "dispute", "minor", "宅基地边界又吵起来了", 0)
	const why, cancelWhy, mergeWhy = "等待司法鉴定", "来电人撤回", "同一纠纷"
	for _, s := range []struct {
		number, action string
		extra          map[string]any
	}{
		{suspended.Number, "suspend", map[string]any{"note": why}},
		{cancelled.Number, "cancel", map[string]any{"note": cancelWhy}},
		{dup.Number, "merge", map[string]any{"into": kept.Number, "note": mergeWhy}},
	} {
		if code := e.step(geo.AccessDispatcher, s.number, s.action, s.extra, nil); code != 200 {
			t.Fatalf("%s %s: %d", s.action, s.number, code)
		}
	}

	b := startBrowser(t, mobileArtifacts(t))
	b.navigate(e.url + "/m/")
	b.waitFor(`!!document.querySelector('#phone')`, "the sign-in form")
	b.typeInto("#phone", "13900000001")
	before := len(e.sms.Received())
	b.click("#send-code")
	b.waitFor(`document.querySelector('#login-info').textContent.includes('139****0001')`, "the code sent")
	b.typeInto("#code", e.smsCodeTo(t, "13900000001", before))
	b.click("#login")

	card := fmt.Sprintf(`document.querySelector('.card[data-number="%s"]')`, suspended.Number)
	b.waitFor(`!!`+card, "the suspended case in the open list")
	if got := b.evalString(card + `.querySelector('.chip.status').textContent + '|' + ` + card + `.querySelector('.left').textContent + '|' + ` + card + `.classList.contains('overdue')`); got != "挂起|计时暂停|false" {
		t.Errorf("the suspended card says %q, want 挂起, its clock stopped, not overdue", got)
	}
	for _, n := range []string{cancelled.Number, dup.Number} {
		if b.evalString(fmt.Sprintf(`String(!!document.querySelector('.card[data-number="%s"]'))`, n)) != "false" {
			t.Errorf("%s is in the open list", n)
		}
	}
	b.screenshot("mobile-record-list.png", false)

	type shown struct{ Status, Outcome, Hint, History, Buttons string }
	open := func(number string) shown {
		t.Helper()
		b.navigate(e.url + "/m/#/incidents/" + number)
		b.waitFor(fmt.Sprintf(`!!document.querySelector('#status-text') && !!document.querySelector('#history li') && location.hash.includes('%s')`, number), "case "+number)
		var s shown
		raw := b.eval(`JSON.stringify({
			Status: document.querySelector('#status-text').textContent,
			Outcome: (document.querySelector('#outcome') || {}).textContent || '',
			Hint: [...document.querySelectorAll('.hint')].map((p) => p.textContent).join(' '),
			History: document.querySelector('#history').textContent,
			Buttons: [...document.querySelectorAll('.actions button')].map((x) => x.id).join(','),
		})`)
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(text), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open(suspended.Number)
	if s.Status != "挂起" || !strings.Contains(s.Outcome, why) || !strings.Contains(s.History, "挂起") || strings.Contains(s.Buttons, "do-accept") || !strings.Contains(s.Buttons, "do-comment") {
		t.Errorf("the suspended case shows %+v: want 挂起 with its reason %s, no 接单, a comment", s, why)
	}
	b.checkNoSideways("the suspended case")
	b.screenshot("mobile-record-suspended.png", true)
	s = open(cancelled.Number)
	if s.Status != "已撤销" || !strings.Contains(s.Outcome, cancelWhy) || !strings.Contains(s.Hint, "不在办理中") || !strings.Contains(s.History, "撤销") || s.Buttons != "do-comment" {
		t.Errorf("the cancelled case shows %+v: want 已撤销, closed, with its reason %s", s, cancelWhy)
	}
	s = open(dup.Number)
	if s.Status != "已合并" || !strings.Contains(s.Outcome, kept.Number) || !strings.Contains(s.Hint, "不在办理中") || !strings.Contains(s.History, "合并") || s.Buttons != "do-comment" {
		t.Errorf("the merged case shows %+v: want 已合并 into %s, closed", s, kept.Number)
	}
	b.screenshot("mobile-record-merged.png", true)
	b.checkNoErrors()
}

// TestMobile_offlineAcceptAppliedOnce: signed in by a login link, the
// leader opens a case, loses the network, taps 接单: the step waits in the
// queue (shown) and nothing reaches the server; when the network returns
// it is sent, once. The same step replayed with its key changes nothing,
// and a repeat under a new key (409) counts as done on the screen.
func TestMobile_offlineAcceptAppliedOnce(t *testing.T) {
	t.Parallel()
	e := newMobileEnv(t)
	inc := e.intake(t, orb.Point{112.004, 27.003}, "livelihood", "major", "自来水停了两天，老人家里没水做饭", 0)
	var link struct{ Token string }
	if code := e.do(geo.AccessAdmin, "POST", "/v1/login/links", map[string]any{"person_id": e.personID(t, "网格长1")}, &link); code != 201 {
		t.Fatalf("login link: %d", code)
	}

	b := startBrowser(t, mobileArtifacts(t))
	b.navigate(e.url + "/m/#/login/" + link.Token)
	b.waitFor(`document.querySelectorAll('#cases .card').length === 1`, "the case list after the link")
	if h := b.evalString(`location.hash`); strings.Contains(h, link.Token) {
		t.Errorf("the login link's token stays in the address: %s", h)
	}
	b.click(fmt.Sprintf(`.card[data-number="%s"]`, inc.Number))
	b.waitFor(`!!document.querySelector('#do-accept')`, "the case")

	b.network(false)
	b.waitFor(`!navigator.onLine && !document.querySelector('#net').hidden`, "offline")
	b.click("#do-accept")
	b.waitFor(`document.querySelectorAll('#queue li').length === 1 && document.querySelector('#status-text').textContent === '已接单'`, "the queued step")
	key := b.evalString(`JSON.parse(localStorage.getItem('wg.m.queue'))[0].id`)
	b.checkNoSideways("the queue")
	b.screenshot("mobile-6-offline-queued.png", false)
	time.Sleep(500 * time.Millisecond)
	if got := e.incident(t, inc.Number); got.Status != "dispatched" || countActions(got, "accept") != 0 {
		t.Fatalf("while offline the server has %s with %d accepts", got.Status, countActions(got, "accept"))
	}

	b.network(true)
	b.waitFor(`navigator.onLine && document.querySelector('#queue').hidden`, "the queue sent")
	got := e.incident(t, inc.Number)
	if got.Status != "accepted" || countActions(got, "accept") != 1 {
		t.Fatalf("after reconnecting: %s with %d accepts, want accepted once", got.Status, countActions(got, "accept"))
	}

	// The same step again under its key (the answer to the first try was
	// lost): applied once still.
	token := b.evalString(`JSON.parse(localStorage.getItem('wg.m.session')).token`)
	if code := e.do("", "POST", "/v1/incidents/"+inc.Number+"/events", map[string]any{"action": "accept", "note": ""}, nil,
		append(bearer(token), "Idempotency-Key", key)...); code != 200 {
		t.Errorf("the replay under key %s: %d, want 200", key, code)
	}
	// A second phone queued 接单 too: its key is new, the closed loop
	// refuses the repeat (409), and the screen takes that as done.
	b.eval(`localStorage.setItem('wg.m.queue', JSON.stringify([{id: 'wgm-second-phone', number: '` + inc.Number + `', kind: 'event',
		action: 'accept', note: '', state: 'waiting', error: '', tries: 0, created: new Date().toISOString()}])); window.dispatchEvent(new Event('online'))`)
	b.waitFor(`document.querySelector('#queue').hidden && document.querySelector('#toast').textContent.includes('已办理过')`, "the repeat taken as done")
	if got := e.incident(t, inc.Number); countActions(got, "accept") != 1 {
		t.Errorf("%d accepts after the replays, want 1", countActions(got, "accept"))
	}
	b.checkNoErrors()
}

// ---- a small DevTools protocol client ----

// browser is a headless Chromium with one page, driven over
// --remote-debugging-pipe: JSON messages separated by NUL bytes on file
// descriptors 3 (to the browser) and 4 (from it).
type browser struct {
	t         *testing.T
	artifacts string
	cmd       *exec.Cmd
	out       *os.File
	session   string

	mu      sync.Mutex
	next    int64
	waiting map[int64]chan cdpMessage
	errors  []string
	done    chan struct{}
}

type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// startBrowser starts Chromium (WANGGE_CHROMIUM, else /usr/bin/chromium)
// with a fresh profile and opens a page at phone size. It fails, rather
// than skips, when Chromium is missing.
func startBrowser(t *testing.T, artifacts string) *browser {
	t.Helper()
	path := os.Getenv("WANGGE_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no Chromium at %s (set WANGGE_CHROMIUM to another): install it with `apt-get install -y chromium fonts-wqy-microhei`", path)
	}
	toBrowser, browserIn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	browserOut, fromBrowser, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless=new", "--remote-debugging-pipe", "--user-data-dir=" + t.TempDir(),
		"--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio",
		"--hide-scrollbars", "--lang=zh-CN", "--font-render-hinting=none"}
	if os.Geteuid() == 0 {
		args = append(args, "--no-sandbox") // Chromium refuses to sandbox as root
	}
	cmd := exec.Command(path, append(args, "about:blank")...)
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser} // fds 3 and 4
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	toBrowser.Close()
	fromBrowser.Close()
	b := &browser{t: t, artifacts: artifacts, cmd: cmd, out: browserIn, waiting: map[int64]chan cdpMessage{}, done: make(chan struct{})}
	go b.read(browserOut)
	t.Cleanup(func() {
		b.callTimeout("", "Browser.close", nil, 5*time.Second)
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		browserIn.Close()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("chromium's stderr:\n%.3000s", stderr.String())
		}
	})

	var target struct{ TargetID string }
	b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct{ SessionID string }
	b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	for _, m := range []string{"Page.enable", "Runtime.enable", "Network.enable"} {
		b.call(b.session, m, nil, nil)
	}
	b.call(b.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": mobileWidth, "height": mobileHeight,
		"deviceScaleFactor": 2, "mobile": true}, nil)
	b.call(b.session, "Emulation.setTouchEmulationEnabled", map[string]any{"enabled": true, "maxTouchPoints": 5}, nil)
	b.call(b.session, "Emulation.setLocaleOverride", map[string]any{"locale": "zh-CN"}, nil)
	b.call(b.session, "Emulation.setTimezoneOverride", map[string]any{"timezoneId": "Asia/Shanghai"}, nil)
	return b
}

// read dispatches the browser's messages: answers to their callers, page
// errors and console errors into b.errors, dialogs accepted.
func (b *browser) read(r *os.File) {
	defer close(b.done)
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMessage
		if err := json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.waiting[m.ID]
			delete(b.waiting, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		switch m.Method {
		case "Runtime.exceptionThrown":
			var p struct {
				ExceptionDetails struct {
					Text      string
					Exception struct{ Description string }
				}
			}
			json.Unmarshal(m.Params, &p)
			b.addError("exception: " + p.ExceptionDetails.Text + " " + p.ExceptionDetails.Exception.Description)
		case "Runtime.consoleAPICalled":
			var p struct {
				Type string
				Args []struct {
					Value       any
					Description string
				}
			}
			json.Unmarshal(m.Params, &p)
			if p.Type == "error" || p.Type == "assert" {
				b.addError(fmt.Sprintf("console.%s: %+v", p.Type, p.Args))
			}
		case "Page.javascriptDialogOpening":
			go b.callTimeout(m.SessionID, "Page.handleJavaScriptDialog", map[string]any{"accept": true}, 5*time.Second)
		}
	}
}

func (b *browser) addError(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, s)
}

// checkNoErrors fails the test if the page threw or logged an error.
func (b *browser) checkNoErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		b.t.Errorf("the page: %s", e)
	}
}

// callTimeout sends one command and waits for its answer.
func (b *browser) callTimeout(session, method string, params any, timeout time.Duration) (json.RawMessage, error) {
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan cdpMessage, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	p, _ := json.Marshal(params)
	if params == nil {
		p = []byte("{}")
	}
	msg, _ := json.Marshal(cdpMessage{ID: id, Method: method, Params: p, SessionID: session})
	if _, err := b.out.Write(append(msg, 0)); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		return m.Result, nil
	case <-b.done:
		return nil, fmt.Errorf("%s: the browser exited", method)
	case <-time.After(timeout):
		return nil, fmt.Errorf("%s: no answer in %s", method, timeout)
	}
}

// call is callTimeout with 30 s that fails the test on error and decodes
// the result into out (if not nil).
func (b *browser) call(session, method string, params, out any) {
	b.t.Helper()
	res, err := b.callTimeout(session, method, params, 30*time.Second)
	if err != nil {
		b.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			b.t.Fatalf("%s: %v", method, err)
		}
	}
}

// eval runs a JavaScript expression in the page (awaiting a promise) and
// returns its value as JSON.
func (b *browser) eval(expr string) json.RawMessage {
	b.t.Helper()
	var out struct {
		Result struct {
			Value json.RawMessage
		}
		ExceptionDetails *struct {
			Text      string
			Exception struct{ Description string }
		}
	}
	b.call(b.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &out)
	if out.ExceptionDetails != nil {
		b.t.Fatalf("evaluating %s: %s %s", expr, out.ExceptionDetails.Text, out.ExceptionDetails.Exception.Description)
	}
	return out.Result.Value
}

func (b *browser) evalString(expr string) string {
	b.t.Helper()
	var s string
	json.Unmarshal(b.eval(expr), &s)
	return s
}

// waitFor polls a condition until it holds, for at most 20 s; on time out
// it keeps a screenshot and fails with the page's text.
func (b *browser) waitFor(cond, what string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if string(b.eval("!!("+cond+")")) == "true" {
			return
		}
		if time.Now().After(deadline) {
			name := "failed-" + regexp.MustCompile(`\W+`).ReplaceAllString(b.t.Name(), "-") + ".png"
			b.screenshot(name, true)
			b.t.Fatalf("waiting for %s: %s did not hold in 20 s; the page (screenshot %s):\n%s", what, cond, name,
				b.evalString(`location.href + '\n' + document.body.innerText`))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *browser) navigate(url string) {
	b.t.Helper()
	b.call(b.session, "Page.navigate", map[string]any{"url": url}, nil)
	b.waitFor(`document.readyState === 'complete' && location.href !== 'about:blank'`, "the page to load")
}

// click clicks the element sel names, scrolled into view, as a tap does.
func (b *browser) click(sel string) {
	b.t.Helper()
	js, _ := json.Marshal(sel)
	if string(b.eval(`(() => { const e = document.querySelector(`+string(js)+`); if (!e) return false; e.scrollIntoView({block: 'center'}); e.click(); return true })()`)) != "true" {
		b.t.Fatalf("nothing to click at %s; the page:\n%s", sel, b.evalString(`document.body.innerText`))
	}
}

// typeInto sets an input's value as typing does (input events fire).
func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	js, _ := json.Marshal(sel)
	val, _ := json.Marshal(text)
	if string(b.eval(`(() => { const e = document.querySelector(`+string(js)+`); if (!e) return false; e.focus(); e.value = `+string(val)+`;
		e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return true })()`)) != "true" {
		b.t.Fatalf("no input at %s", sel)
	}
}

// setFiles puts files into the file input sel, as picking them does.
func (b *browser) setFiles(sel string, files ...string) {
	b.t.Helper()
	var doc struct{ Root struct{ NodeID int64 } }
	b.call(b.session, "DOM.getDocument", map[string]any{"depth": 0}, &doc)
	var node struct{ NodeID int64 }
	b.call(b.session, "DOM.querySelector", map[string]any{"nodeId": doc.Root.NodeID, "selector": sel}, &node)
	if node.NodeID == 0 {
		b.t.Fatalf("no file input at %s", sel)
	}
	b.call(b.session, "DOM.setFileInputFiles", map[string]any{"nodeId": node.NodeID, "files": files}, nil)
}

// network takes the page's network down or brings it back.
func (b *browser) network(online bool) {
	b.t.Helper()
	b.call(b.session, "Network.emulateNetworkConditions", map[string]any{"offline": !online, "latency": 0,
		"downloadThroughput": -1, "uploadThroughput": -1}, nil)
}

// checkNoSideways fails if the page is wider than the phone.
func (b *browser) checkNoSideways(where string) {
	b.t.Helper()
	var w int
	json.Unmarshal(b.eval(`document.documentElement.scrollWidth`), &w)
	if w > mobileWidth {
		b.t.Errorf("%s scrolls sideways: scrollWidth %d > %d", where, w, mobileWidth)
	}
}

// screenshot keeps what the phone shows (the whole page when full) as
// artifacts/name.
func (b *browser) screenshot(name string, full bool) {
	b.t.Helper()
	params := map[string]any{"format": "png"}
	if full {
		var h float64
		json.Unmarshal(b.eval(`window.scrollTo(0, 0), document.documentElement.scrollHeight`), &h)
		params["captureBeyondViewport"] = true
		params["clip"] = map[string]any{"x": 0, "y": 0, "width": mobileWidth, "height": max(h, mobileHeight), "scale": 1}
	}
	var shot struct{ Data string }
	b.call(b.session, "Page.captureScreenshot", params, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(b.artifacts, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}
