// Tests against the project's Visitor simulator (visitor/simulator): the
// client must pass a strict, independent implementation of the contract.
package visitor

import (
	"context"
	"errors"
	"strings"
	"testing"

	"condeco-visitor-sync/visitor/simulator"
)

func startSim(t *testing.T, o simulator.Options) (string, *simulator.Server) {
	t.Helper()
	url, srv, stop, err := simulator.Start(o, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	return url, srv
}

func TestSimulatorLifecycle(t *testing.T) {
	url, srv := startSim(t, simulator.Options{Token: testToken})
	c, _ := newClient(t, testOptions(url))
	ctx := context.Background()

	locs, err := c.ListLocations(ctx)
	if err != nil || len(locs) != 1 || !locs[0].Default {
		t.Fatalf("locations: %+v %v", locs, err)
	}
	annex, err := c.CreateLocation(ctx, Location{ExternalID: "condeco-location:2", Name: "Annex"})
	if err != nil || annex.ID == "" || !strings.HasPrefix(annex.CompanyID, "CO-") {
		t.Fatalf("create location: %+v %v", annex, err)
	}
	u := sampleUser(1)
	u.DefaultLocation = locs[0].ID
	u.Access = []Access{{LocationID: locs[0].ID, Role: RoleAdmin}, {LocationID: annex.ID, Role: RoleUser}}
	u.SendInvitation = true
	created, err := c.CreateUser(ctx, u)
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	if created.Phone != u.Phone || created.Mobile != u.Mobile || len(created.Access) != 2 || created.DefaultLocation != locs[0].ID {
		t.Fatalf("created %+v", created)
	}
	if len(srv.Outbox()) != 1 {
		t.Fatalf("outbox %v", srv.Outbox())
	}
	managed, err := c.ListManagedUsers(ctx, "condeco:")
	if err != nil || len(managed) != 1 {
		t.Fatalf("managed: %+v %v", managed, err)
	}
	// The simulator keeps one active admin, so add another before
	// deactivating the first.
	admin2 := sampleUser(3)
	admin2.Access = []Access{{LocationID: locs[0].ID, Role: RoleAdmin}}
	if _, err := c.CreateUser(ctx, admin2); err != nil {
		t.Fatalf("second admin: %v", err)
	}
	d := created
	d.UserName, d.Email = "renamed@example.com", "renamed@example.com"
	d.Active = false
	upd, err := c.UpdateUser(ctx, d.ID, d, []Field{FieldUserName, FieldActive})
	if err != nil || upd.UserName != "renamed@example.com" || upd.Email != "renamed@example.com" || upd.Active {
		t.Fatalf("update: %+v %v", upd, err)
	}
	// Deactivated users vanish from unfiltered listings but not from the
	// managed (filtered) one.
	if all, err := c.ListUsers(ctx, ""); err != nil || len(all) != 1 {
		t.Fatalf("unfiltered: %d %v", len(all), err)
	}
	if m, err := c.ListManagedUsers(ctx, "condeco:"); err != nil || len(m) != 2 {
		t.Fatalf("managed after deactivate: %d %v", len(m), err)
	}
	bad := sampleUser(2)
	bad.GivenName = "Ana_Maria"
	var se *Error
	if _, err := c.CreateUser(ctx, bad); !errors.As(err, &se) || se.Status != 400 || se.ScimType != "invalidValue" {
		t.Fatalf("invalid name: %v", err)
	}
	if err := c.DeleteUser(ctx, created.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
}

func TestSimulatorTokenEndpoint(t *testing.T) {
	url, srv := startSim(t, simulator.Options{ClientID: "client-1", ClientSecret: testSecret})
	c, _ := newClient(t, tokenOptions(url, strings.TrimSuffix(url, simulator.BasePath)+"/oauth/token"))
	ctx := context.Background()
	if _, err := c.ListLocations(ctx); err != nil {
		t.Fatal(err)
	}
	srv.ExpireTokens()
	if _, err := c.ListLocations(ctx); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if s := c.Stats(); s.TokenFetch != 2 {
		t.Fatalf("stats %+v", s)
	}
}
