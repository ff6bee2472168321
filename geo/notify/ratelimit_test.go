package notify

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)
	t.Run("per number", func(t *testing.T) {
		l := newLimiter(time.Minute, -1)
		if undo, _, _ := l.reserve("a", t0); undo == nil {
			t.Fatal("first refused")
		}
		if undo, wait, which := l.reserve("a", t0.Add(15*time.Second)); undo != nil || wait != 45*time.Second || which != "per number" {
			t.Errorf("second = %v %s %q, want refused for 45s per number", undo != nil, wait, which)
		}
		if undo, _, _ := l.reserve("a", t0.Add(time.Minute)); undo == nil {
			t.Error("refused after the interval")
		}
	})
	t.Run("undo gives the slot back", func(t *testing.T) {
		l := newLimiter(time.Minute, 1)
		undo, _, _ := l.reserve("a", t0)
		undo()
		if again, _, _ := l.reserve("a", t0); again == nil {
			t.Error("refused after undo")
		}
	})
	t.Run("undo restores the earlier send", func(t *testing.T) {
		l := newLimiter(time.Minute, -1)
		l.reserve("a", t0)
		undo, _, _ := l.reserve("a", t0.Add(time.Minute))
		undo()
		if _, wait, _ := l.reserve("a", t0.Add(70*time.Second)); wait != 0 {
			t.Errorf("wait %s: undo did not restore the send at t0", wait)
		}
	})
	t.Run("per second bucket refills", func(t *testing.T) {
		l := newLimiter(-1, 4)
		for i := range 4 {
			if undo, _, _ := l.reserve(fmt.Sprint(i), t0); undo == nil {
				t.Fatalf("send %d refused", i)
			}
		}
		if _, wait, which := l.reserve("x", t0); wait != 250*time.Millisecond || which != "per second" {
			t.Errorf("fifth = %s %q, want 250ms per second", wait, which)
		}
		if undo, _, _ := l.reserve("x", t0.Add(250*time.Millisecond)); undo == nil {
			t.Error("refused after a quarter second")
		}
		// The bucket holds one second's worth, however long it was idle.
		for i := range 5 {
			undo, _, _ := l.reserve(fmt.Sprint(i), t0.Add(time.Hour))
			if got := undo != nil; got != (i < 4) {
				t.Errorf("after an idle hour, send %d allowed %v", i, got)
			}
		}
	})
	t.Run("stale numbers are swept", func(t *testing.T) {
		l := newLimiter(time.Minute, -1)
		for i := range sweepAt {
			l.reserve(fmt.Sprint(i), t0)
		}
		l.reserve("late", t0.Add(2*time.Minute))
		if n := len(l.last); n != 1 {
			t.Errorf("%d numbers kept, want 1", n)
		}
	})
}
