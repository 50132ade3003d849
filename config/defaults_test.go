package config

import (
	"fmt"
	"strings"
	"testing"

	"condeco-visitor-sync/visitor"
	"condeco-visitor-sync/visitor/simulator"
)

// The simulator cannot use visitor's constants: visitor's own tests import
// the simulator, so the simulator importing visitor would be a cycle. The
// demo and the end-to-end tests run the two with their defaults, and this
// says which constant disagrees when they stop matching.
func TestSimulatorDefaultsAreVisitors(t *testing.T) {
	for _, c := range []struct{ name, sim, client string }{
		{"user schema", simulator.DefaultUserSchema, visitor.DefaultUserSchema},
		{"location schema", simulator.DefaultLocationSchema, visitor.DefaultLocationSchema},
		// The simulator routes by path, the client joins a resource name.
		{"locations endpoint", strings.TrimPrefix(simulator.DefaultLocationsEndpoint, "/"), visitor.DefaultLocationsEndpoint},
		{"page size", fmt.Sprint(simulator.DefaultMaxResults), fmt.Sprint(visitor.DefaultPageSize)},
	} {
		if c.sim != c.client {
			t.Errorf("%s: simulator %q, visitor %q", c.name, c.sim, c.client)
		}
	}
	if simulator.DefaultMaxBody != visitor.MaxBodyBytes {
		t.Errorf("body limit: simulator %d, visitor %d", simulator.DefaultMaxBody, visitor.MaxBodyBytes)
	}
}
