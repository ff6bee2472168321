package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"wangge/geo/pgstore/pgtest"
)

// TestChannel_cli: an admin adds, lists, disables and enables a channel on
// the command line; the secret comes from the environment and is never
// printed; bad settings are refused naming the field.
func TestChannel_cli(t *testing.T) {
	url := pgtest.ConnString(t)
	t.Setenv("WANGGE_SECRET_KEY", "a test passphrase of some length")
	var out, errb bytes.Buffer
	run := func(args ...string) error {
		out.Reset()
		errb.Reset()
		return Run(context.Background(), append(args, "-database-url", url), &out, &errb)
	}
	if err := run("migrate"); err != nil {
		t.Fatal(err)
	}
	if err := run("import", "../../fixtures/heye"); err != nil {
		t.Fatalf("import: %v %s", err, errb.String())
	}
	t.Setenv("WANGGE_CHANNEL_SECRET", "SECthis-is-a-dingtalk-secret-0123456789")
	if err := run("channel", "add", "--name", "镇钉钉群", "--kind", "dingtalk",
		"--url", "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123456789abcdef"); err != nil {
		t.Fatalf("add: %v %s", err, errb.String())
	}
	if err := run("channel", "add", "--name", "坏的", "--kind", "wecom", "--url", "ftp://x"); err == nil || !strings.Contains(err.Error(), "url") {
		t.Errorf("a bad URL: %v, want an error naming url", err)
	}
	if err := run("channel", "disable", "镇钉钉群"); err != nil {
		t.Fatal(err)
	}
	if err := run("channel", "list"); err != nil {
		t.Fatal(err)
	}
	list := out.String()
	if !strings.Contains(list, "镇钉钉群") || !strings.Contains(list, "false") || strings.Contains(list, "SECthis") ||
		strings.Contains(list, "0123456789abcdef0123456789abcdef") {
		t.Errorf("list shows %q: want the disabled channel, no secret, the token redacted", list)
	}
	if err := run("channel", "enable", "镇钉钉群"); err != nil {
		t.Fatal(err)
	}
	if err := run("channel", "enable", "无此群"); err == nil {
		t.Error("enabling an unknown channel succeeded")
	}
}
