package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
)

// SMTP transport security (config key notify_smtp_tls).
const (
	TLSStartTLS = "starttls" // upgrade a plain connection; refuse if not offered
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // clear text: a loopback relay only, or with a warning
)

// SMTPOptions configure the email channel.
type SMTPOptions struct {
	Host     string
	Port     int
	User     string
	Password string
	From     string
	To       []string
	TLS      string
	// RootCAs verifies the server; nil means the system's roots.
	RootCAs *x509.CertPool
}

// emailAttempts: a greylisting or busy relay answers 4xx and expects the
// sender to come back; a 5xx is final.
const emailAttempts = 3

// email sends a plain-text message through an SMTP relay with net/smtp.
type email struct{ o SMTPOptions }

func (e *email) name() string { return "email via " + e.o.Host }

func (e *email) send(ctx context.Context, m message) error {
	msg, err := e.build(m)
	if err != nil {
		return err
	}
	wait := time.Second
	for attempt := 1; ; attempt++ {
		err = e.sendOnce(ctx, msg)
		if err == nil || attempt == emailAttempts || !transient(err) || ctx.Err() != nil {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("after %d attempts: %w", attempt, err)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %d attempts: %w", attempt, err)
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// transient says whether another attempt may succeed: a network error or
// a 4xx reply.
func transient(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 400 && te.Code < 500
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, net.ErrClosed)
}

func (e *email) sendOnce(ctx context.Context, msg []byte) error {
	addr := net.JoinHostPort(e.o.Host, strconv.Itoa(e.o.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", addr, err)
	}
	// net/smtp takes no context: the deadline and AfterFunc bound every
	// read and write instead.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	tlsCfg := &tls.Config{ServerName: e.o.Host, RootCAs: e.o.RootCAs, MinVersion: tls.VersionTLS12}
	if e.o.TLS == TLSImplicit {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("TLS with %s: %w", addr, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, e.o.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("greeting from %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.Hello(localName()); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if e.o.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("%s does not offer STARTTLS; refusing to send in clear text (notify_smtp_tls)", addr)
		}
		if err := c.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("STARTTLS with %s: %w", addr, err)
		}
	}
	if e.o.User != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("%s offers no AUTH but notify_smtp_user is set", addr)
		}
		// PlainAuth itself refuses to send the password over a connection
		// that is neither TLS nor to localhost.
		if err := c.Auth(smtp.PlainAuth("", e.o.User, e.o.Password, e.o.Host)); err != nil {
			return fmt.Errorf("AUTH as %s: %w", e.o.User, err)
		}
	}
	from, _ := mail.ParseAddress(e.o.From)
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("MAIL FROM %s: %w", from.Address, err)
	}
	for _, t := range e.o.To {
		a, _ := mail.ParseAddress(t)
		if err := c.Rcpt(a.Address); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", a.Address, err)
		}
	}
	wc, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := wc.Write(msg); err != nil {
		return fmt.Errorf("writing message: %w", err)
	}
	if err := wc.Close(); err != nil {
		return fmt.Errorf("message refused: %w", err)
	}
	// The relay has accepted the message: a failed QUIT must not make a
	// retry send it twice.
	c.Quit()
	return nil
}

// build renders the RFC 5322 message. Every header value is either ours
// or passed through oneLine/mime encoding, so a user name from Condeco
// cannot inject a header.
func (e *email) build(m message) ([]byte, error) {
	from, err := mail.ParseAddress(e.o.From)
	if err != nil {
		return nil, fmt.Errorf("notify_smtp_from: %w", err)
	}
	var to []string
	for _, t := range e.o.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("notify_smtp_to %q: %w", t, err)
		}
		to = append(to, a.String())
	}
	id := make([]byte, 8)
	rand.Read(id)
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from.String())
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject)))
	h("Date", time.Now().Format(time.RFC1123Z))
	h("Message-ID", fmt.Sprintf("<cvs.%s.%s@%s>", oneLine(m.RunID), hex.EncodeToString(id), domainOf(from.Address)))
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	// RFC 3834: no out-of-office replies to a robot.
	h("Auto-Submitted", "auto-generated")
	h("X-CVS-Run-ID", oneLine(m.RunID))
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n")))
	qp.Close()
	return b.Bytes(), nil
}

func domainOf(addr string) string {
	if _, d, ok := strings.Cut(addr, "@"); ok && d != "" {
		return d
	}
	return "localhost"
}

// localName is the EHLO name: the host name when it is a plain DNS label
// string, since some relays reject "localhost" from a remote peer.
func localName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \r\n") {
		return "localhost"
	}
	return h
}
