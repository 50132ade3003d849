package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	gosync "sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// fakeProgress is a run applying done of total changes since start.
type fakeProgress struct {
	mu          gosync.Mutex
	done, total int64
	since       time.Time
}

func (f *fakeProgress) Snapshot() (int64, int64, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done, f.total, f.since
}

func (f *fakeProgress) set(done int64) {
	f.mu.Lock()
	f.done = done
	f.mu.Unlock()
}

func TestLogProgressLines(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	p := &fakeProgress{total: 1000}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { logProgress(ctx, zap.New(core), p, 20*time.Millisecond); close(done) }()

	waitFor(t, 5*time.Second, "a planning line", func() bool { return logs.FilterMessage("sync progress").Len() >= 1 })
	p.mu.Lock()
	p.since, p.done = time.Now().Add(-10*time.Second), 250
	p.mu.Unlock()
	waitFor(t, 5*time.Second, "an applying line", func() bool {
		for _, e := range logs.FilterMessage("sync progress").All() {
			if _, ok := e.ContextMap()["done"]; ok {
				return true
			}
		}
		return false
	})
	cancel()
	<-done

	first := logs.FilterMessage("sync progress").All()[0].ContextMap()
	if first["phase"] != "reading and planning" {
		t.Errorf("before applying: %v", first)
	}
	for _, e := range logs.FilterMessage("sync progress").All() {
		m := e.ContextMap()
		if _, ok := m["done"]; !ok {
			continue
		}
		// 250 in 10 s is 25/s; 750 left is 30 s.
		if m["done"] != int64(250) || m["total"] != int64(1000) || m["eta"] != "30s" {
			t.Errorf("applying line %v, want done 250 total 1000 eta 30s", m)
		}
		if r, _ := m["perSecond"].(float64); r < 24 || r > 26 {
			t.Errorf("perSecond %v, want about 25", m["perSecond"])
		}
		break
	}
	n := logs.Len()
	time.Sleep(100 * time.Millisecond)
	if logs.Len() != n {
		t.Error("progress lines after the run ended")
	}
}

func TestShowBar(t *testing.T) {
	var buf syncBuffer
	p := &fakeProgress{total: 40, since: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { showBar(ctx, &buf, p); close(done) }()
	for i := int64(1); i <= 40; i++ {
		p.set(i)
		time.Sleep(15 * time.Millisecond)
	}
	time.Sleep(250 * time.Millisecond)
	cancel()
	<-done
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
		if isTerminal(w) {
			t.Errorf("%s taken for a terminal", name)
		}
	}
}
