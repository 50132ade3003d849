package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

// File names of the ownership record (visitor_api: generic-v1).
const (
	OwnershipFile    = "ownership.json"
	OwnershipJournal = "ownership.journal"
)

// ownershipVersion is the format of ownership.json.
const ownershipVersion = 1

// OwnedUser is one Visitor user the sync created (or was told to own by
// --rebuild-ownership): its Visitor id, its userName, and the externalId
// the sync knows it by (external_id_prefix + Condeco id). A target that
// carries no externalId has only this record to tell the sync's users
// from everyone else's.
type OwnedUser struct {
	ID         string `json:"id"`
	UserName   string `json:"userName"`
	ExternalID string `json:"externalId"`
}

type ownership struct {
	Version int         `json:"version"`
	Time    time.Time   `json:"time"`
	Users   []OwnedUser `json:"users"`
}

// journalLine is one change since ownership.json was written: "set"
// records or replaces a user by Visitor id, "forget" drops one.
type journalLine struct {
	Op string `json:"op"`
	OwnedUser
}

// ReadOwnership returns the owned users, ordered by Visitor id: the
// record with the journal replayed over it. found is false when neither
// file exists (a first run, or a lost state_dir: the caller tells them
// apart). A torn last journal line (a crash during its write) is
// ignored; a torn line before the last is an error.
func (d *Dir) ReadOwnership() (users []OwnedUser, found bool, err error) {
	var rec ownership
	found, err = readRecord(d.file(OwnershipFile), ownershipVersion, &rec)
	if err != nil {
		return nil, false, err
	}
	byID := make(map[string]OwnedUser, len(rec.Users))
	for _, u := range rec.Users {
		byID[u.ID] = u
	}
	data, err := os.ReadFile(d.file(OwnershipJournal))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, false, fmt.Errorf("reading %s: %w", d.file(OwnershipJournal), err)
	default:
		found = true
		lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		for i, l := range lines {
			if len(l) == 0 {
				continue
			}
			var jl journalLine
			if err := json.Unmarshal(l, &jl); err != nil || (jl.Op != "set" && jl.Op != "forget") || jl.ID == "" {
				if i == len(lines)-1 {
					break // torn by a crash while it was written
				}
				return nil, false, fmt.Errorf("reading %s: line %d is not an ownership change", d.file(OwnershipJournal), i+1)
			}
			if jl.Op == "forget" {
				delete(byID, jl.ID)
			} else {
				byID[jl.ID] = jl.OwnedUser
			}
		}
	}
	users = make([]OwnedUser, 0, len(byID))
	for _, u := range byID {
		users = append(users, u)
	}
	slices.SortFunc(users, func(a, b OwnedUser) int { return strings.Compare(a.ID, b.ID) })
	return users, found, nil
}

// RecordOwned notes that the sync owns u, at once and durably (one
// appended, fsynced journal line): it is called after each create, so a
// run killed a moment later still knows the user is its own.
func (d *Dir) RecordOwned(u OwnedUser) error {
	if u.ID == "" {
		return errors.New("recording an owned user without a Visitor id")
	}
	return d.appendJournal(journalLine{Op: "set", OwnedUser: u})
}

// ForgetOwned notes that the user with Visitor id is gone (deleted).
func (d *Dir) ForgetOwned(id string) error {
	return d.appendJournal(journalLine{Op: "forget", OwnedUser: OwnedUser{ID: id}})
}

func (d *Dir) appendJournal(jl journalLine) error {
	line, err := json.Marshal(jl)
	if err != nil {
		return fmt.Errorf("encoding ownership change: %w", err)
	}
	path := d.file(OwnershipJournal)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWrite, path, err)
	}
	w := bufio.NewWriterSize(f, len(line)+1)
	_, err = w.Write(append(line, '\n')) // one write(2)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWrite, path, err)
	}
	return nil
}

// WriteOwnership replaces the record with users (atomically) and then
// empties the journal. A crash between the two leaves a journal whose
// lines the record already holds; replaying them changes nothing.
func (d *Dir) WriteOwnership(at time.Time, users []OwnedUser) error {
	if users == nil {
		users = []OwnedUser{}
	}
	users = slices.Clone(users)
	slices.SortFunc(users, func(a, b OwnedUser) int { return strings.Compare(a.ID, b.ID) })
	if err := writeRecord(d.file(OwnershipFile), ownership{Version: ownershipVersion, Time: at, Users: users}); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if err := os.Remove(d.file(OwnershipJournal)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s: %w", ErrWrite, d.file(OwnershipJournal), err)
	}
	return nil
}
