package reliability

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
	"condeco-visitor-sync/visitor/simulator"
)

// hostileRow is one Condeco row built to hurt: held says whether the
// validator must refuse it (with rule) or it must reach Visitor intact.
type hostileRow struct {
	id                 string
	email, first, last string
	held               bool
	rule               string
	what               string
}

func hostileRows() []hostileRow {
	return []hostileRow{
		{"9001", "long1@example.com", strings.Repeat("A", 65), "Long", true, visitor.RuleTooLong, "65-character first name"},
		{"9002", "long2@example.com", "Huge", strings.Repeat("ü", 10000), true, visitor.RuleTooLong, "10,000-character last name"},
		{"9003", "bell@example.com", "Ann\x07e", "Bell", true, condeco.RuleControlChar, "control character"},
		{"9004", "logline@example.com", "Eve", "Smith\n{\"level\":\"error\",\"msg\":\"forged\"}", true, condeco.RuleControlChar, "newline forging a log line"},
		{"9005", "nul@example.com", "a\x00b", "Nul", true, condeco.RuleControlChar, "NUL byte"},
		{"9006", "utf8@example.com", "Bad\xff\xfe", "Bytes", true, condeco.RuleBadUTF8, "invalid UTF-8"},
		{"9007", "pаul@example.com", "Paul", "Lookalike", true, visitor.RuleNotASCII, "Cyrillic а in the email"},
		{"9008", "rlo\u202e@example.com", "Rlo", "Email", true, visitor.RuleNotASCII, "right-to-left override in the email"},
		{"9009", `a"b@example.com`, "Quote", "Email", true, visitor.RuleForbiddenChar, "quote in the email"},
		{"9010", `x@example.com" or userName pr or userName eq "`, "Filter", "Inject", true, visitor.RuleForbiddenChar, "filter injection in the email"},
		{"9011", "quotes@example.com", `O"Brien`, `Back\slash \" or 1=1 --`, false, "", "quotes and backslashes in names"},
		{"9012", "cyrillic@example.com", "Раul", "Ѕmith", false, "", "Cyrillic look-alikes in names"},
		{"9013", "rtl@example.com", "\u200fعلي\u200f", "\u202eevil\u202c", false, "", "right-to-left marks in names"},
		{"9014", "zwj@example.com", "Zo\u200de", "👩\u200d💻", false, "", "zero-width joiner, emoji"},
		{"9015", " Mixed.Case@Example.COM ", "  Jose\u0301 ", "Garci\u0301a", false, "", "padding, upper case, decomposed accents"},
		{"9016", "max64@example.com", strings.Repeat("é", 64), "Max", false, "", "exactly 64 multibyte characters"},
	}
}

// hostileIDs are ids that become externalIds with a quote or a backslash,
// which every lookup by externalId must escape.
func hostileIDs() []hostileRow {
	return []hostileRow{
		{`9017" or externalId pr or externalId eq "`, "idinject@example.com", "Id", "Inject", false, "", "filter injection in the id (externalId)"},
		{`9018\`, "backslashid@example.com", "Id", "Backslash", false, "", "trailing backslash in the id"},
	}
}

func (e *env) insertHostile(rows []hostileRow) {
	for _, h := range rows {
		e.exec(`INSERT INTO tblUsers (UserID, UserName, Email, FirstName, LastName, AccessLevel, UserType, DefaultLocationID, Active, Deleted)
			VALUES (?, ?, ?, ?, ?, 0, 1, 101, 1, 0)`, h.id, h.email, h.email, h.first, h.last)
	}
}

// Hostile source values end as a per-record refusal or as a correct write:
// never a crash, never a filter that matches more than it should, never a
// value changed on the way.
func TestHostileSourceValues(t *testing.T) {
	const base = 20
	e := newEnv(t, base, simulator.Options{}, "")
	rows := hostileRows()
	e.insertHostile(rows)
	r := e.run(time.Minute, "--run-now")
	if r.code != exitOK {
		t.Fatalf("run with hostile rows: %s", r)
	}
	if strings.Contains(r.stderr, `"msg":"forged"`) {
		t.Error("a source value forged a log line")
	}
	st := e.sim.Stats()
	if n := st.ByStatus["400"]; n != 0 {
		t.Errorf("%d requests refused as bad (a filter or body broken by a value): %v", n, st.ByRouteStatus)
	}
	byExt := map[string]simulator.User{}
	for _, u := range e.sim.Users() {
		byExt[u.ExternalID] = u
	}
	held, written := 0, 0
	for _, h := range rows {
		u, ok := byExt["condeco:"+h.id]
		if h.held {
			held++
			if ok {
				t.Errorf("%s (row %q) reached Visitor as %+v", h.what, h.id, u)
			}
			continue
		}
		written++
		if !ok {
			t.Errorf("%s (row %q) is not in Visitor", h.what, h.id)
			continue
		}
		want := func(s string) string { return norm.NFC.String(strings.TrimSpace(s)) }
		if u.GivenName != want(h.first) || u.FamilyName != want(h.last) || u.UserName != strings.ToLower(want(h.email)) {
			t.Errorf("%s: Visitor has %q %q %q, want %q %q %q", h.what, u.GivenName, u.FamilyName, u.UserName,
				want(h.first), want(h.last), strings.ToLower(want(h.email)))
		}
	}
	if c := e.census(); c.managed != base+written {
		t.Errorf("%d managed users, want %d: an injected filter matched or dropped someone", c.managed, base+written)
	}
	rep := e.lastReport()
	if rep.SourceProblems < held {
		t.Errorf("report counts %d source problems for %d refused rows", rep.SourceProblems, held)
	}
	e.converged()
	c := e.checkIntact(base + written)
	t.Logf("RESULT fault=%q rows=%d refused=%d written=%d exit=%d managed=%d/%d lost=%d duplicates=%d 400s=%d", "hostile source values",
		len(rows), held, written, r.code, c.managed, base+written, base+written-c.managed, len(c.dupNames)+len(c.dupExternalID), st.ByStatus["400"])

	// Each refused row is named, with its rule, in the report's problems
	// and in one log line; a count alone tells nobody what to fix.
	t.Run("each refused row is named with its rule", func(t *testing.T) {
		var logged []struct{ Msg, Row, Rule string }
		for _, l := range strings.Split(r.stderr, "\n") {
			var x struct{ Msg, Row, Rule string }
			if json.Unmarshal([]byte(l), &x) == nil && x.Msg == "condeco row held" {
				logged = append(logged, x)
			}
		}
		for _, h := range rows {
			if !h.held {
				continue
			}
			inReport := slices.ContainsFunc(rep.Problems, func(p string) bool {
				return strings.HasPrefix(p, "users row "+h.id+": field ") && strings.HasSuffix(p, ": "+h.rule)
			})
			inLog := slices.ContainsFunc(logged, func(x struct{ Msg, Row, Rule string }) bool { return x.Row == h.id && x.Rule == h.rule })
			if !inReport || !inLog {
				t.Errorf("%s (row %s, rule %q): in report %v, in log %v\nreport problems: %q", h.what, h.id, h.rule, inReport, inLog, rep.Problems)
			}
		}
	})
}

// Ids with a quote or a backslash: the filter built from them must match
// exactly that one user (an injected "or externalId pr" would match all),
// and the user is created once and found again: by its write's answer
// (scim_verify_writes: answer) or by the batched re-read, whose "or"
// filters carry every id (reread).
func TestHostileIDs(t *testing.T) {
	for _, mode := range []string{"answer", "reread"} {
		t.Run(mode, func(t *testing.T) { hostileIDsRun(t, mode) })
	}
}

func hostileIDsRun(t *testing.T, mode string) {
	const base = 20
	e := newEnv(t, base, simulator.Options{}, "scim_verify_writes: "+mode+"\n")
	rows := hostileIDs()
	e.insertHostile(rows)
	listsBefore := e.sim.Stats().Total
	first := e.run(time.Minute, "--run-now")
	if first.code != exitOK {
		t.Fatalf("run with hostile ids: %s", first)
	}
	if n := e.sim.Stats().ByStatus["400"]; n != 0 {
		t.Errorf("%d filters refused as invalid", n)
	}
	// 2 listings and one write per user and location, plus the re-read.
	requests := e.sim.Stats().Total - listsBefore
	byExt := map[string]bool{}
	for _, u := range e.sim.Users() {
		byExt[u.ExternalID] = true
	}
	if min := 2 + len(byExt) + len(e.sim.Locations()) - 1; (mode == "answer") != (requests == min) {
		t.Errorf("%s: %d requests for %d users (%d without verification)", mode, requests, len(byExt), min)
	}
	for _, h := range rows {
		if !byExt["condeco:"+h.id] {
			t.Errorf("%s: not in Visitor", h.what)
		}
	}
	// The listing by prefix finds them, so the next run converges.
	if r := e.run(time.Minute, "--run-now"); r.code != exitOK {
		t.Fatalf("second run: %s", r)
	}
	e.converged()
	c := e.checkIntact(base + len(rows))
	t.Logf("RESULT fault=%q mode=%s rows=%d firstExit=%d requests=%d managed=%d/%d lost=%d duplicates=%d", "hostile ids (quote, backslash)", mode, len(rows), first.code,
		requests, c.managed, base+len(rows), base+len(rows)-c.managed, len(c.dupNames)+len(c.dupExternalID))
}
