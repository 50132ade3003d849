package service

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// fakeProgress is a run applying done of total changes since start.
type fakeProgress struct {
	mu          sync.Mutex
	done, total int64
	since       time.Time
}

func (f *fakeProgress) Snapshot() (int64, int64, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done, f.total, f.since
}

func (f *fakeProgress) set(done int64, since time.Time) {
	f.mu.Lock()
	f.done, f.since = done, since
	f.mu.Unlock()
}

// scriptedProgress answers each Snapshot with the next of snaps.
type scriptedProgress struct {
	mu    sync.Mutex
	snaps []snapshot
}

type snapshot struct {
	done, total int64
	since       time.Time
}

func (s *scriptedProgress) Snapshot() (int64, int64, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.snaps[0]
	if len(s.snaps) > 1 {
		s.snaps = s.snaps[1:]
	}
	return n.done, n.total, n.since
}

// The ticks are sent by the test, so every line is known to be logged
// once the next tick is taken, and nothing can log after the loop has
// returned.
func TestLogProgressLines(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	start := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	// Each tick reads the next snapshot: reading and planning, then 250
	// done of 1000 since start.
	p := &scriptedProgress{snaps: []snapshot{{total: 1000}, {done: 250, total: 1000, since: start}}}
	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { logProgressOn(ctx, zap.New(core), p, tick); close(done) }()

	tick <- start
	tick <- start.Add(10 * time.Second) // 250 in 10 s
	cancel()
	<-done

	lines := logs.FilterMessage("sync progress").All()
	if len(lines) != 2 {
		t.Fatalf("%d progress lines, want 2: %v", len(lines), logs.All())
	}
	if first := lines[0].ContextMap(); first["phase"] != "reading and planning" {
		t.Errorf("before applying: %v", first)
	}
	// 250 in 10 s is 25/s; 750 left is 30 s.
	m := lines[1].ContextMap()
	if m["done"] != int64(250) || m["total"] != int64(1000) || m["eta"] != "30s" || m["perSecond"] != 25.0 {
		t.Errorf("applying line %v, want done 250 total 1000 perSecond 25 eta 30s", m)
	}
}

func TestShowBar(t *testing.T) {
	var buf bytes.Buffer
	p := &fakeProgress{total: 40}
	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { showBarOn(ctx, &buf, p, tick); close(done) }()
	start := time.Now()
	for i := int64(1); i <= 40; i++ {
		p.set(i, start)
		tick <- time.Now()
	}
	cancel()
	<-done // the bar is finished and nothing writes to buf any more
	out := buf.String()
	for _, w := range []string{"applying changes", "40/40", "changes/s"} {
		if !bytes.Contains([]byte(out), []byte(w)) {
			t.Errorf("bar output lacks %q: %q", w, out)
		}
	}
	// While applying, the bar shows elapsed:remaining (the ETA).
	if !regexp.MustCompile(`\[\d+s:\d+s\]`).MatchString(out) {
		t.Errorf("bar never showed an ETA: %q", out)
	}
}

// Without a terminal (a pipe, a file, journald) run-now logs lines
// instead of drawing a bar.
func TestNoBarWithoutTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, w := range map[string]io.Writer{"buffer": &bytes.Buffer{}, "file": f} {
		if IsTerminal(w) {
			t.Errorf("%s taken for a terminal", name)
		}
	}
}

func TestRateAndETA(t *testing.T) {
	cases := []struct {
		name        string
		done, total int64
		elapsed     time.Duration
		rate        float64
		eta         time.Duration
	}{
		{"nothing done yet", 0, 100, time.Second, 0, 0},
		{"half way at 10/s", 50, 100, 5 * time.Second, 10, 5 * time.Second},
		{"done", 100, 100, 10 * time.Second, 10, 0},
		{"500 a minute budget", 250, 1000, 30 * time.Second, 8.3, 90 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rate, eta := rateAndETA(tc.done, tc.total, tc.elapsed)
			if rate != tc.rate || eta != tc.eta {
				t.Errorf("rate %v eta %v, want %v %v", rate, eta, tc.rate, tc.eta)
			}
		})
	}
}
