package sip

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMemoryReturnAfterABurst(t *testing.T) {
	var m memoryReturn
	window := func(perSecond uint64) {
		for range memoryWindow {
			m.datagrams.Add(perSecond)
			m.tick()
		}
	}
	window(50)
	require.EqualValues(t, 50, m.peak, "steady background traffic")
	window(40)
	require.EqualValues(t, 50, m.peak, "no burst, nothing returned")
	window(3000)
	window(2500)
	require.EqualValues(t, 3000, m.peak)
	window(10) // the burst is over: memory returned, once
	require.EqualValues(t, 10, m.peak)
	window(5)
	require.EqualValues(t, 10, m.peak)
}
