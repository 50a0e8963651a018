package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// stream is requests sent at a steady rate to one path of the site.
type stream struct {
	Path      string
	PerSecond float64
	// GiveUp, if set, is how long the client waits for an answer before
	// it leaves.
	GiveUp time.Duration
}

// phase is a stretch of the run: the streams it sends besides the site's
// background traffic, and whether a maintenance window is on.
type phase struct {
	Name string
	// Weight is the phase's share of the run.
	Weight      float64
	Streams     []stream
	Maintenance bool
}

// schedule is the traffic of a run: the site's background traffic, sent
// throughout, and the phases, in order.
type schedule struct {
	Background stream
	Phases     []phase
}

// story is what happens to the site in the picture.
var story = schedule{
	Background: stream{Path: pathHealthy, PerSecond: 10},
	Phases: []phase{
		{Name: "steady", Weight: 1},
		{Name: "upstream down, connections refused", Weight: 1, Streams: []stream{{Path: pathRefused, PerSecond: 4}}},
		{Name: "upstream stalled, timeouts and clients leaving", Weight: 1, Streams: []stream{
			{Path: pathStalled, PerSecond: 3},
			{Path: pathStalled, PerSecond: 2, GiveUp: 300 * time.Millisecond},
		}},
		{Name: "steady", Weight: 1},
		{Name: "maintenance window", Weight: 1, Maintenance: true},
		{Name: "upstream answering 500 pages", Weight: 1.5, Streams: []stream{{Path: pathFailing, PerSecond: 3}}},
		{Name: "recovered", Weight: 1.5},
	},
}

// window is when a phase runs, from the start of the run.
type window struct {
	Start, End time.Duration
}

// plan gives each phase its share of a run of total, one after another.
func plan(ps []phase, total time.Duration) []window {
	sum := 0.0
	for _, p := range ps {
		sum += p.Weight
	}
	out := make([]window, len(ps))
	at := 0.0
	for i, p := range ps {
		out[i].Start = time.Duration(at / sum * float64(total))
		at += p.Weight
		out[i].End = time.Duration(at / sum * float64(total))
	}
	out[len(out)-1].End = total
	return out
}

// tally counts the outcomes of each stream's requests by the phase they
// were sent in: the status, "left" for a client that gave up, or the
// error.
type tally struct {
	mu     sync.Mutex
	start  time.Time
	phases []phase
	plan   []window
	counts []map[string]map[string]int
}

// add counts one outcome of a request to path sent at sent.
func (t *tally) add(sent time.Time, path, outcome string) {
	at := sent.Sub(t.start)
	i, _ := slices.BinarySearchFunc(t.plan, at, func(w window, at time.Duration) int {
		switch {
		case w.End <= at:
			return -1
		case w.Start > at:
			return 1
		}
		return 0
	})
	i = min(i, len(t.plan)-1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts[i][path] == nil {
		t.counts[i][path] = map[string]int{}
	}
	t.counts[i][path][outcome]++
}

// drive sends the site at site the traffic of sch, phase after phase
// over a run of total, creating the maintenance flag file for a
// maintenance window. It returns when the run began and the tally of its
// requests.
func drive(ctx context.Context, site, flag string, total time.Duration, sch schedule) (time.Time, *tally, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	start := time.Now()
	phases := sch.Phases
	t := &tally{start: start, phases: phases, plan: plan(phases, total), counts: make([]map[string]map[string]int, len(phases))}
	for i := range t.counts {
		t.counts[i] = map[string]map[string]int{}
	}
	var all sync.WaitGroup
	bg, stopBackground := context.WithDeadline(ctx, start.Add(total))
	all.Go(func() { send(bg, ctx, client, site, sch.Background, t) })
	err := runPhases(ctx, client, site, flag, t, &all)
	stopBackground()
	all.Wait()
	return start, t, err
}

// runPhases sends each phase's streams in its window of t's plan.
func runPhases(ctx context.Context, client *http.Client, site, flag string, t *tally, all *sync.WaitGroup) error {
	for i, p := range t.phases {
		if err := sleepUntil(ctx, t.start.Add(t.plan[i].Start)); err != nil {
			return err
		}
		if p.Maintenance {
			if err := os.WriteFile(flag, nil, 0o600); err != nil {
				return err
			}
		}
		phaseCtx, stop := context.WithDeadline(ctx, t.start.Add(t.plan[i].End))
		for _, s := range p.Streams {
			all.Go(func() { send(phaseCtx, ctx, client, site, s, t) })
		}
		<-phaseCtx.Done()
		stop()
		if p.Maintenance {
			if err := os.Remove(flag); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// sleepUntil waits until at, or ctx is done.
func sleepUntil(ctx context.Context, at time.Time) error {
	timer := time.NewTimer(time.Until(at))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// send sends s's requests until ctx is done, and waits for their
// answers; run ends the requests themselves.
func send(ctx, run context.Context, client *http.Client, site string, s stream, t *tally) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / s.PerSecond))
	defer tick.Stop()
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case sent := <-tick.C:
			inflight.Go(func() { t.add(sent, s.Path, request(run, client, site+s.Path, s.GiveUp)) })
		}
	}
}

// request sends one GET to url and returns its outcome: the status, or
// "left" if the client gave up after giveUp.
func request(ctx context.Context, client *http.Client, url string, giveUp time.Duration) string {
	if giveUp > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, giveUp)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	res, err := client.Do(req)
	if giveUp > 0 && errors.Is(err, context.DeadlineExceeded) {
		return "left"
	}
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return strconv.Itoa(res.StatusCode)
}

// summary writes what each phase sent and got.
func (t *tally) summary(w io.Writer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, p := range t.phases {
		fmt.Fprintf(w, "%s-%s %s:", minSec(t.plan[i].Start), minSec(t.plan[i].End), p.Name)
		for _, path := range slices.Sorted(maps.Keys(t.counts[i])) {
			fmt.Fprintf(w, " %s", path)
			for _, o := range slices.Sorted(maps.Keys(t.counts[i][path])) {
				fmt.Fprintf(w, " %s×%d", o, t.counts[i][path][o])
			}
			fmt.Fprint(w, ";")
		}
		fmt.Fprintln(w)
	}
}

// minSec writes d as minutes and seconds, 1:30.
func minSec(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d/time.Minute), int(d%time.Minute/time.Second))
}
