package condeco

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jmoiron/sqlx"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/azuread"
	"github.com/microsoft/go-mssqldb/msdsn"
)

// openDB opens the pool. SQL Server connections go through loginDialer so
// that ConnectTimeout bounds the login and nothing else.
func (o Options) openDB(driverName, dsn string) (*sqlx.DB, error) {
	if o.Driver != "sqlserver" || o.sqlDriver != "" {
		db, err := sqlx.Open(driverName, dsn)
		if err != nil {
			return nil, fmt.Errorf("opening %s database: %w", o.Driver, err)
		}
		return db, nil
	}
	// The parser's messages can quote the DSN, password included.
	if _, err := msdsn.Parse(dsn); err != nil {
		return nil, fmt.Errorf("%w: the sqlserver connection settings cannot be parsed", ErrBadOptions)
	}
	var (
		c   *mssql.Connector
		err error
	)
	if driverName == azuread.DriverName {
		c, err = azuread.NewConnector(dsn) // its messages name settings, never values of secrets
	} else {
		c, err = mssql.NewConnector(dsn)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	c.Dialer = loginDialer{timeout: o.ConnectTimeout}
	return sqlx.NewDb(sql.OpenDB(c), "sqlserver"), nil
}

// loginDialer gives each new connection a deadline of ConnectTimeout and
// lifts it once the login is over.
//
// Why not the driver's own "connection timeout": go-mssqldb applies it to
// every read and write for the connection's whole life, so a query whose
// first row takes longer than the connect timeout (a sort, a lock wait)
// would fail. And the driver does not watch the context during the login,
// so without a deadline a server that accepts and then says nothing would
// hang the start-up for ever.
type loginDialer struct{ timeout time.Duration }

func (d loginDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(time.Now().Add(d.timeout)); err != nil {
		conn.Close()
		return nil, err
	}
	go func() {
		if w, ok := ctx.Value(loginWaitKey{}).(*loginWait); ok {
			// The caller cancels its connect context as soon as it has
			// the connection (or the error): the login is over. If the
			// connect context ran out instead, or the caller gave up,
			// the deadline stays and ends the login.
			<-w.connect.Done()
			if !errors.Is(w.connect.Err(), context.Canceled) || w.caller.Err() != nil {
				return
			}
		} else {
			// A connection database/sql opens on its own: go-mssqldb
			// cancels the dial context when its connect returns.
			<-ctx.Done()
			if !errors.Is(ctx.Err(), context.Canceled) {
				return
			}
		}
		conn.SetDeadline(time.Time{})
	}()
	return conn, nil
}

type loginWaitKey struct{}

type loginWait struct{ caller, connect context.Context }

// connectContext bounds getting a connection by ConnectTimeout and lets
// loginDialer see when the wait is over. Call cancel as soon as the
// connection (or the error) is in hand.
func (s *Store) connectContext(ctx context.Context) (context.Context, context.CancelFunc) {
	w := &loginWait{caller: ctx}
	cctx, cancel := context.WithTimeout(context.WithValue(ctx, loginWaitKey{}, w), s.o.ConnectTimeout)
	w.connect = cctx
	return cctx, cancel
}
