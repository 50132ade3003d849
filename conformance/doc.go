// Package conformance runs the real binary against a SCIM 2.0 server this
// project did not write, so that what the simulator proved is checked
// against someone else's reading of RFC 7643/7644: filtering, PATCH,
// schema validation, paging and error answers come from SCIMMY
// (conformance/scimmy, installed by `npm ci`), not from us.
//
// It has no code of its own. Its tests need Node.js and the server's
// node_modules, so they run only when CVS_CONFORMANCE_SERVER_DIR names
// that folder (`make conformance` sets it and installs the server first);
// `go test ./...` without it skips them and says how to run them.
//
// A small proxy of the tests' own sits between the binary and the server
// and, one switch per case, answers as RFC 7644 allows or as faulty
// servers do. Which behaviour each case checks, the RFC section and what
// the sync must do are in docs/compatibility.md.
package conformance
