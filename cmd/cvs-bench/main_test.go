package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for cvs-bench when the bench
// starts its sync processes (os.Executable is the test binary here).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childCommand {
		os.Exit(childMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// A tiny bench end to end: it proves the driver wires the real parts and
// that its counts agree with what the day changed. It asserts no timing.
func TestBenchTiny(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench.json")
	s := runBench(t, []string{"--sizes", "200", "--latency", "0s", "--schema", "../../testdata/condeco/schema.sql",
		"--change-share", "0.05", "--json", out}, out,
		"### Budget and requests", "### Outside the API", "### Goals", "| 200 (182) | 2 | x100 | initial |")
	initial, same, day := s.Runs[0], s.Runs[1], s.Runs[2]
	if initial.Child.Counts.Created != s.Exported || initial.Child.Counts.LocationsCreated != s.Locations {
		t.Errorf("initial sync created %d users and %d locations, want %d and %d",
			initial.Child.Counts.Created, initial.Child.Counts.LocationsCreated, s.Exported, s.Locations)
	}
	if initial.Writes != s.Exported+s.Locations {
		t.Errorf("the server saw %d writes in the initial sync, want %d", initial.Writes, s.Exported+s.Locations)
	}
	if same.Writes != 0 || same.Child.Summary.Unchanged != s.Exported {
		t.Errorf("no-change sync: %d writes, %d unchanged of %d", same.Writes, same.Child.Summary.Unchanged, s.Exported)
	}
	sm := day.Child.Summary
	if sm.Updates != s.Day.Updated || sm.Deletes != s.Day.Departed || sm.Creates != s.Day.Joined || s.Day.users() != 10 {
		t.Errorf("day plan %+v for changes %+v", sm, s.Day)
	}
	for _, r := range s.Runs {
		if r.Child.Requests < r.Child.MinRequests || int64(r.ServerRequests) != r.Child.Requests || r.Server429 != 0 {
			t.Errorf("%s: %d requests, minimum %d, server saw %d, %d x 429", r.Scenario, r.Child.Requests, r.Child.MinRequests, r.ServerRequests, r.Server429)
		}
		if r.Child.Counts.Failed != 0 || r.Child.Error != "" || r.Child.RSSRunKB <= 0 {
			t.Errorf("%s: failed %d, error %q, max RSS %d", r.Scenario, r.Child.Counts.Failed, r.Child.Error, r.Child.RSSRunKB)
		}
	}
}

func TestParseSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"1000,10000", []int{1000, 10000}, true},
		{"1_000_000", []int{1000000}, true},
		{" 200 ", []int{200}, true},
		{"5", nil, false},
		{"1k", nil, false},
	} {
		got, err := parseSizes(tc.in)
		if (err == nil) != tc.ok || len(got) != len(tc.want) {
			t.Errorf("parseSizes(%q) = %v, %v", tc.in, got, err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("parseSizes(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}

func TestParseScales(t *testing.T) {
	locs := []int{10, 1000, 100} // the locations of each size
	tests := []struct {
		name, in string
		sizes    int
		want     []float64
		wantErr  bool
	}{
		{"one for all", "100", 3, []float64{100, 100, 100}, false},
		{"one per size", "100,100,30", 3, []float64{100, 100, 30}, false},
		{"spaces and fractions", " 2.5 , 1", 2, []float64{2.5, 1}, false},
		{"auto: half where users carry 500 locations or more", "auto", 3, []float64{100, 50, 100}, false},
		{"too few", "100,30", 3, nil, true},
		{"zero", "0", 1, nil, true},
		{"negative", "100,-1", 2, nil, true},
		{"not a number", "x", 1, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseScales(tt.in, make([]int, tt.sizes), func(i int) int { return locs[i] })
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Fatalf("parseScales(%q, %d) = %v, %v; want %v (error %v)", tt.in, tt.sizes, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseMaxLocations(t *testing.T) {
	sizes := []int{1000, 100_000, 1_000_000}
	for _, tt := range []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"auto", []int{0, 0, 100}, false},
		{"0", []int{0, 0, 0}, false},
		{"0,0,500", []int{0, 0, 500}, false},
		{"0,500", nil, true},
		{"-1", nil, true},
		{"many", nil, true},
	} {
		got, err := parseMaxLocations(tt.in, sizes)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("parseMaxLocations(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// The generic-v1 bench end to end at a tiny size, with PUT and with
// PATCH updates: the figures must be sane (issue 16 item 6): requests at
// least the minimum (users listing pages and one write per change, no
// locations), no write when nothing changed, the day's writes one per
// changed user, and the bodies counted by method. It asserts no timing.
func TestBenchGenericTiny(t *testing.T) {
	for _, patch := range []bool{false, true} {
		t.Run(map[bool]string{false: "put", true: "patch"}[patch], func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "bench.json")
			args := []string{"--sizes", "200", "--latency", "0s", "--schema", "../../testdata/condeco/schema.sql",
				"--change-share", "0.05", "--api", "generic-v1", "--json", out}
			if patch {
				args = append(args, "--generic-patch")
			}
			s := runBench(t, args, out, "target profile generic-v1", "### Write bodies (generic-v1", "| 200 (182) | 2 | x100 | initial |")
			initial, same, day := s.Runs[0], s.Runs[1], s.Runs[2]
			// No location is created or listed: the minimum is the creates
			// and the one page of an empty listing.
			if initial.Child.Counts.Created != s.Exported || initial.Child.Counts.LocationsCreated != 0 ||
				initial.Writes != s.Exported || initial.Child.MinRequests != int64(s.Exported)+1 {
				t.Errorf("initial: created %d users and %d locations, %d writes, minimum %d; want %d users, no location",
					initial.Child.Counts.Created, initial.Child.Counts.LocationsCreated, initial.Writes, initial.Child.MinRequests, s.Exported)
			}
			if same.Writes != 0 || same.Child.Summary.Unchanged != s.Exported || same.Overhead() != 1 {
				t.Errorf("no-change sync: %d writes, %d unchanged of %d, overhead %v", same.Writes, same.Child.Summary.Unchanged, s.Exported, same.Overhead())
			}
			sm := day.Child.Summary
			if sm.Updates != s.Day.Updated || sm.Deletes != s.Day.Departed || sm.Creates != s.Day.Joined || s.Day.users() != 10 || day.Writes != 10 {
				t.Errorf("day plan %+v, %d writes, for changes %+v", sm, day.Writes, s.Day)
			}
			for _, r := range s.Runs {
				if r.Overhead() < 1 || int64(r.ServerRequests) != r.Child.Requests || r.Server429 != 0 {
					t.Errorf("%s: %d requests, minimum %d, server saw %d, %d x 429", r.Scenario, r.Child.Requests, r.Child.MinRequests, r.ServerRequests, r.Server429)
				}
				// Reading ServiceProviderConfigs before the first update is
				// the one request a day may spend above the minimum.
				if extra := r.Child.Requests - r.Child.MinRequests; extra > 1 {
					t.Errorf("%s: %d requests over the minimum", r.Scenario, extra)
				}
				if r.Child.Counts.Failed != 0 || r.Child.Error != "" || r.Child.RSSRunKB <= 0 {
					t.Errorf("%s: failed %d, error %q, max RSS %d", r.Scenario, r.Child.Counts.Failed, r.Child.Error, r.Child.RSSRunKB)
				}
			}
			put, patched := day.WriteBytes["PUT"], day.WriteBytes["PATCH"]
			if initial.WriteBytes["POST"] <= 0 || (patch && (patched <= 0 || put != 0)) || (!patch && (put <= 0 || patched != 0)) {
				t.Errorf("write bodies: initial %v, day %v", initial.WriteBytes, day.WriteBytes)
			}
		})
	}
}

func TestBenchAPIFlag(t *testing.T) {
	for _, args := range [][]string{{"--api", "scim1"}, {"--generic-patch"}} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"--sizes", "200"}, args...), &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, code, stderr.String())
		}
	}
}

// runBench runs the bench with args, checks its output holds each of
// want, and returns the one size its JSON file (out) reports.
func runBench(t *testing.T, args []string, out string, want ...string) sizeResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr.String(), stdout.String())
	}
	for _, w := range want {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, stdout.String())
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rs []sizeResult
	if err := json.Unmarshal(b, &rs); err != nil || len(rs) != 1 || len(rs[0].Runs) != 3 {
		t.Fatalf("json: %v, %d sizes", err, len(rs))
	}
	return rs[0]
}
