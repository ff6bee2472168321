package main

import (
	"io"
	"strings"
	"testing"
)

// TestConfig_escalateViaDistrict: escalation through the 片区 is off by
// default, set by WANGGE_ESCALATE_VIA_DISTRICT or --escalate-via-district
// (a flag over its variable), reaches the dispatch configuration, and a bad
// value is named with what is expected.
func TestConfig_escalateViaDistrict(t *testing.T) {
	cleanEnv(t)
	t.Setenv("WANGGE_ESCALATE_VIA_DISTRICT", "")
	c := DefaultConfig()
	if err := c.Validate(); err != nil || c.dispatch.ViaDistrict {
		t.Fatalf("defaults: via district %v, %v; want off", c.dispatch.ViaDistrict, err)
	}
	t.Setenv("WANGGE_ESCALATE_VIA_DISTRICT", "true")
	c = DefaultConfig()
	if err := c.Validate(); err != nil || !c.dispatch.ViaDistrict {
		t.Errorf("from the environment: via district %v, %v; want on", c.dispatch.ViaDistrict, err)
	}
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--escalate-via-district=false"}); err != nil || m.Config.dispatch.ViaDistrict {
		t.Errorf("the flag over the variable: via district %v, %v; want off", m.Config.dispatch.ViaDistrict, err)
	}
	t.Setenv("WANGGE_ESCALATE_VIA_DISTRICT", "maybe")
	c = DefaultConfig()
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), `WANGGE_ESCALATE_VIA_DISTRICT: got "maybe", want true or false`) {
		t.Errorf("a bad value: %v", err)
	}
}
