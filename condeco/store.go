package condeco

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	_ "github.com/microsoft/go-mssqldb" // registers "sqlserver"
	"go.uber.org/zap"
	_ "modernc.org/sqlite" // registers "sqlite"
)

// Store reads Condeco's desired state from one database.
type Store struct {
	db     *sqlx.DB
	log    *zap.Logger
	o      Options
	engine string // "sqlserver" or "sqlite"
	rules  Rules
}

// Open connects, pings and runs Check, so a wrong query or a missing
// column fails at start-up rather than at the first scheduled run.
func Open(ctx context.Context, o Options, log *zap.Logger) (*Store, error) {
	if log == nil {
		log = zap.NewNop()
	}
	o = o.withDefaults()
	name, dsn, err := o.connString(log)
	if err != nil {
		return nil, err
	}
	db, err := o.openDB(name, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	s := &Store{db: db, log: log, o: o, engine: o.Driver,
		rules: Rules{GlobalAdminLevels: o.GlobalAdminLevels, PhoneRegion: o.PhoneRegion}}
	if err := s.Check(ctx); err != nil {
		db.Close()
		return nil, err
	}
	log.Info("condeco database ready", zap.String("driver", o.Driver), zap.String("host", o.Host))
	return s, nil
}

// DB gives tests and the demo the underlying handle (to load fixtures).
func (s *Store) DB() *sqlx.DB { return s.db }

// Close releases the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Check proves the database answers and that both queries return every
// required column. The error names the first missing column.
func (s *Store) Check(ctx context.Context) error {
	pctx, cancel := s.connectContext(ctx)
	err := s.db.PingContext(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("connecting to condeco database: %w", err)
	}
	return s.inReadTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		for _, q := range []struct {
			name, text string
			cols       []string
		}{
			{"users", s.o.UsersQuery, UserColumns},
			{"locations", s.o.LocationsQuery, LocationColumns},
		} {
			rows, err := tx.QueryxContext(ctx, q.text, queryArgs()...)
			if err != nil {
				return fmt.Errorf("running %s query: %w", q.name, err)
			}
			err = requireColumns(rows, q.name, q.cols)
			rows.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Export reads users and locations in one read-only transaction,
// validating each row as it arrives. Any read error fails the whole
// export: a partial read must never look like people leaving.
func (s *Store) Export(ctx context.Context) (*Export, error) {
	var out *Export
	err := s.inReadTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		e := &Export{Users: []User{}, Locations: []Location{}, Held: []string{}, Problems: []RowError{},
			HeldUserNames: []string{}, HeldLocations: []string{}, Warnings: []RowError{}}
		if err := s.readLocations(ctx, tx, e); err != nil {
			return err
		}
		if err := s.readUsers(ctx, tx, e); err != nil {
			return err
		}
		out = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("condeco export read", zap.Int("rows", out.RowsRead), zap.Int("users", len(out.Users)),
		zap.Int("locations", len(out.Locations)), zap.Int("held", len(out.Held)),
		zap.Int("problems", len(out.Problems)), zap.Int("warnings", len(out.Warnings)))
	return out, nil
}

func (s *Store) readLocations(ctx context.Context, tx *sqlx.Tx, e *Export) error {
	rows, err := tx.QueryxContext(ctx, s.o.LocationsQuery, queryArgs()...)
	if err != nil {
		return fmt.Errorf("running locations query: %w", err)
	}
	defer rows.Close()
	if err := requireColumns(rows, "locations", LocationColumns); err != nil {
		return err
	}
	if e.CityRead, err = hasColumn(rows, "locations", CityColumn); err != nil {
		return err
	}
	seen := map[string]int{} // id -> index in e.Locations, -1 once duplicated
	for rows.Next() {
		var raw RawLocation
		if err := rows.StructScan(&raw); err != nil {
			return fmt.Errorf("reading locations row %d: %w", e.RowsRead+1, err)
		}
		e.RowsRead++
		e.LocationRows++
		l, probs := ValidateLocation(raw)
		if l.cityDropped != "" && len(probs) == 0 {
			e.Warnings = append(e.Warnings, RowError{Table: "locations", RowID: l.ID, Field: "city",
				Rule: RuleOptionalDropped + " (" + l.cityDropped + ")", Value: clean(raw.City)})
			l.cityDropped, l.CityDropped = "", true
		}
		if len(probs) > 0 {
			e.Problems = append(e.Problems, probs...)
			if l.ID != "" {
				e.HeldLocations = append(e.HeldLocations, l.ID)
			}
			continue
		}
		key := strings.ToLower(l.ID)
		if i, dup := seen[key]; dup {
			e.Problems = append(e.Problems, RowError{Table: "locations", RowID: l.ID, Field: "id", Rule: RuleDuplicateID})
			e.HeldLocations = append(e.HeldLocations, l.ID)
			if i >= 0 {
				e.Locations[i].ID = "" // removed below
				seen[key] = -1
			}
			continue
		}
		seen[key] = len(e.Locations)
		e.Locations = append(e.Locations, l)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading locations: %w", err)
	}
	e.Locations = slices.DeleteFunc(e.Locations, func(l Location) bool { return l.ID == "" })
	slices.SortFunc(e.Locations, func(a, b Location) int { return compareIDs(a.ID, b.ID) })
	e.HeldLocations = sortUnique(e.HeldLocations)
	return nil
}

func (s *Store) readUsers(ctx context.Context, tx *sqlx.Tx, e *Export) error {
	rows, err := tx.QueryxContext(ctx, s.o.UsersQuery, queryArgs()...)
	if err != nil {
		return fmt.Errorf("running users query: %w", err)
	}
	defer rows.Close()
	if err := requireColumns(rows, "users", UserColumns); err != nil {
		return err
	}
	if e.TitleRead, err = hasColumn(rows, "users", TitleColumn); err != nil {
		return err
	}
	// How many rows claim each userName and id, exported and held alike.
	// A held row still claims its id and names: an exported row that
	// shares one would collide with the held user's Visitor account.
	var (
		names = map[string]int32{}
		ids   = map[string]int32{} // lower-cased
	)
	claim := func(m map[string]int32, k string) { m[k]++ }
	// Exported users are kept in fixed-size chunks while rows arrive and
	// copied once into a slice of the final length: a slice grown by
	// append would copy itself over and over and end up to a quarter
	// larger than needed, and the export is held for the whole run.
	const chunkUsers = 4096
	var chunks [][]User
	read, err := s.validateUsers(rows, func(c *Checked) {
		if c.Skip {
			return
		}
		if len(c.Problems) > 0 {
			e.Problems = append(e.Problems, c.Problems...)
			if id := c.User.ID; id != "" {
				e.Held = append(e.Held, id)
				claim(ids, strings.ToLower(id))
			}
			for _, n := range c.Names {
				e.HeldUserNames = append(e.HeldUserNames, n)
				e.heldName(n, c.User.ID)
				claim(names, n)
			}
			return
		}
		for _, w := range c.Warnings {
			s.log.Warn("condeco value dropped", zap.String("table", w.Table), zap.String("row", w.RowID),
				zap.String("field", w.Field), zap.String("rule", w.Rule))
		}
		e.Warnings = append(e.Warnings, c.Warnings...)
		if len(chunks) == 0 || len(chunks[len(chunks)-1]) == chunkUsers {
			chunks = append(chunks, make([]User, 0, chunkUsers))
		}
		last := &chunks[len(chunks)-1]
		*last = append(*last, c.User)
		if !c.User.Inactive { // a deactivated row claims no userName: a rehire may take it
			claim(names, c.User.UserName)
		}
		claim(ids, strings.ToLower(c.User.ID))
	})
	if err != nil {
		return err
	}
	e.RowsRead += read
	e.UserRows += read
	if read == 0 {
		// Not an error here: the sync's source guard stops a run on an
		// empty export (exit 5) and --allow-source-shrink lets one through.
		s.log.Warn("condeco users query returned no rows")
	}
	// Colliding users: none of them is exported, each is reported.
	colliding := func(u *User) bool {
		dupName, dupID := !u.Inactive && names[u.UserName] > 1, ids[strings.ToLower(u.ID)] > 1
		if dupName {
			e.Problems = append(e.Problems, RowError{Table: "users", RowID: u.ID, Field: "userName", Rule: RuleDuplicateName})
		}
		if dupID {
			e.Problems = append(e.Problems, RowError{Table: "users", RowID: u.ID, Field: "id", Rule: RuleDuplicateID})
		}
		return dupName || dupID
	}
	total := 0
	for _, ch := range chunks {
		total += len(ch)
	}
	kept := make([]User, 0, total) // exact unless users collide
	for i, ch := range chunks {
		for j := range ch {
			u := &ch[j]
			if colliding(u) {
				e.Held = append(e.Held, u.ID)
				if !u.Inactive {
					e.HeldUserNames = append(e.HeldUserNames, u.UserName)
					e.heldName(u.UserName, u.ID)
				}
				continue
			}
			kept = append(kept, *u)
		}
		chunks[i] = nil // copied: garbage from here
	}
	e.Users = kept
	slices.SortFunc(e.Users, func(a, b User) int { return compareIDs(a.ID, b.ID) })
	e.Held = sortUnique(e.Held)
	e.HeldUserNames = sortUnique(e.HeldUserNames)
	sortErrors(e.Problems)
	sortErrors(e.Warnings)
	return nil
}

// inReadTx runs fn in one read-only transaction on one connection, so
// both queries see the same moment of the database. fn must run its
// queries under the context it is given: that is what bounds them by
// QueryTimeout (a read stalled in the driver does not see the
// transaction's own context).
func (s *Store) inReadTx(parent context.Context, fn func(context.Context, *sqlx.Tx) error) (err error) {
	ctx, cancel := context.WithTimeout(parent, s.o.QueryTimeout)
	defer cancel()
	defer func() {
		// The driver reports a transaction ended by the timeout as
		// whatever it was doing ("Rows are closed"); say what happened.
		if err != nil && parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, ErrQueryTimeout) {
			err = fmt.Errorf("%w after %s (condeco_query_timeout): %w", ErrQueryTimeout, s.o.QueryTimeout, err)
		}
	}()
	// A new connection's login is bounded by ConnectTimeout (loginDialer);
	// the queries are bounded by QueryTimeout.
	cctx, ccancel := s.connectContext(ctx)
	conn, err := s.db.Connx(cctx)
	ccancel()
	if err != nil {
		return fmt.Errorf("connecting to condeco database: %w", err)
	}
	defer conn.Close()
	opts := &sql.TxOptions{ReadOnly: true}
	switch s.engine {
	case "sqlserver":
		// go-mssqldb refuses ReadOnly transactions; read-only intent is in
		// the connection string instead.
		opts.ReadOnly = false
		opts.Isolation, err = s.sqlServerIsolation(ctx, conn)
		if err != nil {
			return err
		}
	case "sqlite":
		// SQLite ignores ReadOnly on BEGIN; query_only makes it real.
		if _, err := conn.ExecContext(ctx, "PRAGMA query_only = 1"); err != nil {
			return fmt.Errorf("making sqlite connection read-only: %w", err)
		}
		defer func() {
			if _, rerr := conn.ExecContext(context.Background(), "PRAGMA query_only = 0"); rerr != nil {
				// Do not hand a read-only connection back to the pool.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	tx, err := conn.BeginTxx(ctx, opts)
	if err != nil {
		return fmt.Errorf("starting read transaction: %w", err)
	}
	defer tx.Rollback()         // read-only: nothing to commit
	return fn(ctx, tx.Unsafe()) // Unsafe: a replacement query may return extra columns
}

// sqlServerIsolation picks SNAPSHOT when the database allows it: a
// consistent read that blocks no Condeco writer. Otherwise REPEATABLE READ.
func (s *Store) sqlServerIsolation(ctx context.Context, conn *sqlx.Conn) (sql.IsolationLevel, error) {
	var state sql.NullInt64
	err := conn.QueryRowxContext(ctx,
		`SELECT snapshot_isolation_state FROM sys.databases WHERE name = DB_NAME()`).Scan(&state)
	if ctx.Err() != nil {
		return 0, fmt.Errorf("reading snapshot isolation state: %w", ctx.Err())
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		// Usually a permission on sys.databases; the fallback still reads
		// consistently, it just holds shared locks while it does.
		s.log.Info("cannot read snapshot isolation state; reading with repeatable read", zap.Error(err))
		return sql.LevelRepeatableRead, nil
	}
	if state.Valid && state.Int64 == 1 {
		return sql.LevelSnapshot, nil
	}
	s.log.Info("snapshot isolation is off for this database; reading with repeatable read",
		zap.Int64("snapshot_isolation_state", state.Int64))
	return sql.LevelRepeatableRead, nil
}

// hasColumn says whether the query returns the optional column name: a
// value the query does not read is not the sync's to manage.
func hasColumn(rows *sqlx.Rows, table, name string) (bool, error) {
	cols, err := rows.Columns()
	if err != nil {
		return false, fmt.Errorf("reading %s query columns: %w", table, err)
	}
	for _, c := range cols {
		if strings.EqualFold(c, name) {
			return true, nil
		}
	}
	return false, nil
}

func requireColumns(rows *sqlx.Rows, table string, want []string) error {
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("reading %s query columns: %w", table, err)
	}
	have := map[string]bool{}
	for _, c := range cols {
		have[strings.ToLower(c)] = true
	}
	for _, c := range want {
		if !have[c] {
			return fmt.Errorf("%s query: column %q: %w", table, c, ErrMissingColumn)
		}
	}
	return nil
}

// compareIDs orders numeric ids numerically and others as text.
func compareIDs(a, b string) int {
	na, ea := strconv.ParseInt(a, 10, 64)
	nb, eb := strconv.ParseInt(b, 10, 64)
	switch {
	case ea == nil && eb == nil:
		return cmpInt(na, nb)
	case ea == nil:
		return -1
	case eb == nil:
		return 1
	}
	return strings.Compare(a, b)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortUnique(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	slices.SortFunc(ids, compareIDs)
	return slices.Compact(ids)
}

func sortErrors(es []RowError) {
	slices.SortStableFunc(es, func(a, b RowError) int {
		if c := strings.Compare(a.Table, b.Table); c != 0 {
			return c
		}
		if c := compareIDs(a.RowID, b.RowID); c != 0 {
			return c
		}
		return strings.Compare(a.Field, b.Field)
	})
}

// heldName records that the held row id claims the userName name.
func (e *Export) heldName(name, id string) {
	if id == "" {
		return
	}
	if e.HeldNameRows == nil {
		e.HeldNameRows = map[string][]string{}
	}
	if !slices.Contains(e.HeldNameRows[name], id) {
		e.HeldNameRows[name] = append(e.HeldNameRows[name], id)
	}
}
