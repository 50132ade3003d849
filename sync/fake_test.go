package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

// fakeTarget is an in-memory Visitor that enforces the rules of
// docs/visitor-scim.md the sync depends on: case-insensitive unique
// userName (409 uniqueness), immutable externalId, known location ids.
type fakeTarget struct {
	mu       gosync.Mutex
	users    map[string]visitor.User
	locs     []visitor.Location
	seq      int
	now      time.Time
	requests atomic.Int64

	// fail makes the next call of an action on a userName fail:
	// key "create:ana@x.com", value the error.
	fail map[string]error
	// drop makes the server accept a write but not store a field.
	drop map[visitor.Field]bool

	// noOrFilter makes batched re-reads fail as on a server without "or".
	noOrFilter bool
	// readOnlyEmail refuses any userName/email change with 400 mutability,
	// as Eptura's own SCIM server does (seed 003: emails are read-only).
	readOnlyEmail bool
	// invited records, per externalId, whether its create asked Visitor
	// to send the invitation email.
	invited map[string]bool

	inFlight, maxInFlight atomic.Int64
	writes                atomic.Int64
}

func newFake(locs []visitor.Location, users ...visitor.User) *fakeTarget {
	f := &fakeTarget{users: map[string]visitor.User{}, locs: slices.Clone(locs), fail: map[string]error{},
		drop: map[visitor.Field]bool{}, invited: map[string]bool{}, now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	for _, u := range users {
		if u.ID == "" {
			f.seq++
			u.ID = fmt.Sprintf("u-%03d", f.seq)
		}
		f.users[u.ID] = u
	}
	return f
}

func (f *fakeTarget) Requests() int64 { return f.requests.Load() }

func (f *fakeTarget) enter() func() {
	f.requests.Add(1)
	n := f.inFlight.Add(1)
	for {
		m := f.maxInFlight.Load()
		if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(time.Millisecond) // lets concurrent workers overlap so the bound is observable
	return func() { f.inFlight.Add(-1) }
}

func scimErr(status int, typ, detail string) error {
	return &visitor.Error{Status: status, ScimType: typ, Detail: detail}
}

func (f *fakeTarget) injected(action, name string) error {
	key := action + ":" + strings.ToLower(name)
	if err, ok := f.fail[key]; ok {
		delete(f.fail, key)
		return err
	}
	return nil
}

func (f *fakeTarget) ListManagedUsers(_ context.Context, prefix string) ([]visitor.User, error) {
	defer f.enter()()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("list", "users"); err != nil {
		return nil, err
	}
	var out []visitor.User
	for _, u := range f.users {
		if strings.HasPrefix(u.ExternalID, prefix) {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b visitor.User) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (f *fakeTarget) ListLocations(context.Context) ([]visitor.Location, error) {
	defer f.enter()()
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.locs), nil
}

func (f *fakeTarget) FindUser(_ context.Context, attr, value string) (*visitor.User, error) {
	defer f.enter()()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if (attr == "userName" && strings.EqualFold(u.UserName, value)) || (attr == "externalId" && u.ExternalID == value) {
			return &u, nil
		}
	}
	return nil, nil
}

func (f *fakeTarget) GetUser(_ context.Context, id string) (visitor.User, error) {
	defer f.enter()()
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return visitor.User{}, scimErr(404, "", "no user "+id)
	}
	return u, nil
}

// UsersByExternalID counts one request per 100 ids, as the client's
// batching roughly does.
func (f *fakeTarget) UsersByExternalID(_ context.Context, ids []string) ([]visitor.User, error) {
	if f.noOrFilter {
		f.enter()()
		return nil, scimErr(400, "invalidFilter", "operator or is not supported")
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
	for _, u := range f.users {
		if want[u.ExternalID] {
			out = append(out, u)
		}
	}
	return out, nil
}

func (f *fakeTarget) checkLocked(u visitor.User, selfID string) error {
	for _, o := range f.users {
		if o.ID != selfID && strings.EqualFold(o.UserName, u.UserName) {
			return scimErr(409, "uniqueness", "userName is already taken")
		}
	}
	known := map[string]bool{}
	for _, l := range f.locs {
		known[l.ID] = true
	}
	if u.DefaultLocation != "" && !known[u.DefaultLocation] {
		return scimErr(400, "invalidValue", "no location "+u.DefaultLocation)
	}
	for _, a := range u.Access {
		if !known[a.LocationID] {
			return scimErr(400, "invalidValue", "no location "+a.LocationID)
		}
	}
	return nil
}

func (f *fakeTarget) CreateUser(_ context.Context, u visitor.User) (visitor.User, error) {
	defer f.enter()()
	f.writes.Add(1)
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
	f.invited[u.ExternalID] = u.SendInvitation
	u.SendInvitation = false
	u.LastModified = f.now
	if f.drop[visitor.FieldAccess] {
		u.Access = nil
	}
	f.users[u.ID] = u
	return u, nil
}

func (f *fakeTarget) UpdateUser(_ context.Context, id string, d visitor.User, fields []visitor.Field) (visitor.User, error) {
	defer f.enter()()
	f.writes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return visitor.User{}, scimErr(404, "", "no user "+id)
	}
	if err := f.injected("update", u.UserName); err != nil {
		return visitor.User{}, err
	}
	for _, fl := range fields {
		if f.drop[fl] {
			continue
		}
		switch fl {
		case visitor.FieldUserName:
			if f.readOnlyEmail && !strings.EqualFold(u.UserName, d.UserName) {
				return visitor.User{}, scimErr(400, "mutability", "emails are read-only")
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
				return visitor.User{}, scimErr(400, "mutability", "externalId is immutable")
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
	f.users[id] = u
	return u, nil
}

func (f *fakeTarget) DeleteUser(_ context.Context, id string) error {
	defer f.enter()()
	f.writes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return scimErr(404, "", "no user "+id)
	}
	if err := f.injected("delete", u.UserName); err != nil {
		return err
	}
	delete(f.users, id)
	return nil
}

func (f *fakeTarget) CreateLocation(_ context.Context, l visitor.Location) (visitor.Location, error) {
	defer f.enter()()
	f.writes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("location", l.Name); err != nil {
		return visitor.Location{}, err
	}
	for _, o := range f.locs {
		if strings.EqualFold(o.Name, l.Name) {
			return visitor.Location{}, scimErr(409, "uniqueness", "location name taken")
		}
	}
	l.ID = fmt.Sprintf("loc-new-%d", len(f.locs)+1)
	l.CompanyID = "CO-" + l.ID
	f.locs = append(f.locs, l)
	return l, nil
}

func (f *fakeTarget) byExt(ext string) (visitor.User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if u.ExternalID == ext {
			return u, true
		}
	}
	return visitor.User{}, false
}

// fakeSource serves a fixed export.
type fakeSource struct {
	exp *condeco.Export
	err error
}

func (s fakeSource) Export(context.Context) (*condeco.Export, error) { return s.exp, s.err }
