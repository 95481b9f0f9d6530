package sip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCallTableCallPaths(t *testing.T) {
	tbl := newCallTable()
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	k := callKey{"c1", "tagA"}
	e := tbl.begin(k, CallInfo{CallID: "c1", CallerExtension: "1002", Dialled: "1001", Started: t0})
	require.Equal(t, 1, tbl.inUse("1002"), "the caller's path is in use while it dials")
	e.ringing("1001")
	e.ringing("1001") // a second phone of the same user
	e.ringing("1003") // a simultaneous ring destination
	require.Equal(t, 1, tbl.inUse("1001"))
	require.Equal(t, 1, tbl.inUse("1003"))

	e.answered("1001", "1001a", t0.Add(3*time.Second), false)
	require.Equal(t, 1, tbl.inUse("1001"))
	require.Equal(t, 0, tbl.inUse("1003"), "phones that lost the race hold no path")
	calls := tbl.list()
	require.Len(t, calls, 1)
	require.Equal(t, CallAnswered, calls[0].State)
	require.Equal(t, "1001a", calls[0].AnsweredBy)
	require.ElementsMatch(t, []string{"1002", "1001"}, calls[0].Extensions)

	// The callee hangs up: its BYE carries the caller's tag as To tag.
	tbl.hangUp("c1", "tagB", "tagA")
	require.Zero(t, tbl.len())
	require.Zero(t, tbl.inUse("1001"))
	require.Zero(t, tbl.inUse("1002"))
	require.Empty(t, tbl.users, "no counter is left behind")
}

func TestCallTableOutsideCalls(t *testing.T) {
	tbl := newCallTable()
	now := time.Now()
	a := tbl.begin(callKey{"c1", "x"}, CallInfo{CallerExtension: "1002", Started: now})
	b := tbl.begin(callKey{"c2", "y"}, CallInfo{CallerExtension: "1002", Started: now})
	a.outside()
	a.outside()
	b.outside()
	require.Equal(t, 2, tbl.outsideCalls("1002"))
	a.answered("", "", now, true)
	require.Equal(t, 2, tbl.outsideCalls("1002"), "an answered outside call stays counted")
	b.end()
	require.Equal(t, 1, tbl.outsideCalls("1002"))
	tbl.hangUp("c1", "x", "")
	require.Zero(t, tbl.outsideCalls("1002"))
	require.Empty(t, tbl.external)
}

func TestCallTableReplacedAndStale(t *testing.T) {
	tbl := newCallTable()
	now := time.Now()
	k := callKey{"c1", "x"}
	old := tbl.begin(k, CallInfo{CallerExtension: "1002", Started: now})
	old.ringing("1001")
	// The same Call-ID and tag again: the new attempt replaces the old,
	// and the old owner's late updates change nothing.
	fresh := tbl.begin(k, CallInfo{CallerExtension: "1002", Started: now})
	old.ringing("1005")
	old.end()
	require.Equal(t, 1, tbl.len())
	require.Equal(t, 1, tbl.inUse("1002"))
	require.Zero(t, tbl.inUse("1001"))
	require.Zero(t, tbl.inUse("1005"))
	fresh.answered("1001", "1001a", now, false)

	// An answered call whose BYE never came is swept after maxAge.
	require.Zero(t, tbl.sweep(now.Add(time.Hour), 2*time.Hour))
	require.Equal(t, 1, tbl.sweep(now.Add(3*time.Hour), 2*time.Hour))
	require.Zero(t, tbl.len())
	require.Empty(t, tbl.users)
}
