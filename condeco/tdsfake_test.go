package condeco

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"
	"unicode/utf16"
)

// tdsServer is a minimal SQL Server on loopback: just enough TDS (prelogin
// without TLS, login, SQL batch, RPC, transaction requests) for the real
// go-mssqldb driver to run Open, Check and Export against it, so faults
// can be put on the wire at a chosen byte of a chosen result. It answers
// by recognising the query text, not by running SQL.
type tdsServer struct {
	users, locations int // rows served by the users and locations queries

	// fault says what goes wrong while serving the result of the query
	// named by faultOn ("users" or "locations"): after faultAt bytes of
	// that result (faultAt rows for faultError) the server acts.
	fault   tdsFault
	faultOn string
	faultAt int
	// slowUsers delays the users result, as a sort or a lock wait would.
	slowUsers time.Duration
	// encryptionOff makes prelogin answer "encryption off" (the client
	// must then do TLS for the login) instead of "not supported".
	encryptionOff bool

	// armed lets the fault fire once; Open's own check runs the same
	// queries, so a test arms the fault after Open.
	armed atomic.Bool
	fired atomic.Bool

	logins   atomic.Int32  // LOGIN7 packets received
	readOnly atomic.Bool   // the last login asked for read-only intent
	appName  atomic.Value  // the last login's application name
	queries  atomic.Int32  // users/locations queries answered (fully or not)
	stall    chan struct{} // closed when the test ends, releases a stalled handler
}

type tdsFault int

const (
	faultNone  tdsFault = iota
	faultDrop           // close the connection mid-result (mid-packet)
	faultError          // send a server error token in place of the rest
	faultStall          // stop sending and hold the connection open
)

// TDS packet types and tokens used here (MS-TDS 2.2.3, 2.2.7).
const (
	pktBatch    = 0x01
	pktRPC      = 0x03
	pktReply    = 0x04
	pktAttn     = 0x06
	pktTransMgr = 0x0e
	pktLogin7   = 0x10
	pktPrelogin = 0x12

	tokColMetadata = 0x81
	tokError       = 0xaa
	tokLoginAck    = 0xad
	tokRow         = 0xd1
	tokDone        = 0xfd

	doneFinal = 0x00
	doneCnt   = 0x10
	doneErr   = 0x02
	doneAtn   = 0x20

	typIntN     = 0x26
	typNVarChar = 0xe7
	packetMax   = 4096
)

func (s *tdsServer) handle(c net.Conn) {
	defer c.Close()
	for {
		typ, payload, err := readMessage(c)
		if err != nil {
			return
		}
		var resp []byte
		switch typ {
		case pktPrelogin:
			enc := byte(2) // ENCRYPT_NOT_SUP
			if s.encryptionOff {
				enc = 0 // ENCRYPT_OFF: the client would now start TLS
			}
			resp = prelogin(enc)
		case pktLogin7:
			s.logins.Add(1)
			s.readOnly.Store(len(payload) > 26 && payload[26]&0x20 != 0)
			s.appName.Store(loginString(payload, 48))
			resp = append(loginAck(), done(doneFinal, 0)...)
		case pktTransMgr:
			resp = append(tranChange(payload), done(doneFinal, 0)...)
		case pktAttn:
			resp = done(doneAtn, 0)
		case pktBatch, pktRPC:
			name, stream, broken := s.answer(payload)
			if name != "" {
				s.queries.Add(1)
			}
			if name == "users" && s.armed.Load() {
				time.Sleep(s.slowUsers)
			}
			if name != "" && name == s.faultOn && s.armed.Load() && s.fired.CompareAndSwap(false, true) {
				if s.fault == faultError {
					resp = broken(s.faultAt) // faultAt counts rows here
					break
				}
				s.misbehave(c, stream)
				return
			}
			resp = stream
		default:
			return
		}
		if err := writeMessage(c, resp); err != nil {
			return
		}
	}
}

// misbehave sends the first faultAt bytes of stream, cut mid-packet, then
// drops the connection or holds it open in silence.
func (s *tdsServer) misbehave(c net.Conn, stream []byte) {
	writePackets(c, stream[:min(s.faultAt, len(stream))], false)
	if s.fault == faultStall {
		<-s.stall
	}
}

// answer recognises the query and returns its name ("" for others), the
// full reply, and the reply broken off by a server error after k rows.
func (s *tdsServer) answer(payload []byte) (name string, stream []byte, broken func(k int) []byte) {
	has := func(t string) bool { return bytes.Contains(payload, ucs2(t)) }
	var cols []tdsCol
	var rows [][]any
	switch {
	case has("snapshot_isolation_state"):
		cols, rows = []tdsCol{{"snapshot_isolation_state", typIntN}}, [][]any{{int32(1)}}
	case has("AS sso_id"):
		name, cols, rows = "users", userCols, s.userRows()
	case has("AS region"):
		name, cols, rows = "locations", locationCols, s.locationRows()
	default:
		return "", done(doneFinal, 0), nil // select 1 (ping) and anything else
	}
	stream = append(tokens(cols, rows), done(doneCnt, uint64(len(rows)))...)
	broken = func(k int) []byte {
		b := tokens(cols, rows[:min(k, len(rows))])
		b = append(b, serverError(3960, "Snapshot isolation transaction aborted due to update conflict.")...)
		return append(b, done(doneErr, 0)...)
	}
	return name, stream, broken
}

var (
	userCols = []tdsCol{{"id", typIntN}, {"username", typNVarChar}, {"email", typNVarChar},
		{"first_name", typNVarChar}, {"last_name", typNVarChar}, {"phone", typNVarChar},
		{"mobile", typNVarChar}, {"language", typNVarChar}, {"access_level", typIntN},
		{"user_type", typIntN}, {"location_id", typIntN}, {"sso_id", typNVarChar}}
	locationCols = []tdsCol{{"id", typIntN}, {"name", typNVarChar}, {"country", typNVarChar}, {"region", typNVarChar}}
)

func (s *tdsServer) userRows() [][]any {
	rows := make([][]any, s.users)
	for i := range rows {
		id := int32(i + 1)
		rows[i] = []any{id, fmt.Sprintf("user%04d@example.jp", id), nil, "花子", fmt.Sprintf("山田%d", id),
			"+81 3-3210-1001", nil, "ja-JP", int32(0), int32(1), int32(301), nil}
	}
	return rows
}

func (s *tdsServer) locationRows() [][]any {
	rows := make([][]any, s.locations)
	for i := range rows {
		rows[i] = []any{int32(301 + i), fmt.Sprintf("東京 %d", i), "Japan", "Kanto"}
	}
	return rows
}

type tdsCol struct {
	name string
	typ  byte
}

// tokens is COLMETADATA and one ROW token per row.
func tokens(cols []tdsCol, rows [][]any) []byte {
	var b bytes.Buffer
	b.WriteByte(tokColMetadata)
	le16(&b, uint16(len(cols)))
	for _, c := range cols {
		le32(&b, 0)      // user type
		le16(&b, 0x0001) // flags: nullable
		b.WriteByte(c.typ)
		if c.typ == typIntN {
			b.WriteByte(4)
		} else {
			le16(&b, 400)                                 // max length in bytes
			b.Write([]byte{0x09, 0x04, 0xd0, 0x00, 0x34}) // collation
		}
		bvarchar(&b, c.name)
	}
	for _, r := range rows {
		b.WriteByte(tokRow)
		for i, v := range r {
			switch {
			case v == nil && cols[i].typ == typIntN:
				b.WriteByte(0)
			case v == nil:
				le16(&b, 0xffff)
			case cols[i].typ == typIntN:
				b.WriteByte(4)
				le32(&b, uint32(v.(int32)))
			default:
				u := ucs2(v.(string))
				le16(&b, uint16(len(u)))
				b.Write(u)
			}
		}
	}
	return b.Bytes()
}

func prelogin(enc byte) []byte {
	// options: VERSION (6 bytes), ENCRYPTION (1 byte), terminator
	const hdr = 5*2 + 1
	var b bytes.Buffer
	b.Write([]byte{0x00, 0, hdr, 0, 6})
	b.Write([]byte{0x01, 0, hdr + 6, 0, 1})
	b.WriteByte(0xff)
	b.Write([]byte{16, 0, 0x10, 0x00, 0, 0}) // 16.0.4096
	b.WriteByte(enc)
	return b.Bytes()
}

func loginAck() []byte {
	var body bytes.Buffer
	body.WriteByte(1)                          // SQL_TSQL
	body.Write([]byte{0x74, 0x00, 0x00, 0x04}) // TDS 7.4
	bvarchar(&body, "fake sql server")
	body.Write([]byte{16, 0, 0x10, 0x00})
	var b bytes.Buffer
	b.WriteByte(tokLoginAck)
	le16(&b, uint16(body.Len()))
	b.Write(body.Bytes())
	return b.Bytes()
}

func serverError(number int32, msg string) []byte {
	var body bytes.Buffer
	le32(&body, uint32(number))
	body.WriteByte(1)  // state
	body.WriteByte(16) // class
	u := ucs2(msg)
	le16(&body, uint16(len(u)/2))
	body.Write(u)
	bvarchar(&body, "fake")
	bvarchar(&body, "")
	le32(&body, 1)
	var b bytes.Buffer
	b.WriteByte(tokError)
	le16(&b, uint16(body.Len()))
	b.Write(body.Bytes())
	return b.Bytes()
}

// tranChange answers a transaction manager request with the ENVCHANGE
// the client tracks its transaction by: begin (5) gets a descriptor,
// commit (7) and rollback (8) clear it.
func tranChange(payload []byte) []byte {
	if len(payload) < 4 {
		return nil
	}
	hdrs := int(binary.LittleEndian.Uint32(payload))
	if len(payload) < hdrs+2 {
		return nil
	}
	id := []byte{8, 1, 0, 0, 0, 0, 0, 0, 0} // B_VARBYTE: length 8, descriptor 1
	var body []byte
	switch binary.LittleEndian.Uint16(payload[hdrs:]) {
	case 5:
		body = append(append([]byte{8}, id...), 0)
	case 7, 8:
		body = append([]byte{byte(binary.LittleEndian.Uint16(payload[hdrs:]) + 2), 0}, id...) // 9 commit, 10 rollback
	default:
		return nil
	}
	var b bytes.Buffer
	b.WriteByte(0xe3)
	le16(&b, uint16(len(body)))
	b.Write(body)
	return b.Bytes()
}

func done(status uint16, rows uint64) []byte {
	var b bytes.Buffer
	b.WriteByte(tokDone)
	le16(&b, status)
	le16(&b, 0xc1) // SELECT
	binary.Write(&b, binary.LittleEndian, rows)
	return b.Bytes()
}

// loginString reads the UCS-2 string whose offset and length sit at off in
// a LOGIN7 payload.
func loginString(p []byte, off int) string {
	if len(p) < off+4 {
		return ""
	}
	ib, cch := int(binary.LittleEndian.Uint16(p[off:])), int(binary.LittleEndian.Uint16(p[off+2:]))
	if len(p) < ib+2*cch {
		return ""
	}
	u := make([]uint16, cch)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(p[ib+2*i:])
	}
	return string(utf16.Decode(u))
}

func readMessage(r io.Reader) (typ byte, payload []byte, err error) {
	for {
		var h [8]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return 0, nil, err
		}
		n := int(binary.BigEndian.Uint16(h[2:])) - 8
		if n < 0 {
			return 0, nil, fmt.Errorf("bad packet length")
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return 0, nil, err
		}
		typ = h[0]
		payload = append(payload, body...)
		if h[1]&0x01 != 0 { // end of message
			return typ, payload, nil
		}
	}
}

func writeMessage(w io.Writer, msg []byte) error { return writePackets(w, msg, true) }

// writePackets splits msg into reply packets; the last one carries the
// end-of-message flag only when eom is set, and when it is not the data
// is cut short inside a packet whose header promises more.
func writePackets(w io.Writer, msg []byte, eom bool) error {
	id := byte(1)
	for first := true; first || len(msg) > 0; first = false {
		n := min(len(msg), packetMax-8)
		last := n == len(msg)
		h := [8]byte{pktReply, 0, 0, 0, 0, 0, id, 0}
		size := n + 8
		if last && !eom {
			size = packetMax // the header promises a full packet; the data stops early
		}
		if last && eom {
			h[1] = 0x01
		}
		binary.BigEndian.PutUint16(h[2:], uint16(size))
		if _, err := w.Write(append(h[:], msg[:n]...)); err != nil {
			return err
		}
		msg = msg[n:]
		id++
	}
	return nil
}

func ucs2(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, v := range u {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return b
}

func bvarchar(b *bytes.Buffer, s string) {
	u := ucs2(s)
	b.WriteByte(byte(len(u) / 2))
	b.Write(u)
}

func le16(b *bytes.Buffer, v uint16) { binary.Write(b, binary.LittleEndian, v) }
func le32(b *bytes.Buffer, v uint32) { binary.Write(b, binary.LittleEndian, v) }
