package apply

import (
	"sync/atomic"
	"time"
)

// Progress lets the daemon show a long apply phase (log lines, a progress
// bar, metrics) without the sync package knowing how it is shown. All
// methods are safe for concurrent use; a nil *Progress ignores updates.
type Progress struct {
	total, done atomic.Int64
	started     atomic.Int64 // unix nanoseconds of the apply start; 0 = not applying
}

func (p *Progress) begin(total int) {
	if p == nil {
		return
	}
	p.done.Store(0)
	p.total.Store(int64(total))
	p.started.Store(time.Now().UnixNano())
}

func (p *Progress) step() {
	if p != nil {
		p.done.Add(1)
	}
}

func (p *Progress) end() {
	if p != nil {
		p.started.Store(0)
	}
}

// Snapshot says how many planned writes are done of how many, and since
// when the apply phase runs (zero time when no run is applying).
func (p *Progress) Snapshot() (done, total int64, since time.Time) {
	if p == nil {
		return 0, 0, time.Time{}
	}
	if s := p.started.Load(); s != 0 {
		since = time.Unix(0, s)
	}
	return p.done.Load(), p.total.Load(), since
}
