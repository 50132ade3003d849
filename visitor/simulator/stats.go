package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
)

// Pseudo statuses for answers that never reached the client.
const (
	statusDropped           = 0  // connection closed before handling
	statusDroppedAfterWrite = -1 // write applied, then connection closed
	statusClientGone        = -2 // client gave up during injected latency
)

// Stats counts requests by method, route template and status so tests and
// benchmarks can see what a client really sent (retries included).
type Stats struct {
	Total    int            `json:"total"`
	ByMethod map[string]int `json:"byMethod"`
	// ByRoute keys are route templates, e.g. "/Users/{id}".
	ByRoute map[string]int `json:"byRoute"`
	// ByMethodRoute keys are "METHOD /template", e.g. "PATCH /Users/{id}".
	ByMethodRoute map[string]int `json:"byMethodRoute"`
	// ByStatus keys are the status code as text; "dropped" and
	// "droppedAfterWrite" for closed connections, "clientGone" for a
	// client that hung up during injected latency (nothing applied).
	ByStatus map[string]int `json:"byStatus"`
	// ByRouteStatus keys are "METHOD /template STATUS".
	ByRouteStatus map[string]int `json:"byRouteStatus"`
	// Faults counts injected faults by kind: error, drop, dropAfterWrite,
	// malformed.
	Faults map[string]int `json:"faults"`
}

func newStats() Stats {
	return Stats{
		ByMethod: map[string]int{}, ByRoute: map[string]int{}, ByMethodRoute: map[string]int{}, ByStatus: map[string]int{},
		ByRouteStatus: map[string]int{}, Faults: map[string]int{},
	}
}

func statusText(st int) string {
	switch st {
	case statusDropped:
		return "dropped"
	case statusDroppedAfterWrite:
		return "droppedAfterWrite"
	case statusClientGone:
		return "clientGone"
	}
	return strconv.Itoa(st)
}

func (s *Server) count(method, template string, status int) {
	s.smu.Lock()
	defer s.smu.Unlock()
	rt := method + " " + template
	st := statusText(status)
	s.stats.Total++
	s.stats.ByMethod[method]++
	s.stats.ByRoute[template]++
	s.stats.ByMethodRoute[rt]++
	s.stats.ByStatus[st]++
	s.stats.ByRouteStatus[rt+" "+st]++
}

func (s *Server) countFault(kind string) {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.stats.Faults[kind]++
}

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats {
	s.smu.Lock()
	defer s.smu.Unlock()
	out := newStats()
	out.Total = s.stats.Total
	for _, p := range [][2]map[string]int{
		{out.ByMethod, s.stats.ByMethod}, {out.ByRoute, s.stats.ByRoute}, {out.ByMethodRoute, s.stats.ByMethodRoute},
		{out.ByStatus, s.stats.ByStatus}, {out.ByRouteStatus, s.stats.ByRouteStatus},
		{out.Faults, s.stats.Faults},
	} {
		for k, v := range p[1] {
			p[0][k] = v
		}
	}
	return out
}

func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) {
	writeJSONType(w, http.StatusOK, "application/json", s.Stats())
}

// State is the /state dump: everything stored, plus a digest that changes
// exactly when users, locations or the outbox change, so a dry run can be
// checked for having written nothing.
type State struct {
	Users     []User       `json:"users"`
	Locations []Location   `json:"locations"`
	Outbox    []Invitation `json:"outbox"`
	Digest    string       `json:"digest"`
}

// State returns the current dump (the same as GET /state).
func (s *Server) State() State {
	st := State{Users: s.Users(), Locations: s.Locations(), Outbox: s.Outbox()}
	sort.Slice(st.Users, func(i, j int) bool { return st.Users[i].ID < st.Users[j].ID })
	sort.Slice(st.Locations, func(i, j int) bool { return st.Locations[i].ID < st.Locations[j].ID })
	b, _ := json.Marshal([]any{st.Users, st.Locations, st.Outbox})
	sum := sha256.Sum256(b)
	st.Digest = hex.EncodeToString(sum[:])
	return st
}

func (s *Server) serveState(w http.ResponseWriter, _ *http.Request) {
	writeJSONType(w, http.StatusOK, "application/json", s.State())
}

func sortInts(a []int) { sort.Ints(a) }
