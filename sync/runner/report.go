package runner

// ForFile is the report as written to state_dir: the plan without its
// creates, adoptions and updates. Each of those carries the user's whole
// access list (an adoption its own, not a shared one),
// so at 10,000 users × 100 locations the file reached 108 MiB and tripled
// the run's memory (docs/benchmarks.md); the audit log already holds one
// line per change. Deletions and deactivations stay: the safety limits
// keep them few, and they are what an operator looks for first.
func (r *Report) ForFile() *Report {
	out := *r
	if r.Plan != nil {
		p := *r.Plan
		p.Creates, p.Adoptions, p.Updates = nil, nil, nil
		out.Plan = &p
	}
	return &out
}
