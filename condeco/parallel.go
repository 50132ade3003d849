package condeco

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/jmoiron/sqlx"
)

// validateBatch is how many rows a validation worker takes at a time: big
// enough that handing batches over costs nothing beside the work.
const validateBatch = 256

// userBatch is a run of rows in query order and, once done is closed,
// their validation.
type userBatch struct {
	raws    []RawUser
	checked []Checked
	done    chan struct{}
}

// validateUsers reads the users query's rows on this goroutine's behalf
// and validates them on every core, handing each result to use in row
// order. Validation costs more than the reading (normalising the phone
// numbers is still the largest part), so on a two-core machine this
// nearly halves the export. read counts the rows. use must
// not keep the *Checked: its batch is reused.
func (s *Store) validateUsers(rows *sqlx.Rows, use func(*Checked)) (read int, err error) {
	workers := max(1, runtime.GOMAXPROCS(0))
	jobs := make(chan *userBatch)
	inOrder := make(chan *userBatch, 2*workers)
	// Batches come back once used, so an export allocates the few that
	// are in flight (queued, being validated, being filled, being used)
	// rather than one per 256 rows.
	free := make(chan *userBatch, 2*workers+workers+2)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			rc := newRowCache()
			for b := range jobs {
				b.checked = b.checked[:len(b.raws)]
				for i := range b.raws {
					b.checked[i] = validateUser(b.raws[i], s.rules, rc)
				}
				close(b.done)
			}
		})
	}
	var scanErr error
	go func() {
		defer close(inOrder)
		defer close(jobs)
		n := 0
		for {
			var b *userBatch
			select {
			case b = <-free:
				b.raws, b.done = b.raws[:0], make(chan struct{})
			default:
				b = &userBatch{raws: make([]RawUser, 0, validateBatch),
					checked: make([]Checked, 0, validateBatch), done: make(chan struct{})}
			}
			for len(b.raws) < validateBatch && rows.Next() {
				b.raws = append(b.raws, RawUser{})
				if err := rows.StructScan(&b.raws[len(b.raws)-1]); err != nil {
					b.raws = b.raws[:len(b.raws)-1]
					scanErr = fmt.Errorf("reading users row %d: %w", n+len(b.raws)+1, err)
					break
				}
			}
			n += len(b.raws)
			if len(b.raws) > 0 {
				inOrder <- b // first, so the taker waits for batches in row order
				jobs <- b
			}
			if scanErr != nil || len(b.raws) < validateBatch {
				return
			}
		}
	}()
	for b := range inOrder {
		<-b.done
		for i := range b.checked {
			use(&b.checked[i])
		}
		read += len(b.raws)
		select {
		case free <- b:
		default:
		}
	}
	wg.Wait()
	if scanErr != nil {
		return read, scanErr
	}
	if err := rows.Err(); err != nil {
		return read, fmt.Errorf("reading users: %w", err)
	}
	return read, nil
}
