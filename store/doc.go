// Package store keeps all of Switchboard's state in one SQLite database
// (modernc.org/sqlite, WAL): embedded, versioned migrations and small typed
// repositories (users, phones, settings, registrations, time frames,
// answering rules, allow/block lists).
//
// It imports no other Switchboard package; only the root package (the
// wiring) and store's own tests import it.
package store
