package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/provaudit/provaudit/audit"
)

// isTerminal reports whether w is a terminal. Progress and colour appear
// only on terminals, so pipes and files get the plain report.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress draws a one-line status on stderr, at most every 100 ms.
type progress struct {
	w       io.Writer
	last    time.Time
	fetched int
	checked int
	total   int
	drawn   bool
}

func newProgress(w io.Writer) *progress { return &progress{w: w} }

// update receives audit events; audit calls it from one goroutine at a time.
func (p *progress) update(e audit.Event) {
	switch e.Phase {
	case audit.PhaseFetch:
		p.fetched, p.total = e.Done, e.Total
	case audit.PhaseVerify:
		p.checked, p.total = e.Done, e.Total
	default:
		return
	}
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || p.checked == p.total {
		p.last = now
		fmt.Fprintf(p.w, "\r\033[Kfetched %d/%d, checked %d/%d", p.fetched, p.total, p.checked, p.total)
		p.drawn = true
	}
}

// done clears the line so the report starts clean.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
