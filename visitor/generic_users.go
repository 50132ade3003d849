package visitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.uber.org/zap"
)

// ListUsers returns every user matching filter, which may use only what
// SCIM 1.1 has (checkFilterV1); an empty filter lists the users created
// through SCIM. No ownership is applied: ExternalID is empty.
func (g *Generic) ListUsers(ctx context.Context, filter string) ([]User, error) {
	if filter != "" {
		if err := checkFilterV1(filter); err != nil {
			return nil, fmt.Errorf("listing users: %w", err)
		}
	}
	out := []User{}
	grow := func(total int) { out = make([]User, 0, total) }
	err := g.c.list(ctx, usersPath, filter, grow, func(r json.RawMessage) (string, error) {
		u, err := decodeUserV1(r)
		if err != nil {
			return "", err
		}
		// Ownership is by id: a user without one could be no one's.
		if u.ID == "" {
			return "", fmt.Errorf("%w: user %q has no id", ErrMalformed, u.UserName)
		}
		out = append(out, u)
		return u.ID, nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	return out, nil
}

// ListAllUsers lists the users Visitor holds that were created through
// SCIM, ownership not applied, for rebuilding a lost ownership record.
func (g *Generic) ListAllUsers(ctx context.Context) ([]User, error) { return g.ListUsers(ctx, "") }

// ListManagedUsers lists the users the ownership record says the sync
// created, with their externalId from the record, those with the prefix
// only. The unfiltered listing holds every SCIM-created user; a recorded
// user missing from it (one adopted after being made by hand, which such
// a listing never holds, or one the server leaves out for another reason)
// is read by id; one not found that way was deleted by hand and is left
// out, so the planner creates it again. Without a record, an empty
// listing is a first sync, and any other is refused (ErrOwnershipLost):
// reading it as "none are ours" would create every user a second time.
func (g *Generic) ListManagedUsers(ctx context.Context, externalIDPrefix string) ([]User, error) {
	if externalIDPrefix == "" {
		return nil, errors.New("listing managed users: empty externalId prefix would match every user")
	}
	own, exists, err := g.owned(true)
	if err != nil {
		return nil, fmt.Errorf("listing managed users: %w", err)
	}
	all, err := g.ListAllUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing managed users: %w", err)
	}
	if !exists {
		if len(all) > 0 {
			return nil, fmt.Errorf("listing managed users: %w: Visitor holds %d users created through SCIM and state_dir has no record of which are this sync's; rebuild the record with --rebuild-ownership (run it with --dry-run first)",
				ErrOwnershipLost, len(all))
		}
		return []User{}, nil
	}
	out := make([]User, 0, min(len(own), len(all)))
	listed := make(map[string]bool, len(all))
	for _, u := range all {
		listed[u.ID] = true
		if o, ok := own[u.ID]; ok && strings.HasPrefix(o.ExternalID, externalIDPrefix) {
			u.ExternalID = o.ExternalID
			out = append(out, u)
		}
	}
	var missing []string
	for id, o := range own {
		if !listed[id] && strings.HasPrefix(o.ExternalID, externalIDPrefix) {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	slices.Sort(missing)
	found, err := g.usersByID(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("listing managed users: reading %d recorded users the listing left out: %w", len(missing), err)
	}
	for _, u := range found {
		u.ExternalID = own[u.ID].ExternalID
		out = append(out, u)
	}
	g.log.Info("recorded users outside the scim listing",
		zap.Int("read_by_id", len(found)), zap.Int("gone", len(missing)-len(found)))
	return out, nil
}

// usersByID reads the users with the given ids, many to a request
// (`id eq "a" or id eq "b"`, within MaxFilterBytes), ownership not
// applied. Ids no user has are left out.
func (g *Generic) usersByID(ctx context.Context, ids []string) ([]User, error) {
	var out []User
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	for _, batch := range orBatches("id", ids, MaxFilterBytes) {
		us, err := g.ListUsers(ctx, batch)
		if err != nil {
			return out, err
		}
		for _, u := range us {
			if want[u.ID] { // a server matching ids loosely adds no one
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// UsersByExternalID re-reads the users the record gives these externalIds
// (verification), by id, many to a request. An externalId the record does
// not hold has no user.
func (g *Generic) UsersByExternalID(ctx context.Context, ids []string) ([]User, error) {
	var vids []string
	for _, ext := range ids {
		id, err := g.idOf(ext)
		if err != nil {
			return nil, fmt.Errorf("reading users by externalId: %w", err)
		}
		if id != "" {
			vids = append(vids, id)
		}
	}
	us, err := g.usersByID(ctx, vids)
	for i := range us {
		us[i], _ = g.withExternalID(us[i]) // the record is loaded: no error
	}
	if err != nil {
		return us, fmt.Errorf("reading users by externalId: %w", err)
	}
	return us, nil
}

// FindUser returns the one user whose attr equals value, or nil. userName
// and emails are looked up with an eq filter (which finds users made by
// hand too); externalId through the record and a GET, since the wire has
// none; id with a GET.
func (g *Generic) FindUser(ctx context.Context, attr, value string) (*User, error) {
	switch strings.ToLower(attr) {
	case "externalid":
		id, err := g.idOf(value)
		if err != nil || id == "" {
			return nil, err
		}
		value = id
		fallthrough
	case "id":
		u, err := g.GetUser(ctx, value)
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, nil
		case err != nil:
			return nil, err
		}
		return &u, nil
	}
	f, err := BuildFilterV1(attr, "eq", value)
	if err != nil {
		return nil, fmt.Errorf("finding user: %w", err)
	}
	us, err := g.ListUsers(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("finding user by %s: %w", attr, err)
	}
	switch len(us) {
	case 0:
		return nil, nil
	case 1:
		u, err := g.withExternalID(us[0])
		return &u, err
	}
	return nil, fmt.Errorf("finding user by %s %q: %d users: %w", attr, value, len(us), ErrAmbiguous)
}

// GetUser reads one user by id, its externalId from the record.
func (g *Generic) GetUser(ctx context.Context, id string) (User, error) {
	var a userAnswerV1
	if err := g.c.call(ctx, http.MethodGet, usersPath+"/"+url.PathEscape(id), nil, nil, &a); err != nil {
		return User{}, fmt.Errorf("getting user %q: %w", id, err)
	}
	u, err := a.result()
	if err != nil {
		return User{}, fmt.Errorf("getting user %q: %w", id, err)
	}
	return g.withExternalID(u)
}

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
	lookup := func(ctx context.Context) (bool, error) {
		var err error
		found, err = g.FindUser(ctx, "userName", u.UserName)
		return found != nil, err
	}
	// createOnce names the user by externalId in its log; the lookup
	// itself is by userName, the only key on this wire.
	if err := g.c.createOnce(ctx, usersPath, u.ExternalID, encodeUserV1(u), &a, lookup); err != nil {
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

// ListLocations: generic-v1 has no locations.
func (g *Generic) ListLocations(context.Context) ([]Location, error) { return nil, nil }

// CreateLocation is refused: generic-v1 has no locations.
func (g *Generic) CreateLocation(_ context.Context, l Location) (Location, error) {
	return Location{}, fmt.Errorf("creating location %q: %w (generic-v1 has no locations)", l.ExternalID, ErrNotSupported)
}

// UpdateLocation is refused: generic-v1 has no locations.
func (g *Generic) UpdateLocation(_ context.Context, id string, _ Location, _ []LocationField) (Location, error) {
	return Location{}, fmt.Errorf("updating location %q: %w (generic-v1 has no locations)", id, ErrNotSupported)
}
