// Package notifytest runs a real SMTP server on loopback for tests, so the
// email channel is checked against an independent implementation
// (github.com/emersion/go-smtp) rather than a fake written alongside it.
// Only tests import it.
package notifytest

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options shape the server's behaviour.
type Options struct {
	// NoTLS: do not offer STARTTLS (and allow AUTH in clear text).
	NoTLS bool
	// Implicit: TLS from the first byte, as on port 465.
	Implicit bool
	// User and Password, when set, are required (AUTH PLAIN).
	User, Password string
	// RejectData answers DATA with this SMTP code (e.g. 554, or 451 for a
	// temporary failure) instead of accepting the message.
	RejectData int
}

// Message is one accepted email.
type Message struct {
	From string
	To   []string
	Data string
	TLS  bool // the session was encrypted
}

// Server is a running loopback SMTP server.
type Server struct {
	Host    string
	Port    int
	RootCAs *x509.CertPool // trusts the server's certificate

	o        Options
	mu       sync.Mutex
	messages []Message
	auths    []string // "user:ok" or "user:fail"
	datas    int
}

// Start runs a server on 127.0.0.1 until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	// httptest's certificate is valid for 127.0.0.1: reuse it rather than
	// generating one.
	hs := httptest.NewUnstartedServer(nil)
	hs.StartTLS()
	cert := hs.TLS.Certificates[0]
	pool := x509.NewCertPool()
	pool.AddCert(hs.Certificate())
	hs.Close()

	s := &Server{Host: "127.0.0.1", RootCAs: pool, o: o}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, c: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.MaxRecipients = 10
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if !o.NoTLS {
		srv.TLSConfig = tlsCfg
	} else {
		srv.AllowInsecureAuth = true
	}
	var ln net.Listener
	var err error
	if o.Implicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", tlsCfg)
		srv.TLSConfig = nil // no STARTTLS inside TLS
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Messages returns the accepted messages so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Auths returns "user:ok" or "user:fail" per AUTH attempt.
func (s *Server) Auths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...)
}

// DataAttempts counts DATA commands, accepted or not, to see retries.
// (Sessions would not do: go-smtp starts a new one after STARTTLS.)
func (s *Server) DataAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.datas
}

type session struct {
	s      *Server
	c      *smtp.Conn
	authed bool
	msg    Message
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		ok := x.s.o.User != "" && user == x.s.o.User && pass == x.s.o.Password
		x.s.mu.Lock()
		if ok {
			x.s.auths = append(x.s.auths, user+":ok")
		} else {
			x.s.auths = append(x.s.auths, user+":fail")
		}
		x.s.mu.Unlock()
		if !ok {
			return smtp.ErrAuthFailed
		}
		x.authed = true
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.o.User != "" && !x.authed {
		return errAuthRequired
	}
	_, isTLS := x.c.TLSConnectionState()
	x.msg = Message{From: from, TLS: isTLS}
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.msg.To = append(x.msg.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.datas++
	x.s.mu.Unlock()
	if code := x.s.o.RejectData; code != 0 {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "rejected by test server"}
	}
	x.msg.Data = string(b)
	x.s.mu.Lock()
	x.s.messages = append(x.s.messages, x.msg)
	x.s.mu.Unlock()
	return nil
}

func (x *session) Reset() { x.msg = Message{} }

func (x *session) Logout() error { return nil }
