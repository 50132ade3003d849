package synctest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

// Fake is an in-memory Visitor that enforces the rules of
// docs/visitor-scim.md the sync depends on: case-insensitive unique
// userName (409 uniqueness), immutable externalId, known location ids,
// one role per location (visitor.CheckAccess).
type Fake struct {
	mu       sync.Mutex
	Users    map[string]visitor.User
	locs     []visitor.Location
	seq      int
	now      time.Time
	requests atomic.Int64

	// Fail makes the next call of an action on a userName fail:
	// key "create:ana@x.com", value the error.
	Fail map[string]error
	// Drop makes the server accept a write but not store a field.
	Drop map[visitor.Field]bool

	// NoOrFilter makes batched re-reads fail as on a server without "or".
	NoOrFilter bool
	// ReadOnlyEmail refuses any userName/email change with 400
	// mutability, as Eptura's SCIM servers may (docs/visitor-scim.md).
	ReadOnlyEmail bool
	// Invited records, per externalId, whether its create asked Visitor
	// to send the invitation email.
	Invited map[string]bool
	// Hidden are externalIds the managed-user listing leaves out, as a
	// listing that misses users does; lookups still find them.
	Hidden map[string]bool
	// Caps, when set, are the capabilities the fake declares; nil is
	// today's contract.
	Caps *visitor.Capabilities

	// Overlap, when set, holds the first writes until that many are in
	// flight at once (or OverlapWait, default 5 s, has passed), so that a
	// test sees the concurrency a run allows instead of hoping workers
	// overlap.
	Overlap     int
	OverlapWait time.Duration

	inFlight, MaxInFlight atomic.Int64
	Writes                atomic.Int64
	overlapOnce           sync.Once
	closeOnce             sync.Once     // two writers may reach Overlap together
	overlapped            chan struct{} // closed once Overlap writes were in flight
}

// NewFake holds locs and users; users without an id get one.
func NewFake(locs []visitor.Location, users ...visitor.User) *Fake {
	f := &Fake{Users: map[string]visitor.User{}, locs: slices.Clone(locs), Fail: map[string]error{},
		Drop: map[visitor.Field]bool{}, Invited: map[string]bool{}, now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	for _, u := range users {
		if u.ID == "" {
			f.seq++
			u.ID = fmt.Sprintf("u-%03d", f.seq)
		}
		f.Users[u.ID] = u
	}
	return f
}

// Capabilities are Caps, or today's contract.
func (f *Fake) Capabilities() visitor.Capabilities {
	if f.Caps != nil {
		return *f.Caps
	}
	return visitor.SCIM2Capabilities()
}

// Requests counts the calls made, as visitor.Client does.
func (f *Fake) Requests() int64 { return f.requests.Load() }

func (f *Fake) enter() func() {
	f.requests.Add(1)
	n := f.inFlight.Add(1)
	for {
		m := f.MaxInFlight.Load()
		if n <= m || f.MaxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	return func() { f.inFlight.Add(-1) }
}

// enterWrite is enter for a write, which waits for Overlap.
func (f *Fake) enterWrite() func() {
	leave := f.enter()
	if f.Overlap <= 0 {
		return leave
	}
	f.overlapOnce.Do(func() { f.overlapped = make(chan struct{}) })
	if f.inFlight.Load() >= int64(f.Overlap) {
		f.closeOnce.Do(func() { close(f.overlapped) })
	}
	wait := f.OverlapWait
	if wait <= 0 {
		wait = 5 * time.Second
	}
	select {
	case <-f.overlapped:
	case <-time.After(wait): // the run allows fewer: MaxInFlight says how many
	}
	return leave
}

// SCIMErr is Visitor refusing with a status and a SCIM error type; the
// applier reads it only through the visitor sentinels.
func SCIMErr(status int, typ, detail string) error {
	return visitor.NewError(status, typ, detail)
}

func (f *Fake) injected(action, name string) error {
	key := action + ":" + strings.ToLower(name)
	if err, ok := f.Fail[key]; ok {
		delete(f.Fail, key)
		return err
	}
	return nil
}

func (f *Fake) ListManagedUsers(_ context.Context, prefix string) ([]visitor.User, error) {
	defer f.enter()()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("list", "users"); err != nil {
		return nil, err
	}
	var out []visitor.User
	for _, u := range f.Users {
		if strings.HasPrefix(u.ExternalID, prefix) && !f.Hidden[u.ExternalID] {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b visitor.User) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (f *Fake) ListLocations(context.Context) ([]visitor.Location, error) {
	defer f.enter()()
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.locs), nil
}

func (f *Fake) FindUser(_ context.Context, attr, value string) (*visitor.User, error) {
	defer f.enter()()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.Users {
		if (attr == "userName" && strings.EqualFold(u.UserName, value)) || (attr == "externalId" && u.ExternalID == value) {
			return &u, nil
		}
	}
	return nil, nil
}

func (f *Fake) GetUser(_ context.Context, id string) (visitor.User, error) {
	defer f.enter()()
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.Users[id]
	if !ok {
		return visitor.User{}, SCIMErr(404, "", "no user "+id)
	}
	return u, nil
}

// UsersByExternalID counts one request per 100 ids, as the client's
// batching roughly does.
func (f *Fake) UsersByExternalID(_ context.Context, ids []string) ([]visitor.User, error) {
	if f.NoOrFilter {
		f.enter()()
		return nil, SCIMErr(400, "invalidFilter", "operator or is not supported")
	}
	for range (len(ids) + 99) / 100 {
		f.enter()()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []visitor.User
	for _, u := range f.Users {
		if want[u.ExternalID] {
			out = append(out, u)
		}
	}
	return out, nil
}

func (f *Fake) checkLocked(u visitor.User, selfID string) error {
	for _, o := range f.Users {
		if o.ID != selfID && strings.EqualFold(o.UserName, u.UserName) {
			return SCIMErr(409, "uniqueness", "userName is already taken")
		}
	}
	known := map[string]bool{}
	for _, l := range f.locs {
		known[l.ID] = true
	}
	if u.DefaultLocation != "" && !known[u.DefaultLocation] {
		return SCIMErr(400, "invalidValue", "no location "+u.DefaultLocation)
	}
	for _, a := range u.Access {
		if !known[a.LocationID] {
			return SCIMErr(400, "invalidValue", "no location "+a.LocationID)
		}
	}
	// The contract's own rule (one role per location), as the simulator
	// enforces it: a plan that breaks it fails here as on Visitor.
	if err := visitor.CheckAccess(u.Access); err != nil {
		return SCIMErr(400, "invalidValue", err.Error())
	}
	return nil
}

func (f *Fake) CreateUser(_ context.Context, u visitor.User) (visitor.User, error) {
	defer f.enterWrite()()
	f.Writes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("create", u.UserName); err != nil {
		return visitor.User{}, err
	}
	if err := f.checkLocked(u, ""); err != nil {
		return visitor.User{}, err
	}
	f.seq++
	u.ID = fmt.Sprintf("u-%03d", f.seq)
	f.Invited[u.ExternalID] = u.SendInvitation
	u.SendInvitation = false
	u.LastModified = f.now
	if f.Drop[visitor.FieldAccess] {
		u.Access = nil
	}
	f.Users[u.ID] = u
	return u, nil
}

func (f *Fake) UpdateUser(_ context.Context, id string, d visitor.User, fields []visitor.Field) (visitor.User, error) {
	defer f.enterWrite()()
	f.Writes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.Users[id]
	if !ok {
		return visitor.User{}, SCIMErr(404, "", "no user "+id)
	}
	if err := f.injected("update", u.UserName); err != nil {
		return visitor.User{}, err
	}
	for _, fl := range fields {
		if f.Drop[fl] {
			continue
		}
		switch fl {
		case visitor.FieldUserName:
			if f.ReadOnlyEmail && !strings.EqualFold(u.UserName, d.UserName) {
				return visitor.User{}, SCIMErr(400, "mutability", "emails are read-only")
			}
			u.UserName, u.Email = d.UserName, d.Email
		case visitor.FieldGivenName:
			u.GivenName = d.GivenName
		case visitor.FieldFamilyName:
			u.FamilyName = d.FamilyName
		case visitor.FieldPhone:
			u.Phone = d.Phone
		case visitor.FieldMobile:
			u.Mobile = d.Mobile
		case visitor.FieldLanguage:
			u.Language = d.Language
		case visitor.FieldActive:
			u.Active = d.Active
		case visitor.FieldDefaultLocation:
			u.DefaultLocation = d.DefaultLocation
		case visitor.FieldAccess:
			u.Access = d.Access
		case visitor.FieldExternalID:
			if u.ExternalID != "" && u.ExternalID != d.ExternalID {
				return visitor.User{}, SCIMErr(400, "mutability", "externalId is immutable")
			}
			u.ExternalID = d.ExternalID
		default:
			return visitor.User{}, fmt.Errorf("unknown field %q", fl)
		}
	}
	if err := f.checkLocked(u, id); err != nil {
		return visitor.User{}, err
	}
	u.LastModified = f.now
	f.Users[id] = u
	return u, nil
}

func (f *Fake) DeleteUser(_ context.Context, id string) error {
	defer f.enterWrite()()
	f.Writes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.Users[id]
	if !ok {
		return SCIMErr(404, "", "no user "+id)
	}
	if err := f.injected("delete", u.UserName); err != nil {
		return err
	}
	delete(f.Users, id)
	return nil
}

func (f *Fake) CreateLocation(_ context.Context, l visitor.Location) (visitor.Location, error) {
	defer f.enterWrite()()
	f.Writes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("location", l.Name); err != nil {
		return visitor.Location{}, err
	}
	for _, o := range f.locs {
		if strings.EqualFold(o.Name, l.Name) {
			return visitor.Location{}, SCIMErr(409, "uniqueness", "location name taken")
		}
	}
	l.ID = fmt.Sprintf("loc-new-%d", len(f.locs)+1)
	l.CompanyID = "CO-" + l.ID
	f.locs = append(f.locs, l)
	return l, nil
}

// UpdateLocation PATCHes a location as docs/visitor-scim.md says: a name
// another location has is 409 uniqueness, an externalId set once is
// immutable (400 mutability). Fail key "update-location:<current name>".
func (f *Fake) UpdateLocation(_ context.Context, id string, l visitor.Location, fields []visitor.LocationField) (visitor.Location, error) {
	defer f.enterWrite()()
	f.Writes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.locs, func(o visitor.Location) bool { return o.ID == id })
	if i < 0 {
		return visitor.Location{}, SCIMErr(404, "", "no location "+id)
	}
	if err := f.injected("update-location", f.locs[i].Name); err != nil {
		return visitor.Location{}, err
	}
	got := f.locs[i]
	for _, fl := range fields {
		switch fl {
		case visitor.LocationFieldName:
			for _, o := range f.locs {
				if o.ID != id && strings.EqualFold(o.Name, l.Name) {
					return visitor.Location{}, SCIMErr(409, "uniqueness", "location name taken")
				}
			}
			got.Name = l.Name
		case visitor.LocationFieldExternalID:
			if got.ExternalID != "" && got.ExternalID != l.ExternalID {
				return visitor.Location{}, SCIMErr(400, "mutability", "externalId is immutable")
			}
			got.ExternalID = l.ExternalID
		}
	}
	f.locs[i] = got
	return got, nil
}

// Locations returns the locations the fake holds now.
func (f *Fake) Locations() []visitor.Location {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.locs)
}

func (f *Fake) ByExt(ext string) (visitor.User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.Users {
		if u.ExternalID == ext {
			return u, true
		}
	}
	return visitor.User{}, false
}

// FakeSource serves a fixed export.
type FakeSource struct {
	Exp *condeco.Export
	Err error
}

// Export returns the fixed export.
func (s FakeSource) Export(context.Context) (*condeco.Export, error) { return s.Exp, s.Err }
