// Package admin serves the JSON admin API under /api/v1, /healthz and
// /metrics. Handlers return errors; one function writes them.
//
// It must not import store or sip: it declares the interfaces it needs, in its
// own types, and the root package adapts the store to them.
package admin
