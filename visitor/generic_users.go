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
	strays := map[string]string{}
	for _, u := range all {
		listed[u.ID] = true
		o, ok := own[u.ID]
		if ok && strings.HasPrefix(o.ExternalID, externalIDPrefix) {
			u.ExternalID = o.ExternalID
			out = append(out, u)
		}
		if !ok {
			strays[strings.ToLower(u.UserName)] = u.ID
		}
	}
	g.strayMu.Lock()
	g.strays = strays
	g.strayMu.Unlock()
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
		if errors.Is(err, ErrBadRequest) && strings.Contains(batch, " or ") {
			// A server that refuses "or": one GET per user from here on.
			g.log.Warn("batched read by id refused; reading one user at a time", zap.Error(err))
			return g.usersOneByOne(ctx, out, want)
		}
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

// usersOneByOne reads each wanted id not yet in out with a GET; an id no
// user has is left out.
func (g *Generic) usersOneByOne(ctx context.Context, out []User, want map[string]bool) ([]User, error) {
	seen := make(map[string]bool, len(out))
	for _, u := range out {
		seen[u.ID] = true
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		if !seen[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		var a userAnswerV1
		err := g.c.call(ctx, http.MethodGet, usersPath+"/"+url.PathEscape(id), nil, nil, &a)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("getting user %q: %w", id, err)
		}
		u, err := a.result()
		if err != nil {
			return out, fmt.Errorf("getting user %q: %w", id, err)
		}
		out = append(out, u)
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
	u, err := oneUser(us, err, attr, value)
	if u == nil || err != nil {
		return nil, err
	}
	found, err := g.withExternalID(*u)
	return &found, err
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
