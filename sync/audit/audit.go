// Package audit writes and reads the audit log: one JSON line per change,
// with the user before and after, so an operator can see and undo what the
// sync did.
package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"condeco-visitor-sync/sync/plan"
	"condeco-visitor-sync/visitor"
)

// ErrWrite means the audit log could not be written: the run stops
// starting writes to Visitor, because none may go out without its line.
var ErrWrite = errors.New("audit log not written")

// ActionRun marks the audit log's header line of a run: its id, when it
// began writing, and the Visitor locations it knows, against which the
// compact access lists of its entries expand.
const ActionRun plan.Action = "run"

// Entry is one line of the audit log: who was changed, how, and the
// user before and after, so an operator can undo a change by hand.
type Entry struct {
	Run        string      `json:"run"`
	Time       time.Time   `json:"time"`
	Action     plan.Action `json:"action"`
	User       string      `json:"user,omitempty"`
	ExternalID string      `json:"externalId,omitempty"`
	VisitorID  string      `json:"visitorId,omitempty"`
	// Result is intent (written before the request goes out, with the
	// user before and the user to be sent), then the outcome: ok (Visitor's
	// answer, or the re-read, confirms it), applied (accepted, the re-read
	// of scim_verify_writes: reread still to come), ok-unverified
	// (stopped before the re-read), failed or conflict. A header line
	// (action run) has started, or locations when the run created
	// locations and repeats its list; stopped says the run was stopped
	// and how many changes it did not attempt.
	Result string          `json:"result,omitempty"`
	Reason string          `json:"reason,omitempty"`
	Fields []visitor.Field `json:"fields,omitempty"`
	Before *User           `json:"before,omitempty"`
	After  *User           `json:"after,omitempty"`
	// Locations, on a header line, are the sorted ids of every Visitor
	// location the run knows.
	Locations []string `json:"locations,omitempty"`
}

// User is a visitor.User as the audit log writes it. Every user has
// a role on every location, so a plain access list is as long as the
// tenant has locations and made the log grow with users × locations;
// Access is usually the compact form instead. The outer fields shadow
// the embedded ones in JSON.
type User struct {
	visitor.User
	Access *Access `json:"access,omitempty"`
	// LastModified is left out when unset (users as sent have none).
	LastModified time.Time `json:"lastModified,omitzero"`
}

// Expand returns the user with its whole access list, given the locations
// of its run's header line.
func (u *User) Expand(locations []string) (visitor.User, error) {
	out := u.User
	out.LastModified = u.LastModified
	var err error
	out.Access, err = u.Access.Expand(locations)
	return out, err
}

// Access is an access list in one of two forms. The plain form (List,
// a JSON array) is the list itself, sorted and de-duplicated. The compact
// form (All set, a JSON object) says: every location of the run's header
// has role All, except the locations named in Except, which have exactly
// the roles listed there (a location missing from the header, or with
// several roles, is there too), and the locations in Missing, which have
// none.
type Access struct {
	List    []visitor.Access
	All     visitor.Role
	Except  []visitor.Access
	Missing []string
}

type accessCompact struct {
	All     visitor.Role     `json:"all"`
	Except  []visitor.Access `json:"except,omitempty"`
	Missing []string         `json:"missing,omitempty"`
}

// MarshalJSON writes the plain form as an array, the compact one as an
// object.
func (a Access) MarshalJSON() ([]byte, error) {
	if a.All == "" {
		if a.List == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(a.List)
	}
	return json.Marshal(accessCompact{All: a.All, Except: a.Except, Missing: a.Missing})
}

// UnmarshalJSON reads either form.
func (a *Access) UnmarshalJSON(b []byte) error {
	*a = Access{}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return json.Unmarshal(b, &a.List)
	}
	var c accessCompact
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	if c.All == "" {
		return errors.New(`compact access list without "all"`)
	}
	a.All, a.Except, a.Missing = c.All, c.Except, c.Missing
	return nil
}

// Compact says whether a is in the compact form.
func (a *Access) Compact() bool { return a != nil && a.All != "" }

// Expand returns the whole access list, sorted and de-duplicated. The
// compact form needs the locations of its run's header line.
func (a *Access) Expand(locations []string) ([]visitor.Access, error) {
	switch {
	case a == nil:
		return nil, nil
	case !a.Compact():
		return visitor.SortAccess(a.List), nil
	case len(locations) == 0:
		return nil, fmt.Errorf("compact access list needs the locations of its run's header line")
	}
	skip := map[string]bool{}
	in := make(map[string]bool, len(locations))
	for _, id := range locations {
		in[id] = true
	}
	for _, id := range a.Missing {
		if !in[id] {
			return nil, fmt.Errorf("location %s is missing from the access list but not in the run's header", id)
		}
		skip[id] = true
	}
	for _, x := range a.Except {
		skip[x.LocationID] = true
	}
	out := make([]visitor.Access, 0, len(locations)+len(a.Except))
	for _, id := range locations {
		if !skip[id] {
			out = append(out, visitor.Access{LocationID: id, Role: a.All})
		}
	}
	return visitor.SortAccess(append(out, a.Except...)), nil
}

// Read calls fn with each line of an audit log in order, header
// lines included, with every access list expanded to the plain form
// against the locations of the latest header line of the same run: what
// an operator undoing a change needs, and what tests check. Lines a
// crash left unfinished are skipped: those a "mended" run line follows,
// and a last line without its line end (before the next run marks it);
// any other line that does not decode is an error.
func Read(r io.Reader, fn func(Entry) error) error {
	br := bufio.NewReader(r)
	var run string
	var locations []string
	var unfinished error // the first undecodable line since the last good one
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var e Entry
			if uerr := json.Unmarshal(line, &e); uerr != nil {
				if errors.Is(err, io.EOF) {
					return unfinished // the last line, cut short by a crash: skipped
				}
				if unfinished == nil {
					unfinished = fmt.Errorf("audit log line %d: %w", n, uerr)
				}
				continue
			}
			if unfinished != nil && (e.Action != ActionRun || e.Result != ResultMended) {
				return unfinished
			}
			unfinished = nil
			if e.Action == ActionRun && e.Locations != nil {
				run, locations = e.Run, e.Locations
			}
			for _, u := range []*User{e.Before, e.After} {
				if u == nil || !u.Access.Compact() {
					continue
				}
				if e.Run != run {
					return fmt.Errorf("audit log line %d: compact access list without a header line of run %s", n, e.Run)
				}
				list, err := u.Access.Expand(locations)
				if err != nil {
					return fmt.Errorf("audit log line %d: %w", n, err)
				}
				u.Access = &Access{List: list}
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return unfinished
		}
		if err != nil {
			return fmt.Errorf("reading audit log: %w", err)
		}
	}
}

// compactMin is the shortest list written in the compact form: a few
// entries read better as they are.
const compactMin = 8

// compactAccess writes list relative to the header's locations: in the
// compact form when one role covers the header's locations with at most
// half as many exceptions as entries, otherwise as the plain, sorted list.
func compactAccess(list []visitor.Access, h *header) *Access {
	if len(list) == 0 {
		return nil
	}
	if !visitor.AccessSorted(list) {
		list = visitor.SortAccess(list)
	}
	if len(list) < compactMin || h == nil || len(h.ids) == 0 {
		return &Access{List: list}
	}
	// The most common role among the header's locations that have only one.
	count := map[visitor.Role]int{}
	for i := 0; i < len(list); {
		j := i + 1
		for j < len(list) && list[j].LocationID == list[i].LocationID {
			j++
		}
		if _, ok := h.index[list[i].LocationID]; ok && j == i+1 {
			count[list[i].Role]++
		}
		i = j
	}
	var all visitor.Role
	for r, n := range count {
		if n > count[all] || (n == count[all] && r < all) {
			all = r
		}
	}
	if all == "" {
		return &Access{List: list}
	}
	seen := make([]bool, len(h.ids))
	var except []visitor.Access
	limit := len(list) / 2
	for i := 0; i < len(list); {
		j := i + 1
		for j < len(list) && list[j].LocationID == list[i].LocationID {
			j++
		}
		k, ok := h.index[list[i].LocationID]
		if ok {
			seen[k] = true
		}
		if !ok || j > i+1 || list[i].Role != all {
			except = append(except, list[i:j]...)
			if len(except) > limit {
				return &Access{List: list}
			}
		}
		i = j
	}
	var missing []string
	for k, ok := range seen {
		if !ok {
			missing = append(missing, h.ids[k])
			if len(except)+len(missing) > limit {
				return &Access{List: list}
			}
		}
	}
	return &Access{All: all, Except: slices.Clip(except), Missing: missing}
}

// header is the sorted set of Visitor location ids of a run, as its
// header line wrote (or will write) it. It is never changed once made.
type header struct {
	ids   []string
	index map[string]int
}

func newHeader(ids []string) *header {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	h := &header{ids: ids, index: make(map[string]int, len(ids))}
	for i, id := range ids {
		h.index[id] = i
	}
	return h
}

// Log writes each entry the moment it is known, not at the end of the
// run: a run killed half-way (SIGKILL, the OOM killer, a lost node) has
// made changes that must be on record, and the intent line of a change is
// written before its request goes out, so every write Visitor received is
// on record. Each line is one write(2) to a file opened O_APPEND, so it is
// in the kernel's hands once written and lines of concurrent workers never
// interleave. A kill inside that write(2) can still leave part of the
// line (the kernel copies a page at a time); the next Open ends and marks
// it, and nothing already written is ever changed.
//
// The first line of a run is its header (action run, the locations it
// knows); the users of its entries carry their access lists compact
// against it. A location the run creates makes a new header, written
// before the next user entry.
type Log struct {
	path, run string

	// Mended is true when the file ended in a line a crash left
	// unfinished, which Open ended and marked (a "mended" run line), for
	// the caller to say so.
	Mended bool

	hdr atomic.Pointer[header] // the locations known now

	mu      sync.Mutex
	f       *os.File
	size    int64   // bytes in the file after the last whole line
	err     error   // the first error; later entries are not attempted
	written *header // the header last written

	cacheMu sync.Mutex
	cache   [8]cached // recent access lists: one list is shared by many users
	next    int
}

// cached is one access list's compact form. It holds the list so that
// its address cannot be reused for another while cached.
type cached struct {
	h    *header
	list []visitor.Access
	form *Access
}

// Open opens the audit log for appending and writes the run's header
// before anything else happens, so that no write to Visitor can precede
// the proof that the log can be written.
func Open(path, run string, locations []visitor.Location, at time.Time) (*Log, error) {
	ids := make([]string, 0, len(locations))
	for _, l := range locations {
		ids = append(ids, l.ID)
	}
	l := &Log{path: path, run: run}
	l.hdr.Store(newHeader(ids))
	unfinished := unfinishedTail(path)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: opening %s: %w", ErrWrite, path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrWrite, path, err)
	}
	l.f, l.size = f, fi.Size()
	l.mu.Lock()
	defer l.mu.Unlock()
	if unfinished {
		if err := l.mendLine(at); err != nil {
			f.Close()
			return nil, err
		}
		l.Mended = true
	}
	if err := l.header(at, "started", l.hdr.Load()); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// AddLocation adds a location the run created to the header.
func (l *Log) AddLocation(id string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.hdr.Load()
	l.hdr.Store(newHeader(append(slices.Clone(h.ids), id)))
}

func (l *Log) access(list []visitor.Access, h *header) *Access {
	if len(list) == 0 {
		return nil
	}
	l.cacheMu.Lock()
	for _, c := range l.cache {
		if c.h == h && len(c.list) == len(list) && &c.list[0] == &list[0] {
			l.cacheMu.Unlock()
			return c.form
		}
	}
	l.cacheMu.Unlock()
	form := compactAccess(list, h)
	l.cacheMu.Lock()
	l.cache[l.next] = cached{h: h, list: list, form: form}
	l.next = (l.next + 1) % len(l.cache)
	l.cacheMu.Unlock()
	return form
}

func (l *Log) user(u *visitor.User, h *header) *User {
	if u == nil {
		return nil
	}
	au := &User{User: *u, Access: l.access(u.Access, h), LastModified: u.LastModified}
	au.User.Access, au.User.LastModified = nil, time.Time{}
	return au
}

func (l *Log) encode(e Entry, before, after *visitor.User, h *header) ([]byte, error) {
	e.Run = l.run
	e.Before, e.After = l.user(before, h), l.user(after, h)
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding audit entry for %s: %w", e.User, err)
	}
	return append(b, '\n'), nil
}

// Write appends e with the users before and after the change (either may
// be nil) and returns once the line is in the kernel's hands (one
// write(2) on an O_APPEND file). Encoding happens outside the lock; a
// newer header is written first when a user entry needs it. After the
// first error nothing more is written and every call returns it: the
// caller stops starting writes to Visitor.
func (l *Log) Write(e Entry, before, after *visitor.User) error {
	if l == nil {
		return nil
	}
	h := l.hdr.Load()
	b, err := l.encode(e, before, after, h)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	if cur := l.hdr.Load(); cur != h { // a location was added meanwhile
		h = cur
		b, err = l.encode(e, before, after, h)
	}
	if err != nil {
		l.err = fmt.Errorf("%w: %w", ErrWrite, err)
		return l.err
	}
	if l.written != h && (before != nil || after != nil) {
		if err := l.header(e.Time, "locations", h); err != nil {
			return err
		}
	}
	return l.append(b)
}

// header writes a header line for h; l.mu is held.
func (l *Log) header(at time.Time, result string, h *header) error {
	hb, err := json.Marshal(Entry{Run: l.run, Time: at, Action: ActionRun, Result: result, Locations: h.ids})
	if err != nil {
		l.err = fmt.Errorf("%w: encoding header: %w", ErrWrite, err)
		return l.err
	}
	if err := l.append(append(hb, '\n')); err != nil {
		return err
	}
	l.written = h
	return nil
}

// append writes one whole line; l.mu is held. A line cut short (a full
// disk) is cut off again, so that the file ends with a whole line.
func (l *Log) append(b []byte) error {
	n, err := l.f.Write(b)
	if err == nil && n == len(b) {
		l.size += int64(n)
		return nil
	}
	if err == nil {
		err = io.ErrShortWrite
	}
	if n > 0 {
		l.f.Truncate(l.size) //nolint:errcheck // best effort: the error below is what counts
	}
	l.err = fmt.Errorf("%w: appending to %s: %w", ErrWrite, l.path, err)
	return l.err
}

// Err is the first error writing the log, nil while every line was
// written.
func (l *Log) Err() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Close closes the file and returns the first error of the run.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		if err := l.f.Close(); err != nil && l.err == nil {
			l.err = fmt.Errorf("%w: closing %s: %w", ErrWrite, l.path, err)
		}
		l.f = nil
	}
	return l.err
}
