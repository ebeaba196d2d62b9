package mapping

import (
	"context"
	"fmt"
	"math"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// A jq mapping is a program: `def f: f; f` never ends and `[range(1e9)]`
// allocates until the machine gives out, and a sync would hang in CI with
// it. Every evaluation is therefore bounded, in steps, time and memory,
// and one that goes past a bound is an error for that field and item, like
// any jq runtime error.
//
// gojq offers cancellation only: RunWithContext checks ctx.Done() before
// each instruction it executes. The context each evaluation runs with is
// an evaluator, whose Done also counts those calls, which bounds the steps;
// a watchdog goroutine stops an evaluation that has run longer than the
// time limit (a single instruction such as sorting a huge array can take
// long, and steps take longer on a busy machine). A context.WithTimeout
// per evaluation would cost a timer and an allocation for each of a sync's
// million evaluations; an evaluator is reused for every evaluation of a
// Map call, and the watchdog only runs while evaluators are in use. What
// remains is a few nanoseconds per jq instruction (Done is called for
// each), and nothing for fields that are plain paths or literals.
//
// Memory mostly follows from the steps, as most instructions allocate a
// bounded amount; not those that copy a value (string and array
// addition): `reduce range(40) as $i ("x"; . + .)` takes a few steps and
// a terabyte, and reached 10 GB within the time bound. Go cannot tell
// what one goroutine allocates, so the watchdog also reads the size of
// the heap each tick: an evaluation that has run for more than a tick
// while the heap grew by more than the memory limit is stopped, the
// longest-running first, as it is the likeliest to be the one allocating
// (most evaluations take microseconds). A single instruction is never
// interrupted, so a doubling is stopped one or two doublings past the
// limit; the tick is short for that reason, for the time bound too.

// Limits bound each jq evaluation.
type Limits struct {
	// Timeout is the longest one evaluation may run (config: jqTimeout).
	Timeout time.Duration
	// MaxSteps is the most jq instructions one evaluation may execute
	// (config: jqMaxSteps). Mapping a Sentry item with the default config
	// takes a few hundred.
	MaxSteps int64
	// MaxMemory is how much the Go heap may grow while one evaluation
	// runs (config: jqMaxMemory).
	MaxMemory int64
}

// DefaultLimits are generous: the busiest mapping of a real Sentry item
// stays orders of magnitude below them, and a runaway one still stops in
// well under a second of steps.
var DefaultLimits = Limits{Timeout: 10 * time.Second, MaxSteps: 10_000_000, MaxMemory: 512 << 20}

// LimitError is an evaluation stopped by a bound.
type LimitError struct {
	Limits Limits
	Steps  bool // the step bound
	Memory bool // the memory bound; neither: the time bound
}

func (e *LimitError) Error() string {
	if e.Memory {
		return fmt.Sprintf("jq evaluation stopped: the heap grew by more than %s while it ran (the jqMaxMemory limit; a value that grows in a loop?)", showSize(e.Limits.MaxMemory))
	}
	if e.Steps {
		return fmt.Sprintf("jq evaluation stopped after %d steps (the jqMaxSteps limit; a loop that never ends?)", e.Limits.MaxSteps)
	}
	return fmt.Sprintf("jq evaluation stopped after running %s (the jqTimeout limit; a loop that never ends?)", e.Limits.Timeout)
}

// guard hands out evaluators and watches the running ones. One guard
// serves a config; its evaluators are reused, so there are never more of
// them than goroutines mapping at once.
type guard struct {
	limits  Limits
	mu      sync.Mutex
	all     []*evaluator
	idle    []*evaluator
	ticking bool
}

func newGuard(l Limits) *guard { return &guard{limits: l} }

// defaultGuard serves programs compiled outside a config.
var defaultGuard = newGuard(DefaultLimits)

func (g *guard) get() *evaluator {
	g.mu.Lock()
	defer g.mu.Unlock()
	var ev *evaluator
	if n := len(g.idle); n > 0 {
		ev = g.idle[n-1]
		g.idle = g.idle[:n-1]
	} else {
		ev = newEvaluator(g.limits)
		g.all = append(g.all, ev)
	}
	if !g.ticking && (g.limits.Timeout > 0 || g.limits.MaxMemory > 0) {
		g.ticking = true
		go g.watch()
	}
	return ev
}

func (g *guard) put(ev *evaluator) {
	g.mu.Lock()
	g.idle = append(g.idle, ev)
	g.mu.Unlock()
}

// watchTick is how often the watchdog looks. Each doubling of a value
// takes longer than the one before, so a loop past a limit of some MiB,
// or past the time limit, doubles at most once more before it is seen;
// reading the heap's size costs about a microsecond.
const watchTick = 10 * time.Millisecond

// memoryGrace is how long an evaluation runs before the heap's growth is
// held against it: one that ran for less is not the one that grew it.
const memoryGrace = watchTick

// heapMetric is the size of the heap's objects, garbage not yet collected
// included, updated as they are allocated.
const heapMetric = "/memory/classes/heap/objects:bytes"

// watch cancels evaluations that have run past the time limit or grown
// the heap past the memory limit, and ends when no evaluator is handed
// out. An evaluation is timed, and its heap measured, from when the
// watchdog first sees it, so it has run at least the limit when cancelled
// and at most the limit and a tick.
func (g *guard) watch() {
	tick := watchTick
	if g.limits.Timeout > 0 {
		tick = min(max(g.limits.Timeout/8, time.Millisecond), watchTick)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	sample := []metrics.Sample{{Name: heapMetric}}
	for now := range t.C {
		heap := int64(-1)
		if g.limits.MaxMemory > 0 {
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				heap = int64(sample[0].Value.Uint64())
			}
		}
		g.mu.Lock()
		if len(g.idle) == len(g.all) {
			g.ticking = false
			g.mu.Unlock()
			return
		}
		var hungry *evaluator
		for _, ev := range g.all {
			seq := ev.seq.Load()
			switch {
			case seq&1 == 0:
				// Idle between evaluations.
			case seq != ev.seenSeq:
				ev.seenSeq, ev.seenAt, ev.seenHeap = seq, now, heap
			case g.limits.Timeout > 0 && now.Sub(ev.seenAt) >= g.limits.Timeout:
				ev.cancel(seq, &LimitError{Limits: g.limits})
			case heap >= 0:
				// Growth counts from the smallest the heap was while it
				// ran: a collection may free what an earlier evaluation
				// left, which would hide as much growth.
				ev.seenHeap = min(ev.seenHeap, heap)
				if now.Sub(ev.seenAt) >= memoryGrace && heap-ev.seenHeap > g.limits.MaxMemory &&
					(hungry == nil || ev.seenAt.Before(hungry.seenAt)) {
					hungry = ev
				}
			}
		}
		if hungry != nil {
			hungry.cancel(hungry.seenSeq, &LimitError{Limits: g.limits, Memory: true})
			// What it allocated is garbage only after the next collection:
			// the others are measured from now, or one evaluation's growth
			// would stop them all.
			for _, ev := range g.all {
				if ev != hungry {
					ev.seenHeap = max(ev.seenHeap, heap)
				}
			}
		}
		g.mu.Unlock()
	}
}

// scope lends one evaluator to all the evaluations of a Map call, taken
// from the guard only if one of them needs gojq: most fields are paths
// evaluated directly.
type scope struct {
	g  *guard
	ev *evaluator
}

func (s *scope) evaluator() *evaluator {
	if s.ev == nil {
		s.ev = s.g.get()
	}
	return s.ev
}

func (s *scope) release() {
	if s.ev != nil {
		s.g.put(s.ev)
		s.ev = nil
	}
}

// evaluator is the context.Context of one goroutine's evaluations, one
// at a time, and is handed to gojq only. Its Done counts gojq's
// instructions, and returns nil (a channel gojq's receive skips at once)
// until the evaluation is to stop, then a closed channel: a channel
// receive per instruction cost more than the counting, and gojq calls Done
// afresh before every instruction rather than keeping one channel.
type evaluator struct {
	limits   Limits
	maxSteps int64
	steps    int64 // the evaluating goroutine's alone
	// seq is odd while an evaluation runs; each begin and end adds one,
	// so the watchdog tells one long evaluation from many short ones.
	seq  atomic.Uint64
	stop atomic.Bool
	// seenSeq, seenAt and seenHeap are the watchdog's (under guard.mu):
	// the evaluation it last saw running, when, and the heap's size then.
	seenSeq  uint64
	seenAt   time.Time
	seenHeap int64

	mu  sync.Mutex
	err error
}

var closedCh = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

func newEvaluator(l Limits) *evaluator {
	ev := &evaluator{limits: l, maxSteps: l.MaxSteps}
	if ev.maxSteps <= 0 {
		ev.maxSteps = math.MaxInt64
	}
	return ev
}

func (ev *evaluator) begin() {
	// Under mu: a watchdog that decided to stop the previous evaluation
	// has done so before this one is marked running.
	ev.mu.Lock()
	ev.stop.Store(false)
	ev.err = nil
	ev.seq.Add(1)
	ev.mu.Unlock()
	ev.steps = 0
}

func (ev *evaluator) end() { ev.seq.Add(1) }

// cancel stops evaluation seq if it is still the one running.
func (ev *evaluator) cancel(seq uint64, err error) {
	ev.mu.Lock()
	if ev.seq.Load() == seq && ev.err == nil {
		ev.err = err
		ev.stop.Store(true)
	}
	ev.mu.Unlock()
}

func (ev *evaluator) Deadline() (time.Time, bool) { return time.Time{}, false }
func (ev *evaluator) Value(any) any               { return nil }

func (ev *evaluator) Done() <-chan struct{} {
	ev.steps++
	if ev.steps > ev.maxSteps {
		if ev.steps == ev.maxSteps+1 {
			ev.cancel(ev.seq.Load(), &LimitError{Limits: ev.limits, Steps: true})
		}
		return closedCh
	}
	if ev.stop.Load() {
		return closedCh
	}
	return nil
}

func (ev *evaluator) Err() error {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.err
}

var _ context.Context = (*evaluator)(nil)

// showSize writes a byte count as a config would: 512 MiB, 1 GiB.
func showSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
