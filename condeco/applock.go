package condeco

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
)

// ErrAppLockBusy means another session holds the application lock: a sync
// on another host is running against the same Condeco database.
var ErrAppLockBusy = errors.New("sql server application lock is held by another session")

// AppLockBusyError says who holds the lock, as far as the server lets us
// see (sys.dm_exec_sessions needs VIEW SERVER STATE; without it Since is
// zero and Host empty).
type AppLockBusyError struct {
	Resource string
	Host     string
	Since    time.Time
}

func (e *AppLockBusyError) Error() string {
	who := "another session"
	if e.Host != "" {
		who = "a session from host " + e.Host
	}
	return fmt.Sprintf("application lock %q on the condeco database is held by %s", e.Resource, who)
}

func (e *AppLockBusyError) Unwrap() error { return ErrAppLockBusy }

// AppLocker takes an exclusive sp_getapplock on the Condeco database for
// the length of a run, so that syncs on two hosts (a VM and a Kubernetes
// job, or two pods) never run at once. The lock is owned by a session on
// its own connection: if the process dies the session ends and SQL Server
// frees the lock; nothing is ever written to the database.
type AppLocker struct {
	db       *sql.DB
	resource string
	log      *zap.Logger
}

// NewAppLocker prepares the lock; it connects only when Acquire is called.
// The connection drops read-only intent: on an availability group or an
// Azure SQL database with read scale-out, read-only intent lands on a
// secondary replica, whose application locks do not exclude a session on
// another replica.
func NewAppLocker(o Options, resource string, log *zap.Logger) (*AppLocker, error) {
	if log == nil {
		log = zap.NewNop()
	}
	o = o.withDefaults()
	if o.Driver != "sqlserver" {
		return nil, fmt.Errorf("%w: the application lock needs sqlserver, not %q", ErrBadOptions, o.Driver)
	}
	if resource == "" || len(resource) > 255 {
		return nil, fmt.Errorf("%w: application lock name must be 1 to 255 characters", ErrBadOptions)
	}
	name, dsn, err := o.connString(zap.NewNop()) // the store already warned about the DSN
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(name, readWriteIntent(dsn))
	if err != nil {
		return nil, fmt.Errorf("opening condeco database for the application lock: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(0) // a session kept idle must never hold a stale lock
	return &AppLocker{db: db, resource: resource, log: log}, nil
}

// Close releases the connection pool.
func (l *AppLocker) Close() error { return l.db.Close() }

// Acquire takes the lock, waiting up to wait (0: try once). The returned
// release frees it; call it exactly once.
func (l *AppLocker) Acquire(ctx context.Context, wait time.Duration) (release func(), err error) {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting to condeco database for the application lock: %w", err)
	}
	discard := func() {
		// Returning ErrBadConn makes database/sql close the connection
		// instead of pooling it, which ends the session and with it any
		// lock it still holds.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
	}
	var updateability string
	if err := conn.QueryRowContext(ctx, "SELECT CAST(DATABASEPROPERTYEX(DB_NAME(), 'Updateability') AS nvarchar(32))").Scan(&updateability); err != nil {
		discard()
		return nil, fmt.Errorf("checking the condeco database for the application lock: %w", err)
	}
	if updateability != "READ_WRITE" {
		discard()
		return nil, fmt.Errorf("%w: the application lock connection reached a read-only database or replica (%s); its locks would not exclude other hosts: point condeco_host or condeco_dsn at the primary", ErrBadOptions, updateability)
	}
	ms := wait.Milliseconds()
	var rc int
	err = conn.QueryRowContext(ctx, `DECLARE @rc int;
EXEC @rc = sp_getapplock @Resource = @p1, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = @p2, @DbPrincipal = 'public';
SELECT @rc;`, l.resource, ms).Scan(&rc)
	if err != nil {
		discard()
		return nil, fmt.Errorf("sp_getapplock %q: %w", l.resource, err)
	}
	switch {
	case rc >= 0: // 0 granted at once, 1 granted after waiting
	case rc == -1: // timed out
		busy := l.holder(ctx, conn)
		discard()
		return nil, busy
	default: // -2 cancelled, -3 deadlock victim, -999 parameter error
		discard()
		return nil, fmt.Errorf("sp_getapplock %q returned %d", l.resource, rc)
	}
	l.log.Debug("application lock taken", zap.String("resource", l.resource))
	return func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(rctx, "EXEC sp_releaseapplock @Resource = @p1, @LockOwner = 'Session', @DbPrincipal = 'public'", l.resource); err != nil {
			l.log.Warn("releasing application lock failed; closing its session instead", zap.Error(err))
		}
		discard()
	}, nil
}

// holder describes who holds the lock. The session that holds it ran
// nothing after sp_getapplock, so its last request start is when it took
// the lock.
func (l *AppLocker) holder(ctx context.Context, conn *sql.Conn) error {
	busy := &AppLockBusyError{Resource: l.resource}
	// resource_description is "<principal>:[<first 32 characters>]:(<hash>)".
	// The age is computed on the server: its clock and zone, not ours.
	row := conn.QueryRowContext(ctx, `SELECT TOP (1) s.host_name, DATEDIFF(second, s.last_request_start_time, GETDATE())
FROM sys.dm_tran_locks AS k
JOIN sys.dm_exec_sessions AS s ON s.session_id = k.request_session_id
WHERE k.resource_type = 'APPLICATION' AND k.resource_database_id = DB_ID()
  AND k.request_status = 'GRANT' AND k.request_session_id <> @@SPID
  AND CHARINDEX(':[' + LEFT(@p1, 32) + ']:', k.resource_description) > 0`, l.resource)
	var host sql.NullString
	var age sql.NullInt64
	if err := row.Scan(&host, &age); err == nil {
		busy.Host = strings.TrimSpace(host.String)
		if age.Valid {
			busy.Since = time.Now().Add(-time.Duration(age.Int64) * time.Second).UTC().Truncate(time.Second)
		}
	}
	return busy
}

// readWriteIntent removes ApplicationIntent from a go-mssqldb connection
// string (URL or ADO form); other forms are returned unchanged and the
// Updateability check catches a read-only landing.
func readWriteIntent(dsn string) string {
	isIntent := func(k string) bool {
		k = strings.ReplaceAll(strings.TrimSpace(k), " ", "")
		return strings.EqualFold(k, "ApplicationIntent")
	}
	if strings.HasPrefix(strings.ToLower(dsn), "sqlserver://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return dsn
		}
		q := u.Query()
		for k := range q {
			if isIntent(k) {
				q.Del(k)
			}
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	if strings.HasPrefix(strings.ToLower(dsn), "odbc:") {
		return dsn // braces may hide ';' inside values: leave it alone
	}
	var kept []string
	for _, part := range strings.Split(dsn, ";") {
		k, _, _ := strings.Cut(part, "=")
		if !isIntent(k) {
			kept = append(kept, part)
		}
	}
	return strings.Join(kept, ";")
}
