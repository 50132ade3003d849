package runner

// ForFile is the report as written to state_dir: the plan without its
// creates and updates. Each of those carries the user's whole access list,
// so at 10,000 users × 100 locations the file reached 108 MiB and tripled
// the run's memory (docs/benchmarks.md); the audit log already holds one
// line per change. Deletions and deactivations stay: the safety limits
// keep them few, and they are what an operator looks for first.
func (r *Report) ForFile() *Report {
	out := *r
	if r.Plan != nil {
		p := *r.Plan
		p.Creates, p.Updates = nil, nil
		out.Plan = &p
	}
	return &out
}
