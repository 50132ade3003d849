package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"condeco-visitor-sync/visitor/simulator"
)

// target is the Visitor simulator as the bench serves it: the simulator's
// own handler behind a recorder that notes when each write arrived, so the
// write rate is measured where the budget is enforced, at the server.
type target struct {
	url  string
	sim  *simulator.Server
	rec  *recorder
	stop func(context.Context) error
}

func startTarget(o simulator.Options) (*target, error) {
	addr := "127.0.0.1:0"
	if err := simulator.CheckLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	sim := simulator.New(o)
	rec := &recorder{h: sim}
	hs := &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				rec.conns.Add(1)
			}
		}}
	go func() { _ = hs.Serve(ln) }()
	return &target{url: "http://" + ln.Addr().String() + simulator.BasePath, sim: sim, rec: rec, stop: hs.Shutdown}, nil
}

// recorder counts writes (POST, PUT, PATCH, DELETE) and keeps the arrival
// time of the first and the last since the last reset.
type recorder struct {
	h     http.Handler
	conns atomic.Int64

	mu          sync.Mutex
	writes      int
	first, last time.Time
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		now := time.Now()
		r.mu.Lock()
		if r.writes == 0 {
			r.first = now
		}
		r.writes++
		r.last = now
		r.mu.Unlock()
	}
	r.h.ServeHTTP(w, req)
}

// window is what the recorder saw since the last reset.
type window struct {
	Writes      int
	First, Last time.Time
	Conns       int64
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes, r.first, r.last = 0, time.Time{}, time.Time{}
	r.conns.Store(0)
}

func (r *recorder) window() window {
	r.mu.Lock()
	defer r.mu.Unlock()
	return window{Writes: r.writes, First: r.first, Last: r.last, Conns: r.conns.Load()}
}
