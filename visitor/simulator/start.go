package simulator

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Start serves a new Server on addr (127.0.0.1:0 when empty) and returns
// its SCIM base URL (ending in BasePath or GenericBasePath, by o.API). It refuses addresses that are not loopback: the
// simulator accepts made-up tokens and must never face a network.
func Start(o Options, addr string) (url string, srv *Server, stop func(context.Context) error, err error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := CheckLoopback(addr); err != nil {
		return "", nil, nil, err
	}
	if err := o.checkAPI(); err != nil {
		return "", nil, nil, err
	}
	if err := o.Faults.Validate(); err != nil {
		return "", nil, nil, fmt.Errorf("faults: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	srv = New(o)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return "http://" + ln.Addr().String() + srv.basePath(), srv, hs.Shutdown, nil
}

// CheckLoopback returns an error unless addr's host is a loopback IP or
// localhost.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not loopback", addr)
	}
	return nil
}
