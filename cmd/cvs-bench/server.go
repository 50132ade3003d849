package main

import (
	"context"
	"fmt"
	"io"
	"maps"
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
	// locations the simulator held at the start (generic-v1: none).
	locations int
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
	base := simulator.BasePath
	if o.API == simulator.APIGenericV1 {
		base = simulator.GenericBasePath
	}
	// Bodies are counted for generic-v1 only, so that the scim2 bench
	// measures what it always has.
	rec := &recorder{h: sim, countBytes: o.API == simulator.APIGenericV1}
	hs := &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				rec.conns.Add(1)
			}
		}}
	go func() { _ = hs.Serve(ln) }()
	return &target{url: "http://" + ln.Addr().String() + base, sim: sim, rec: rec, stop: hs.Shutdown, locations: len(sim.Locations())}, nil
}

// recorder counts writes (POST, PUT, PATCH, DELETE) and keeps the arrival
// time of the first and the last since the last reset; with countBytes,
// also the bytes of their request bodies, by method.
type recorder struct {
	h          http.Handler
	conns      atomic.Int64
	countBytes bool

	mu          sync.Mutex
	writes      int
	first, last time.Time
	bytes       map[string]int64
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
		if r.countBytes && req.Body != nil {
			// What the client sent: Content-Length when it says, else
			// what the handler read.
			cb := &countingBody{ReadCloser: req.Body}
			req.Body = cb
			defer func() {
				n := cb.n
				if req.ContentLength >= 0 {
					n = req.ContentLength
				}
				r.mu.Lock()
				if r.bytes == nil {
					r.bytes = map[string]int64{}
				}
				r.bytes[req.Method] += n
				r.mu.Unlock()
			}()
		}
	}
	r.h.ServeHTTP(w, req)
}

// countingBody counts what the handler read of a request body.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

// window is what the recorder saw since the last reset.
type window struct {
	Writes      int
	First, Last time.Time
	Conns       int64
	Bytes       map[string]int64 // request body bytes by write method (countBytes)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes, r.first, r.last, r.bytes = 0, time.Time{}, time.Time{}, nil
	r.conns.Store(0)
}

func (r *recorder) window() window {
	r.mu.Lock()
	defer r.mu.Unlock()
	return window{Writes: r.writes, First: r.first, Last: r.last, Conns: r.conns.Load(), Bytes: maps.Clone(r.bytes)}
}
