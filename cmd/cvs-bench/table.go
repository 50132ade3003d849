package main

import (
	"fmt"
	"io"
	"strings"
)

// Goals from issue 7.
const (
	goalBudgetUse  = 0.95
	goalOverhead   = 1.02
	goalOutsideMS  = 2000  // export + plan, 100 000 users
	goalPeakBytes  = 150e6 // 100 000 users: 150 MB (143 MiB)
	goalSizeForMem = 100_000
)

// printTables writes the figures as Markdown tables, the form
// docs/benchmarks.md keeps them in.
func printTables(w io.Writer, c config, rs []sizeResult) {
	fmt.Fprintf(w, "\nBudget %d/min scaled on client and server by the factor in the table (the latency, %s, divided by it); server burst %d; concurrency %d; %d users per location",
		c.budget, c.latency, c.serverBurst, c.concurrency, c.perLocation)
	for i, m := range c.maxLocsAll {
		if m > 0 {
			fmt.Fprintf(w, ", at most %d locations at %s users", m, num(c.sizes[i]))
		}
	}
	if c.memLimit != "" {
		fmt.Fprintf(w, "; syncs run with GOMEMLIMIT=%s", c.memLimit)
	}
	if c.generic() {
		fmt.Fprintf(w, "; target profile %s, updates by %s (no locations: the minimum is one write per change plus the users listing's pages)", c.api, c.updateMethod())
	}
	fmt.Fprintln(w, ".")

	fmt.Fprintln(w, "\n### Budget and requests")
	fmt.Fprintln(w, "\n| users (exported) | locations | scale | run | changed | requests | minimum | overhead | writes | write phase | budget use | 429s |")
	fmt.Fprintln(w, "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range rs {
		for _, r := range s.Runs {
			sm := r.Child.Summary
			changed := sm.Creates + sm.Updates + sm.Deletes + sm.Deactivates + sm.LocationCreates
			fmt.Fprintf(w, "| %s (%s) | %s | x%g | %s | %s | %s | %s | %.4f | %s | %s | %s | %d |\n",
				num(s.Users), num(s.Exported), num(s.Locations), s.Scale, r.Scenario, num(changed), num(int(r.Child.Requests)),
				num(int(r.Child.MinRequests)), r.Overhead(), num(r.Writes), secs(r.WriteSpanMS), use(r, s.Rate), r.Server429)
		}
	}

	fmt.Fprintln(w, "\n### Outside the API")
	fmt.Fprintln(w, "\n| users | run | export | plan | export + plan | listing | peak RSS to plan | peak RSS run | peak live heap | client CPU / request | simulator CPU / request | audit log | run wall time |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range rs {
		for _, r := range s.Runs {
			ch := r.Child
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0f µs | %.0f µs | %s | %s |\n",
				num(s.Users), r.Scenario, msec(ch.ExportMS), msec(ch.PlanMS), msec(ch.ExportMS+ch.PlanMS), msec(ch.ListMS),
				mib(ch.RSSPlanKB), mib(r.Child.RSSRunKB), mib(ch.PeakLiveKB), r.CPUPerRequest(r.ClientCPUMS), r.CPUPerRequest(r.ServerCPUMS),
				bytesText(ch.AuditBytes), secs(r.WallMS))
		}
	}
	if c.report {
		fmt.Fprintln(w, "\n| users | run | last-report.json | written in | peak RSS with the report |")
		fmt.Fprintln(w, "|---:|---|---:|---:|---:|")
		for _, s := range rs {
			for _, r := range s.Runs {
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", num(s.Users), r.Scenario, bytesText(r.Child.ReportBytes), msec(r.Child.ReportMS), mib(r.Child.RSSRunKB))
			}
		}
	}
	if c.generic() {
		printWireBytes(w, c, rs)
	}
	fmt.Fprintln(w, "\nLoad average (1, 5, 15 min) around each size, on a machine shared with other work:")
	for _, s := range rs {
		fmt.Fprintf(w, "%s users: %s before, %s after (generating the database took %s).\n", num(s.Users), s.LoadBefore, s.LoadAfter, secs(s.GenerateMS))
	}

	if len(rs) > 1 {
		printGrowth(w, rs)
	}
	printGoals(w, c, rs)
}

// printGrowth puts each figure of each run side by side for every size,
// with the factor from the first size to the last.
func printGrowth(w io.Writer, rs []sizeResult) {
	a, b := rs[0], rs[len(rs)-1]
	fmt.Fprintf(w, "\n### Growth from %s to %s users (x%.0f)\n\n", num(a.Users), num(b.Users), float64(b.Users)/float64(a.Users))
	head, rule := "| figure | run |", "|---|---|"
	for _, s := range rs {
		head += " " + num(s.Users) + " |"
		rule += "---:|"
	}
	fmt.Fprintln(w, head+" growth |")
	fmt.Fprintln(w, rule+"---:|")
	figures := []struct {
		name  string
		value func(sizeResult, runResult) float64
		unit  func(float64) string
	}{
		{"locations", func(s sizeResult, _ runResult) float64 { return float64(s.Locations) }, func(v float64) string { return num(int(v)) }},
		{"requests", func(_ sizeResult, r runResult) float64 { return float64(r.Child.Requests) }, func(v float64) string { return num(int(v)) }},
		{"overhead", func(_ sizeResult, r runResult) float64 { return r.Overhead() }, func(v float64) string { return fmt.Sprintf("%.4f", v) }},
		{"budget use", func(s sizeResult, r runResult) float64 { return r.BudgetUse(s.Rate) }, func(v float64) string { return fmt.Sprintf("%.3f", v) }},
		{"429s", func(_ sizeResult, r runResult) float64 { return float64(r.Server429) }, func(v float64) string { return num(int(v)) }},
		{"export", func(_ sizeResult, r runResult) float64 { return r.Child.ExportMS }, msec},
		{"plan", func(_ sizeResult, r runResult) float64 { return r.Child.PlanMS }, msec},
		{"export + plan", func(_ sizeResult, r runResult) float64 { return r.Child.ExportMS + r.Child.PlanMS }, msec},
		{"peak RSS", func(_ sizeResult, r runResult) float64 { return float64(r.Child.RSSRunKB) }, func(v float64) string { return mib(int64(v)) }},
		{"peak live heap", func(_ sizeResult, r runResult) float64 { return float64(r.Child.PeakLiveKB) }, func(v float64) string { return mib(int64(v)) }},
		{"client CPU / request", func(_ sizeResult, r runResult) float64 { return r.CPUPerRequest(r.ClientCPUMS) }, func(v float64) string { return fmt.Sprintf("%.0f µs", v) }},
		{"audit log", func(_ sizeResult, r runResult) float64 { return float64(r.Child.AuditBytes) }, func(v float64) string { return bytesText(int64(v)) }},
		{"run wall time", func(_ sizeResult, r runResult) float64 { return r.WallMS }, secs},
	}
	for i := range a.Runs {
		for _, f := range figures {
			line := "| " + f.name + " | " + a.Runs[i].Scenario + " |"
			var first, last float64
			for k, s := range rs {
				if i >= len(s.Runs) {
					line += " – |"
					continue
				}
				v := f.value(s, s.Runs[i])
				if k == 0 {
					first = v
				}
				last = v
				line += " " + f.unit(v) + " |"
			}
			g := "–"
			if first > 0 {
				g = fmt.Sprintf("x%.2f", last/first)
			}
			fmt.Fprintln(w, line+" "+g+" |")
		}
	}
}

// printGoals checks the measured figures against the goals.
func printGoals(w io.Writer, c config, rs []sizeResult) {
	fmt.Fprintln(w, "\n### Goals")
	fmt.Fprintln(w)
	var lines []string
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	for _, s := range rs {
		for _, r := range s.Runs {
			// Budget use means something only over a write phase long
			// enough to hold many budget intervals.
			if r.Writes >= 1000 {
				u := r.BudgetUse(s.Rate)
				lines = append(lines, fmt.Sprintf("- budget use >= %.2f, %s users, %s: %.3f %s", goalBudgetUse, num(s.Users), r.Scenario, u, mark(u >= goalBudgetUse)))
			}
			lines = append(lines, fmt.Sprintf("- 429s = 0, %s users, %s: %d %s", num(s.Users), r.Scenario, r.Server429, mark(r.Server429 == 0)))
			lines = append(lines, fmt.Sprintf("- overhead <= %.2f, %s users, %s: %.4f %s", goalOverhead, num(s.Users), r.Scenario, r.Overhead(), mark(r.Overhead() <= goalOverhead)))
			if s.Users == goalSizeForMem {
				t := r.Child.ExportMS + r.Child.PlanMS
				lines = append(lines, fmt.Sprintf("- export + plan < 2 s, %s users, %s: %s %s", num(s.Users), r.Scenario, msec(t), mark(t < goalOutsideMS)))
				m := float64(r.Child.RSSRunKB) * 1024
				lines = append(lines, fmt.Sprintf("- peak memory < 150 MB, %s users, %s: %.0f MB (%.0f MiB) %s", num(s.Users), r.Scenario, m/1e6, m/(1<<20), mark(m < goalPeakBytes)))
			}
		}
	}
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}

func use(r runResult, rate int) string {
	if r.Writes < 2 {
		return "–"
	}
	return fmt.Sprintf("%.3f", r.BudgetUse(rate))
}

func num(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func msec(v float64) string {
	if v >= 10000 {
		return fmt.Sprintf("%.1f s", v/1000)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func secs(v float64) string { return fmt.Sprintf("%.1f s", v/1000) }

func mib(kb int64) string { return fmt.Sprintf("%.0f MiB", float64(kb)/1024) }

func bytesText(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

// printWireBytes is the request bodies of each generic-v1 run's writes:
// creates POST the whole user, updates PUT it whole or PATCH the changed
// attributes (--generic-patch).
func printWireBytes(w io.Writer, c config, rs []sizeResult) {
	fmt.Fprintf(w, "\n### Write bodies (%s, updates by %s)\n", c.api, c.updateMethod())
	fmt.Fprintln(w, "\n| users | run | updates | POST bodies | PUT bodies | PATCH bodies | bytes / update |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|")
	for _, s := range rs {
		for _, r := range s.Runs {
			b := r.WriteBytes
			upd := r.Child.Counts.Updated
			per := "–"
			if upd > 0 {
				per = fmt.Sprintf("%.0f B", float64(b["PUT"]+b["PATCH"])/float64(upd))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", num(s.Users), r.Scenario, num(upd),
				bytesText(b["POST"]), bytesText(b["PUT"]), bytesText(b["PATCH"]), per)
		}
	}
}
