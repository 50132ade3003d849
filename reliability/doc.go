// Package reliability holds the fault, crash, source, hostile-input, secret
// and transport tests of condeco-visitor-sync. It has no code of its own:
// the tests build the real binary once (without -race, as it ships), run
// it as a child process against a real SQLite source and the in-process
// Visitor simulator, and check what an auditor asks: every run completes
// or stops cleanly, the next run converges, nobody is created twice or
// lost, a broken source never writes, and no secret leaks.
//
// Every test is bounded in count and time so the package fits in
// `make test`, at the sizes the issue names (docs/reliability.md has the
// figures and the command for each).
package reliability
