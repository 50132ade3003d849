package conformance

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Each case's RFC section and what the sync must do are also the rows of
// docs/compatibility.md; a case's pending names the point of issue 14 that
// will make it pass, and is removed with the code that does.

// TestListingFaults: a listing that cannot be the server's whole truth
// must not be planned on. Issue 14 point 1: the run ends with exit 9
// before any write, saying which page was wrong, and the tenant is as it
// was (the next clean dry run plans nothing).
func TestListingFaults(t *testing.T) {
	cases := []struct {
		fault   fault
		rfc     string
		pending string
	}{
		{emptyPage2, "RFC 7644 §3.4.2.4", ""},
		{shrinkingTotal, "RFC 7644 §3.4.2.4", ""},
		{negativeTotal, "RFC 7644 §3.4.2", ""},
		{repeatPage1, "RFC 7644 §3.4.2.4", ""},
		{repeatResource, "RFC 7644 §3.4.2.4", ""},
		{duplicateID, "RFC 7643 §3.1", ""},
	}
	for _, c := range cases {
		t.Run(string(c.fault), func(t *testing.T) {
			pending(t, c.pending)
			e := newEnv(t, "")
			e.want(e.run("initial sync", "--run-now"), exitOK)

			e.proxy.set(c.fault)
			r := e.run(string(c.fault), "--run-now")
			e.hit(c.fault)
			if r.code != exitTarget || r.writes != 0 {
				t.Errorf("%s (%s): want exit %d and no write to the server:\n%s", c.fault, c.rfc, exitTarget, r)
			}
			if out := strings.ToLower(r.stdout + r.stderr); !strings.Contains(out, "page") && !strings.Contains(out, "startindex") {
				t.Errorf("%s: the message does not say which page was wrong:\n%s", c.fault, r)
			}

			e.proxy.set(noFault)
			e.converged("clean dry run after " + string(c.fault))
		})
	}
}

// TestRFCAllowedAnswers: a server may answer as these cases do and still
// be a conforming SCIM server, so the sync must converge through them.
// Issue 14 point 4: the initial sync exits 0 with every user created once,
// and the next dry run, through the same answers, plans nothing.
func TestRFCAllowedAnswers(t *testing.T) {
	cases := []struct {
		fault   fault
		rfc     string
		cfg     string
		pending string
	}{
		// RFC 7644 §3.3: the body of a 201 SHOULD hold the resource.
		{createNoBody, "RFC 7644 §3.3", "", ""},
		// RFC 7643 §4.1.2: phoneNumbers SHOULD be RFC 3966 (tel:+1-201-555-0123).
		{telPhones, "RFC 7643 §4.1.2, RFC 3966", "", ""},
		// RFC 7644 §3.4.2.2 and §3.12: an unsupported operator is 400 invalidFilter.
		{swRefused, "RFC 7644 §3.4.2.2, §3.12", "", ""},
		// The same for or; the sync sends or batches only to re-read its writes.
		{orRefused, "RFC 7644 §3.4.2.2, §3.12", "scim_verify_writes: reread\n", ""},
	}
	for _, c := range cases {
		t.Run(string(c.fault), func(t *testing.T) {
			pending(t, c.pending)
			e := newEnv(t, c.cfg)
			want := e.exported()
			e.proxy.set(c.fault)
			r := e.run("initial sync, "+string(c.fault), "--run-now")
			if r.code != exitOK {
				t.Fatalf("%s (%s): want exit 0:\n%s", c.fault, c.rfc, r)
			}
			e.intact(e.census(), want)
			e.converged("dry run, " + string(c.fault))
			e.hit(c.fault)
		})
	}
}

// TestUnsupportedFilterAnsweredEmpty: a server that answers a filter it
// does not support with 200 and no results (RFC 7644 §3.4.2.2 and §3.12
// want 400 invalidFilter) makes the managed listing empty. Issue 14 point
// 2: once a first full sync has completed, that is never read as "first
// sync"; the target guard stops the run before any write (no creates, no
// invitations, first-sync.json untouched), and when the server answers
// again the day's new starter is created and invited.
func TestUnsupportedFilterAnsweredEmpty(t *testing.T) {
	e := newEnv(t, "")
	e.want(e.run("initial sync", "--run-now"), exitOK)
	firstSync := filepath.Join(e.stateDir, "first-sync.json")
	before, err := os.ReadFile(firstSync)
	if err != nil {
		t.Fatal(err)
	}
	e.execFile("day2.sql")
	invited := len(e.server.invitations())

	e.proxy.set(unparsedEmpty)
	r := e.run("day two, "+string(unparsedEmpty), "--run-now")
	e.hit(unparsedEmpty)
	if r.code != exitTargetGuard || r.writes != 0 {
		t.Errorf("want exit %d (target guard) and no write to the server:\n%s", exitTargetGuard, r)
	}
	if got := e.server.invitations()[invited:]; len(got) > 0 {
		t.Errorf("invitations sent on a listing the server emptied: %v", got)
	}
	if after, err := os.ReadFile(firstSync); err != nil || !bytes.Equal(before, after) {
		t.Errorf("first-sync.json changed by a run that read an emptied listing (err %v)", err)
	}

	e.proxy.set(noFault)
	e.want(e.run("day two, server answering", "--run-now"), exitOK)
	if got := e.server.invitations()[invited:]; !slices.Equal(got, []string{"ingrid.solberg@example.co.uk"}) {
		t.Errorf("day two invitations: %v, want only the new starter's", got)
	}
	e.converged("final dry run")
}
