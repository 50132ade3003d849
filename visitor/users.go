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

	"condeco-visitor-sync/internal/intern"
)

const usersPath = "Users"

// ListUsers returns every user matching filter (all SCIM-created active
// users when filter is empty, per the contract).
func (c *Client) ListUsers(ctx context.Context, filter string) ([]User, error) {
	var out []User
	// The slice is made once at the size the first page announces: grown
	// by append, a listing of 100 000 users held the old and the new
	// backing arrays (16 and 20 MB) at once near its end.
	grow := func(total int) { out = make([]User, 0, total) }
	// Held for the whole run; given names, surnames and language tags
	// repeat from user to user: one shared copy of each.
	var names intern.Pool
	share := names.String
	err := c.list(ctx, usersPath, filter, grow, func(r json.RawMessage) (string, error) {
		u, err := c.decodeUser(r)
		if err != nil {
			return "", err
		}
		u.GivenName, u.FamilyName, u.Language = share(u.GivenName), share(u.FamilyName), share(u.Language)
		out = append(out, u)
		return u.ID, nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	if out == nil {
		out = []User{}
	}
	return out, nil
}

// ListManagedUsers lists the users this integration owns, inactive ones
// included, because a filtered listing returns them too. A server that
// refuses the sw operator (400 invalidFilter, RFC 7644 §3.4.2.2 lets it)
// is listed without a filter instead and the prefix applied here; such a
// listing may leave out inactive users (Eptura's servers list only active
// SCIM-created users without a filter), which the sync then neither
// updates nor removes. The client remembers the refusal.
func (c *Client) ListManagedUsers(ctx context.Context, externalIDPrefix string) ([]User, error) {
	if externalIDPrefix == "" {
		return nil, errors.New("listing managed users: empty externalId prefix would match every user")
	}
	if !c.swRefused.Load() {
		us, err := c.ListUsers(ctx, Filter("externalId", "sw", externalIDPrefix))
		if !filterRefused(err) {
			return us, err
		}
		c.swRefused.Store(true)
		c.log.Warn("the server refuses sw filters: listing every SCIM user and keeping the managed prefix here; inactive users may be missing from such a listing",
			zap.String("error", err.Error()))
	}
	all, err := c.ListUsers(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("listing managed users without a filter: %w", err)
	}
	out := all[:0]
	for _, u := range all {
		if strings.HasPrefix(u.ExternalID, externalIDPrefix) {
			out = append(out, u)
		}
	}
	return slices.Clip(out), nil
}

// filterRefused says whether err is a server refusing a filter it does
// not support (RFC 7644 §3.12: 400 invalidFilter).
func filterRefused(err error) bool {
	var se *Error
	return errors.As(err, &se) && se.Status == http.StatusBadRequest && strings.EqualFold(se.ScimType, "invalidFilter")
}

// FindUser returns the one user whose attr equals value, or nil when there
// is none.
func (c *Client) FindUser(ctx context.Context, attr, value string) (*User, error) {
	f, err := BuildFilter(attr, "eq", value)
	if err != nil {
		return nil, fmt.Errorf("finding user: %w", err)
	}
	us, err := c.ListUsers(ctx, f)
	return oneUser(us, err, attr, value)
}

// oneUser is FindUser's answer from its listing: nil for none, the user
// for one, ErrAmbiguous for more (both profiles).
func oneUser(us []User, err error, attr, value string) (*User, error) {
	if err != nil {
		return nil, fmt.Errorf("finding user by %s: %w", attr, err)
	}
	switch len(us) {
	case 0:
		return nil, nil
	case 1:
		return &us[0], nil
	}
	return nil, fmt.Errorf("finding user by %s %q: %d users: %w", attr, value, len(us), ErrAmbiguous)
}

// GetUser reads one user by id.
func (c *Client) GetUser(ctx context.Context, id string) (User, error) {
	a := userAnswer{c: c}
	if err := c.call(ctx, http.MethodGet, usersPath+"/"+url.PathEscape(id), nil, nil, &a); err != nil {
		return User{}, fmt.Errorf("getting user %q: %w", id, err)
	}
	return a.result()
}

// userAnswer is a user answer (GET, POST, PATCH) decoded inside call, so
// decodeUser's one pass over the bytes is also the check that the answer
// is not garbled, which would otherwise cost a scan of its own (a user
// with 1 000 locations is 35 KB). Only a syntax error counts as garbled;
// valid JSON that is not a user is kept for the caller to judge.
type userAnswer struct {
	c    *Client
	got  bool // a body came; false after a 204
	user User
	err  error
}

func (a *userAnswer) decodeAnswer(data []byte) error {
	u, err := a.c.decodeUser(data)
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, errObject) {
		return err
	}
	a.got, a.user, a.err = true, u, err
	return nil
}

func (a *userAnswer) result() (User, error) {
	if !a.got {
		return a.c.decodeUser(nil) // the error an empty answer always gave
	}
	return a.user, a.err
}

// CreateUser creates u. A create whose outcome is unknown is never simply
// sent again: the user is first looked up by externalId, so a lost answer
// cannot produce a duplicate.
func (c *Client) CreateUser(ctx context.Context, u User) (User, error) {
	u, err := checkIdentity(u)
	if err != nil {
		return User{}, fmt.Errorf("creating user: %w", err)
	}
	var found *User
	a := userAnswer{c: c}
	err = c.createOnce(ctx, usersPath, u.ExternalID, c.encodeUser(u), &a, func(ctx context.Context) (bool, error) {
		var err error
		found, err = c.FindUser(ctx, "externalId", u.ExternalID)
		return found != nil, err
	})
	if err != nil {
		return User{}, fmt.Errorf("creating user %q: %w", u.ExternalID, err)
	}
	if found != nil {
		return *found, nil
	}
	if !a.got {
		// RFC 7644 §3.3: the 201 SHOULD, not must, carry the resource. The
		// user exists; its id and stored form come from a lookup.
		found, err = c.FindUser(ctx, "externalId", u.ExternalID)
		switch {
		case err != nil:
			return User{}, fmt.Errorf("creating user %q: created without an answer; looking it up: %w", u.ExternalID, err)
		case found == nil:
			return User{}, fmt.Errorf("creating user %q: created without an answer, and no user has that externalId", u.ExternalID)
		}
		return *found, nil
	}
	created, err := a.result()
	if err != nil {
		return User{}, fmt.Errorf("creating user %q: %w", u.ExternalID, err)
	}
	return created, nil
}

// createOnce POSTs body, decoding the answer into out, and, when the
// outcome is unknown, asks lookup whether the object now exists before
// POSTing again. lookup keeps the object it finds; out is then untouched.
func (c *Client) createOnce(ctx context.Context, path, externalID string, body, out any,
	lookup func(context.Context) (bool, error)) error {
	uncertain := false
	for attempt := 0; ; attempt++ {
		err := c.call(ctx, http.MethodPost, path, nil, body, out)
		if err == nil {
			return nil
		}
		// A conflict after an unknown outcome is most likely our own
		// earlier POST having gone through.
		if !(unknownOutcome(err) || (uncertain && errors.Is(err, ErrConflict))) || ctx.Err() != nil ||
			errors.Is(err, ErrRetryAfter) {
			return err
		}
		if externalID == "" {
			return fmt.Errorf("outcome unknown and no externalId to check it by: %w", err)
		}
		uncertain = true
		c.log.Warn("create outcome unknown, looking it up", zap.String("path", path),
			zap.String("external_id", externalID), zap.Error(err))
		found, lerr := lookup(ctx)
		if lerr != nil {
			return errors.Join(err, fmt.Errorf("looking up after unknown outcome: %w", lerr))
		}
		if found {
			return nil
		}
		if errors.Is(err, ErrConflict) || attempt >= c.retryMax {
			return err
		}
		wait := backoff(c.retryWaitMin, c.retryWaitMax, attempt, nil)
		var se *Error
		if errors.As(err, &se) && se.RetryAfter > wait {
			wait = se.RetryAfter
		}
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// unknownOutcome reports whether the server may have acted on a request
// whose answer we did not get or that failed on the server's side.
func unknownOutcome(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		// Refused by our own limiter: never sent.
		return !errors.Is(err, errLimiterDeadline)
	}
	var se *Error
	return errors.As(err, &se) && se.Status >= 500
}

// UpdateUser sends replace operations for only the listed fields, taking
// their values from desired.
func (c *Client) UpdateUser(ctx context.Context, id string, desired User, fields []Field) (User, error) {
	if slices.Contains(fields, FieldUserName) {
		var err error
		if desired, err = checkIdentity(desired); err != nil {
			return User{}, fmt.Errorf("updating user %q: %w", id, err)
		}
	}
	ops, err := c.patchOps(desired, fields)
	if err != nil {
		return User{}, fmt.Errorf("updating user %q: %w", id, err)
	}
	if len(ops) == 0 {
		return c.GetUser(ctx, id)
	}
	a := userAnswer{c: c}
	req := patchRequest{Schemas: []string{PatchOpSchema}, Operations: ops}
	if err := c.call(ctx, http.MethodPatch, usersPath+"/"+url.PathEscape(id), nil, req, &a); err != nil {
		return User{}, fmt.Errorf("updating user %q: %w", id, err)
	}
	if !a.got { // 204 No Content
		return c.GetUser(ctx, id)
	}
	return a.result()
}

// DeleteUser deletes a user by id.
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	if err := c.call(ctx, http.MethodDelete, usersPath+"/"+url.PathEscape(id), nil, nil, nil); err != nil {
		return fmt.Errorf("deleting user %q: %w", id, err)
	}
	return nil
}
