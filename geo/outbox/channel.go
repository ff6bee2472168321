package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"wangge/geo"
	"wangge/geo/notify"
)

// ChannelRequest is a channel as an admin writes it (POST /v1/channels,
// `wangge channel add`): the platform settings of geo/notify, the secret,
// and which incidents it hears of. On PATCH, absent members keep their
// value; "secret": "" keeps the stored secret.
type ChannelRequest struct {
	Name     *string           `json:"name"`
	Kind     *string           `json:"kind"`
	Enabled  *bool             `json:"enabled"`
	URL      *string           `json:"url"`
	Secret   *string           `json:"secret"`
	Format   *string           `json:"format"`
	Method   *string           `json:"method"`
	Headers  map[string]string `json:"headers"`
	Template *string           `json:"body_template"`
	// ContentType, SuccessField, SuccessValue, MaxRunes, PerNumberSeconds,
	// PerSecond and TimeoutSeconds are the SMS gateway's (see notify.Config).
	ContentType      *string  `json:"content_type"`
	SuccessField     *string  `json:"success_field"`
	SuccessValue     *string  `json:"success_value"`
	MaxRunes         *int     `json:"max_runes"`
	PerNumberSeconds *float64 `json:"per_number_seconds"`
	PerSecond        *int     `json:"per_second"`
	TimeoutSeconds   *float64 `json:"timeout_seconds"`
	Village          *string  `json:"village"`
	Grid             *string  `json:"grid"`
	Categories       []string `json:"categories"`
	Severities       []string `json:"severities"`
	Kinds            []string `json:"kinds"`
}

// Apply checks r whole and applies it to rec (a zero record for a new
// channel), sealing the secret with key. snap checks the village and grid,
// limits the categories (every code of its catalogue, inactive ones too:
// an item made inactive can be made active again, and a channel may keep
// naming it meanwhile; nil: the built-in categories).
// Every wrong member is a located problem of one EINVALID error; rec is
// unchanged then.
func (r ChannelRequest) Apply(rec *geo.ChannelRecord, key []byte, snap *geo.Snapshot, limits *geo.Limits) error {
	out := *rec
	var cfg notify.Config
	if len(rec.Settings) > 0 {
		if err := json.Unmarshal(rec.Settings, &cfg); err != nil {
			return geo.Errorf(geo.EINTERNAL, "stored settings of channel %d: %v", rec.ID, err)
		}
	}
	var probs []geo.Problem
	bad := func(where, format string, args ...any) {
		probs = append(probs, geo.Problem{Where: where, Reason: fmt.Sprintf(format, args...)})
	}
	isNew := rec.ID == 0
	if r.Name != nil {
		out.Name = strings.TrimSpace(*r.Name)
	}
	if out.Name == "" || utf8.RuneCountInString(out.Name) > 100 {
		bad("name", "required, at most 100 characters")
	}
	if r.Kind != nil {
		if !isNew && geo.ChannelKind(*r.Kind) != rec.Kind {
			bad("kind", "a channel keeps its kind: add a new channel instead")
		}
		out.Kind = geo.ChannelKind(*r.Kind)
	}
	if !slices.Contains(geo.ChannelKinds, out.Kind) {
		bad("kind", "got %q, want one of %v", geo.Clip(string(out.Kind)), geo.ChannelKinds)
	}
	cfg.Channel = notify.Channel(out.Kind)
	if isNew {
		out.Enabled = true
	}
	if r.Enabled != nil {
		out.Enabled = *r.Enabled
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&cfg.URL, r.URL)
	set(&cfg.Format, r.Format)
	set(&cfg.Method, r.Method)
	set(&cfg.BodyTemplate, r.Template)
	set(&cfg.ContentType, r.ContentType)
	set(&cfg.SuccessField, r.SuccessField)
	set(&cfg.SuccessValue, r.SuccessValue)
	if r.Headers != nil {
		cfg.Headers = r.Headers
	}
	if r.MaxRunes != nil {
		cfg.MaxRunes = *r.MaxRunes
	}
	if r.PerSecond != nil {
		cfg.PerSecond = *r.PerSecond
	}
	if r.PerNumberSeconds != nil {
		cfg.PerNumberInterval = time.Duration(*r.PerNumberSeconds * float64(time.Second))
	}
	if r.TimeoutSeconds != nil {
		cfg.Timeout = time.Duration(*r.TimeoutSeconds * float64(time.Second))
	}
	// The secret is checked with the settings (a DingTalk secret starts
	// with SEC, a webhook's is long enough), so it is opened first.
	if out.SecretSealed != "" {
		s, err := notify.OpenSecret(key, out.SecretSealed)
		if err != nil {
			bad("secret", "the stored secret cannot be opened with this server's key: send it again")
		}
		cfg.Secret = s
	}
	if r.Secret != nil && *r.Secret != "" {
		cfg.Secret = *r.Secret
	}
	if err := cfg.Validate(); err != nil {
		if ge := (*geo.Error)(nil); errors.As(err, &ge) && len(ge.Problems) > 0 {
			probs = append(probs, ge.Problems...)
		} else {
			bad("settings", "%s", geo.ErrorMessage(err))
		}
	}
	if r.Village != nil {
		out.VillageCode = *r.Village
	}
	if r.Grid != nil {
		out.GridCode = *r.Grid
	}
	if out.VillageCode != "" {
		if _, ok := snap.Village(out.VillageCode); !ok {
			bad("village", "no village %q in the town", geo.Clip(out.VillageCode))
		}
	}
	if out.GridCode != "" {
		if _, ok := snap.Grid(out.GridCode); !ok {
			bad("grid", "no grid %q in the current generation", geo.Clip(out.GridCode))
		}
	}
	if r.Categories != nil {
		out.Categories = oneOfEach(r.Categories, limits.Categories(true), "categories", bad)
	}
	if r.Severities != nil {
		out.Severities = oneOfEach(r.Severities, geo.Severities, "severities", bad)
	}
	if r.Kinds != nil {
		out.Kinds = oneOfEach(r.Kinds, geo.MessageKinds, "kinds", bad)
	}
	if len(probs) > 0 {
		return geo.Invalid(probs...)
	}
	sealed := ""
	if cfg.Secret != "" {
		var err error
		if sealed, err = notify.SealSecret(key, cfg.Secret); err != nil {
			return err
		}
	}
	settings, err := json.Marshal(cfg) // Secret is left out of JSON
	if err != nil {
		return err
	}
	out.Settings, out.SecretSealed = settings, sealed
	*rec = out
	return nil
}

// oneOfEach converts raw to T, reporting through bad each entry that is
// not one of allowed (as field[i]).
func oneOfEach[T ~string](raw []string, allowed []T, field string, bad func(where, format string, args ...any)) []T {
	out := make([]T, 0, len(raw))
	for i, v := range raw {
		if !slices.Contains(allowed, T(v)) {
			bad(fmt.Sprintf("%s[%d]", field, i), "got %q, want one of %v", geo.Clip(v), allowed)
		}
		out = append(out, T(v))
	}
	return out
}

// ChannelView is a channel as the API shows it: never the secret, the URL
// with its key redacted.
type ChannelView struct {
	ID         int64             `json:"id"`
	Name       string            `json:"name"`
	Kind       geo.ChannelKind   `json:"kind"`
	Enabled    bool              `json:"enabled"`
	URL        string            `json:"url"`
	HasSecret  bool              `json:"has_secret"`
	Format     string            `json:"format,omitempty"`
	Village    string            `json:"village,omitempty"`
	Grid       string            `json:"grid,omitempty"`
	Categories []geo.Category    `json:"categories"`
	Severities []geo.Severity    `json:"severities"`
	Kinds      []geo.MessageKind `json:"kinds"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

// View renders rec for the API.
func View(rec geo.ChannelRecord) ChannelView {
	var cfg notify.Config
	_ = json.Unmarshal(rec.Settings, &cfg)
	v := ChannelView{ID: rec.ID, Name: rec.Name, Kind: rec.Kind, Enabled: rec.Enabled, URL: notify.RedactURL(cfg.URL),
		HasSecret: rec.SecretSealed != "", Format: cfg.Format, Village: rec.VillageCode, Grid: rec.GridCode,
		Categories: rec.Categories, Severities: rec.Severities, Kinds: rec.Kinds, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}
	if v.Categories == nil {
		v.Categories = []geo.Category{}
	}
	if v.Severities == nil {
		v.Severities = []geo.Severity{}
	}
	if v.Kinds == nil {
		v.Kinds = []geo.MessageKind{}
	}
	return v
}
