package visitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// CreateUser POSTs u without its externalId, then records the new user
// as the sync's own under u.ExternalID. A create whose outcome is unknown
// is not simply sent again: the userName is looked up first (the
// integration's unique key), so a lost answer cannot make a duplicate.
func (g *Generic) CreateUser(ctx context.Context, u User) (User, error) {
	u, err := checkIdentity(u)
	if err != nil {
		return User{}, fmt.Errorf("creating user: %w", err)
	}
	if u.ExternalID == "" {
		return User{}, fmt.Errorf("creating user %q: no externalId to record it under", u.UserName)
	}
	var found *User
	var a userAnswerV1
	start := time.Now()
	lookup := func(ctx context.Context) (bool, error) {
		f, err := g.FindUser(ctx, "userName", u.UserName)
		if err != nil || f == nil {
			return false, err
		}
		// A look-up by userName also finds users made by hand: only one
		// this create can have made is taken as its outcome.
		ours, err := g.mayBeOurs(ctx, *f, u.ExternalID, start)
		if err != nil || !ours {
			return false, err
		}
		found = f
		return true, nil
	}
	// createOnce names the user by externalId in its log; the lookup
	// itself is by userName, the only key on this wire.
	if err := g.c.createOnce(ctx, usersPath, u.ExternalID, encodeUserV1(u), &a, lookup); err != nil {
		if errors.Is(err, ErrConflict) {
			if claimed, ok, cerr := g.claimStray(ctx, u); ok || cerr != nil {
				return claimed, cerr
			}
		}
		return User{}, fmt.Errorf("creating user %q: %w", u.ExternalID, err)
	}
	var created User
	switch {
	case found != nil:
		created = *found
	case !a.got:
		// A 201 without the resource: its id comes from a lookup.
		if _, err := lookup(ctx); err != nil {
			return User{}, fmt.Errorf("creating user %q: created without an answer; looking it up: %w", u.ExternalID, err)
		}
		if found == nil {
			return User{}, fmt.Errorf("creating user %q: created without an answer, and no user has userName %s", u.ExternalID, u.UserName)
		}
		created = *found
	default:
		if created, err = a.result(); err != nil {
			return User{}, fmt.Errorf("creating user %q: %w", u.ExternalID, err)
		}
	}
	if created.ID == "" {
		return User{}, fmt.Errorf("creating user %q: created in Visitor, but the answer has no id: not recorded as the sync's own", u.ExternalID)
	}
	if err := g.record(Owned{ID: created.ID, UserName: created.UserName, ExternalID: u.ExternalID}); err != nil {
		return User{}, fmt.Errorf("creating user %q: created in Visitor as %s (%s) but not recorded as the sync's own: %w",
			u.ExternalID, created.ID, created.UserName, err)
	}
	created.ExternalID = u.ExternalID
	return created, nil
}

// createdSkew is how far Visitor's clock may lag ours when a user's
// meta.created is compared with when a create was first sent.
const createdSkew = 2 * time.Minute

// mayBeOurs says whether f, found by userName after a create's unknown
// outcome, can be what that create made: a user created through SCIM
// that no record holds (a stray, as claimStray takes), or one Visitor
// says it created after the create was first sent. A user recorded under
// another externalId, or made before (by hand, or by another client), is
// not: recording it would hand someone else's account to this row. An
// unreadable creation time is not either; a user this create did make is
// then a stray the next run claims.
func (g *Generic) mayBeOurs(ctx context.Context, f User, externalID string, since time.Time) (bool, error) {
	if ext, err := g.externalIDOf(f.ID); err != nil || ext != "" {
		return ext == externalID, err
	}
	g.strayMu.Lock()
	_, stray := g.strays[strings.ToLower(f.UserName)]
	g.strayMu.Unlock()
	if stray {
		return true, nil
	}
	var m struct {
		Meta struct {
			Created string `json:"created"`
		} `json:"meta"`
	}
	if err := g.c.call(ctx, http.MethodGet, usersPath+"/"+url.PathEscape(f.ID), nil, nil, &m); err != nil {
		return false, fmt.Errorf("reading when %s was created: %w", f.ID, err)
	}
	created := parseTime(m.Meta.Created)
	if created.IsZero() {
		g.log.Warn("create outcome unknown; the user holding the userName has no readable creation time, so it is not taken as this create's",
			zap.String("external_id", externalID), zap.String("visitor_id", f.ID))
		return false, nil
	}
	return !created.Before(since.Add(-createdSkew)), nil
}

// claimStray answers a create refused as taken (409) when the user
// holding the userName was created through SCIM and is in no record: the
// trace of an earlier create of this sync whose answer and look-up were
// both lost (a timeout, a reset). Visitor takes the email as the person's
// identity, as --rebuild-ownership does, so the user is this Condeco
// row's: it is brought up to date and recorded, rather than refused on
// every run from now on. A user made by hand is never a stray (the
// unfiltered listing leaves it out), so it stays a conflict.
func (g *Generic) claimStray(ctx context.Context, u User) (User, bool, error) {
	g.strayMu.Lock()
	id, ok := g.strays[strings.ToLower(u.UserName)]
	g.strayMu.Unlock()
	if !ok {
		return User{}, false, nil
	}
	desired := u
	desired.ID = id
	got, err := g.write(ctx, id, desired, strayFields)
	if err != nil {
		return User{}, true, fmt.Errorf("creating user %q: Visitor user %s created through SCIM holds its userName; updating it to claim it: %w", u.ExternalID, id, err)
	}
	if err := g.record(Owned{ID: id, UserName: got.UserName, ExternalID: u.ExternalID}); err != nil {
		return User{}, true, fmt.Errorf("creating user %q: claimed Visitor user %s but not recorded as the sync's own: %w", u.ExternalID, id, err)
	}
	g.strayMu.Lock()
	delete(g.strays, strings.ToLower(u.UserName))
	g.strayMu.Unlock()
	g.log.Warn("claimed a scim user missing from the ownership record", zap.String("external_id", u.ExternalID),
		zap.String("visitor_id", id), zap.String("user", got.UserName))
	got.ExternalID = u.ExternalID
	return got, true, nil
}

// strayFields are what claiming a stray writes: every field the profile
// carries.
var strayFields = []Field{FieldUserName, FieldGivenName, FieldFamilyName, FieldPhone, FieldMobile,
	FieldLanguage, FieldTitle, FieldCity, FieldActive}

// UpdateUser writes the listed fields of desired (the current user with
// the changes): by PATCH with only those attributes when
// ServiceProviderConfigs says PATCH is supported, else by PUT of the
// whole of desired. FieldExternalID (adopting a user made by hand) goes
// to the ownership record, after the wire write, never on the wire.
func (g *Generic) UpdateUser(ctx context.Context, id string, desired User, fields []Field) (User, error) {
	adopt := slices.Contains(fields, FieldExternalID)
	if adopt && desired.ExternalID == "" {
		return User{}, fmt.Errorf("updating user %q: refusing to record an empty externalId", id)
	}
	wire := slices.DeleteFunc(slices.Clone(fields), func(f Field) bool { return f == FieldExternalID })
	for _, f := range wire {
		if f == FieldDefaultLocation || f == FieldAccess {
			return User{}, fmt.Errorf("updating user %q: field %q: %w (generic-v1 has no locations)", id, f, ErrNotSupported)
		}
	}
	var got User
	var err error
	if len(wire) == 0 {
		got, err = g.GetUser(ctx, id) // also proves the user is there before it is recorded
	} else {
		got, err = g.write(ctx, id, desired, wire)
	}
	if err != nil {
		return User{}, err
	}
	if adopt {
		if err := g.record(Owned{ID: id, UserName: got.UserName, ExternalID: desired.ExternalID}); err != nil {
			return User{}, fmt.Errorf("updating user %q: written but not recorded as the sync's own (externalId %s): %w", id, desired.ExternalID, err)
		}
	}
	return g.withExternalID(got)
}

// write sends one PATCH or PUT and decodes the answer.
func (g *Generic) write(ctx context.Context, id string, desired User, fields []Field) (User, error) {
	path := usersPath + "/" + url.PathEscape(id)
	var a userAnswerV1
	if g.patchSupported(ctx) {
		if slices.Contains(fields, FieldUserName) {
			var err error
			if desired, err = checkIdentity(desired); err != nil {
				return User{}, fmt.Errorf("updating user %q: %w", id, err)
			}
		}
		body, err := patchV1(desired, fields)
		if err != nil {
			return User{}, fmt.Errorf("updating user %q: %w", id, err)
		}
		if err := g.c.call(ctx, http.MethodPatch, path, nil, body, &a); err != nil {
			return User{}, fmt.Errorf("updating user %q: %w", id, err)
		}
	} else {
		desired, err := checkIdentity(desired)
		if err != nil {
			return User{}, fmt.Errorf("updating user %q: %w", id, err)
		}
		if err := g.c.call(ctx, http.MethodPut, path, nil, encodeUserV1(desired), &a); err != nil {
			return User{}, fmt.Errorf("updating user %q: %w", id, err)
		}
	}
	if !a.got { // 204: read what is stored
		return g.GetUser(ctx, id)
	}
	u, err := a.result()
	if err != nil {
		return User{}, fmt.Errorf("updating user %q: %w", id, err)
	}
	return u, nil
}

// DeleteUser deletes a user by id and drops it from the record, also when
// Visitor no longer has it (404: deleted by hand). That 404 is still
// returned, as Client returns it.
func (g *Generic) DeleteUser(ctx context.Context, id string) error {
	err := g.c.call(ctx, http.MethodDelete, usersPath+"/"+url.PathEscape(id), nil, nil, nil)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("deleting user %q: %w", id, err)
	}
	if rerr := g.forget(id); rerr != nil {
		return fmt.Errorf("deleting user %q: deleted in Visitor but still in the ownership record: %w", id, rerr)
	}
	if err != nil {
		return fmt.Errorf("deleting user %q: %w", id, err)
	}
	return nil
}
