package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"wangge/geo"
	"wangge/geo/outbox"
)

// runChannel manages notification channels from the command line, as
// /v1/channels does over HTTP: list, add, enable, disable. The secret is
// read from WANGGE_CHANNEL_SECRET, never from a flag (flags show in ps).
func runChannel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("channel: want list, add, enable or disable")
	}
	sub, args := args[0], args[1:]
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("wangge channel "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.databaseFlags(fs)
	var req outbox.ChannelRequest
	str := func(name, usage string) *string { return fs.String(name, "", usage) }
	name := str("name", "add: the channel's name, e.g. 荷叶村网格群")
	kind := str("kind", "add: wecom, dingtalk, feishu, sms or webhook")
	url := str("url", "add: the robot's webhook, the SMS gateway's endpoint or the receiver's URL")
	format := str("format", "add: text (default) or markdown")
	village := str("village", "add: only incidents of this village (12 digits)")
	grid := str("grid", "add: only incidents of this grid (15 digits)")
	template := str("body-template", "add, sms: the request body with {phone} {text} {id} … placeholders")
	contentType := str("content-type", "add, sms: the body's media type (default application/json)")
	kinds := str("kinds", "add: comma-separated message kinds it takes (default all)")
	var headers headerFlags
	fs.Var(&headers, "header", `add: "Name: value" added to every request (repeatable; {secret} is replaced)`)
	pos, err := cfg.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	switch sub {
	case "list", "add":
		if len(pos) != 0 {
			return fmt.Errorf("channel %s: got arguments %q, want flags only", sub, pos)
		}
	case "enable", "disable":
		if len(pos) != 1 {
			return fmt.Errorf("channel %s: want the channel's name", sub)
		}
	default:
		return fmt.Errorf("channel: unknown subcommand %q: want list, add, enable or disable", sub)
	}
	log := cliLogger(stderr)
	key, err := channelKey(cfg, log)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.close(log, false)
	now := time.Now().UTC()
	snap, err := db.snapshot(ctx)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		recs, err := db.ChannelRecords(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tKIND\tENABLED\tURL\tSCOPE")
		for _, r := range recs {
			v := outbox.View(r)
			scope := "town"
			if v.Village != "" {
				scope = "village " + v.Village
			} else if v.Grid != "" {
				scope = "grid " + v.Grid
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%v\t%s\t%s\n", v.ID, v.Name, v.Kind, v.Enabled, v.URL, scope)
		}
		return w.Flush()
	case "add":
		set := func(dst **string, v string) {
			if v != "" {
				*dst = &v
			}
		}
		set(&req.Name, *name)
		set(&req.Kind, *kind)
		set(&req.URL, *url)
		set(&req.Format, *format)
		set(&req.Village, *village)
		set(&req.Grid, *grid)
		set(&req.Template, *template)
		set(&req.ContentType, *contentType)
		if secret := os.Getenv("WANGGE_CHANNEL_SECRET"); secret != "" {
			req.Secret = &secret
		}
		if *kinds != "" {
			req.Kinds = strings.Split(*kinds, ",")
		}
		if len(headers) > 0 {
			req.Headers = map[string]string(headers)
		}
		var rec geo.ChannelRecord
		// The command sets no categories, so the built-in list (nil
		// limits) checks nothing it sends.
		if err := req.Apply(&rec, key, snap, nil); err != nil {
			return err
		}
		out, err := db.CreateChannel(ctx, rec, "cli", now)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "channel %q (%s) added as %d\n", out.Name, out.Kind, out.ID)
		return nil
	}
	recs, err := db.ChannelRecords(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Name != pos[0] {
			continue
		}
		enabled := sub == "enable"
		_, err := db.UpdateChannel(ctx, r.ID, "cli", now, func(rec *geo.ChannelRecord) error {
			return outbox.ChannelRequest{Enabled: &enabled}.Apply(rec, key, snap, nil)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "channel %q %sd\n", r.Name, sub)
		return nil
	}
	return fmt.Errorf("channel %s: no channel named %q (see wangge channel list)", sub, pos[0])
}

// headerFlags collects repeated --header "Name: value" flags.
type headerFlags map[string]string

func (h *headerFlags) String() string { return fmt.Sprint(map[string]string(*h)) }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want \"Name: value\", got %q", v)
	}
	if *h == nil {
		*h = headerFlags{}
	}
	(*h)[strings.TrimSpace(name)] = strings.TrimSpace(value)
	return nil
}
