package sip

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// parseErrorDataLimit is how much of an unparsable message one line quotes:
// enough to recognise a scanner or a broken client, never a full dump.
const parseErrorDataLimit = 120

// ParseErrorLog logs datagrams that do not parse as SIP, at most perSecond
// lines in each wall-clock second. Anyone can send garbage to a UDP port,
// and a line per datagram would let them fill the disk. Lines beyond the
// budget are counted; when logging resumes in a later second, one summary
// line says how many were dropped. The summary counts against that second's
// budget, so the bound holds exactly.
//
// Log is safe for concurrent use and does not allocate when it suppresses a
// line.
type ParseErrorLog struct {
	logger    *slog.Logger
	perSecond int
	now       func() time.Time

	mu         sync.Mutex // guards second, written and unreported
	second     int64      // the Unix second the budget is for
	written    int        // lines written in that second
	unreported uint64     // lines suppressed since the last summary

	dropped atomic.Uint64 // lines suppressed since creation
}

// NewParseErrorLog returns a ParseErrorLog writing to logger, which may be
// nil to discard. A perSecond below 1 writes nothing and only counts.
func NewParseErrorLog(logger *slog.Logger, perSecond int) *ParseErrorLog {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &ParseErrorLog{logger: logger, perSecond: perSecond, now: time.Now}
}

// Log records that data from src failed to parse with err. The line quotes
// at most the first 120 bytes of data.
func (l *ParseErrorLog) Log(src string, data []byte, err error) {
	sec := l.now().Unix()

	l.mu.Lock()
	if sec != l.second {
		l.second, l.written = sec, 0
	}
	var summary uint64
	if l.unreported > 0 && l.written < l.perSecond {
		summary, l.unreported = l.unreported, 0
		l.written++
	}
	write := l.written < l.perSecond
	if write {
		l.written++
	} else {
		l.unreported++
	}
	l.mu.Unlock()

	if summary > 0 {
		l.logger.Warn(fmt.Sprintf("dropped %d unparsable messages", summary), "dropped", summary)
	}
	if !write {
		l.dropped.Add(1)
		return
	}
	shown := data[:min(len(data), parseErrorDataLimit)]
	l.logger.Warn("unparsable message",
		"src", src,
		"error", err,
		"bytes", len(data),
		"data", fmt.Sprintf("%q", shown))
}

// Dropped returns how many messages have not been logged because the budget
// was spent, since the log was created.
func (l *ParseErrorLog) Dropped() uint64 {
	return l.dropped.Load()
}
