package nft

import (
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"

	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// A transaction's messages are laid out in pieces, in order: runs of what
// build queued, and chain jobs. A chain new to the kernel has nothing to
// be compared with, so its rules are compiled and encoded by every core
// at once while the plan goes on (a start of day is ~3,000 such chains,
// and this the larger part of planning it); the pieces keep the batch in
// the order the plan queued it.
type piece struct {
	msgs []netlink.Message
	job  *chainJob
}

// chainJob is the rules of one new chain, compiled and encoded by the
// pool while the plan goes on.
type chainJob struct {
	table *nftables.Table
	name  string
	src   []iptables.Rule
	st    *chainState // its hashes are filled in: one per rule message
	msgs  []netlink.Message
	err   error
}

// compileChain compiles a chain's rules and tags them (each rule's tag
// and, after a slash, its fingerprint). Two rules become one kernel rule
// where nft can say in one what iptables needs two for (rules.Fusable):
// one rule fewer to add, validate and pass, and the second's mark match
// left out.
func compileChain(table *nftables.Table, name string, src []iptables.Rule) ([][]expr.Any, []string, error) {
	compiled := make([][]expr.Any, 0, len(src))
	hashes := make([]string, 0, len(src))
	v, comp := tableVersion(table), nftrules.Compile
	if isNetdev(table) {
		comp = nftrules.CompileNetdev
	}
	compile := func(r iptables.Rule) ([]expr.Any, error) {
		exprs, err := comp(v, name, r)
		if err != nil {
			return nil, fmt.Errorf("chain %s: %w", name, err)
		}
		return exprs, nil
	}
	add := func(r iptables.Rule, exprs []expr.Any) {
		compiled, hashes = append(compiled, exprs), append(hashes, ruleTag(r)+"/"+fingerprint(exprs))
	}
	for i := 0; i < len(src); i++ {
		expanded := nftrules.Expand(src[i])
		if len(expanded) == 1 && i+1 < len(src) && rules.Fusable(name, src[i], src[i+1]) {
			a, b := src[i], src[i+1]
			ea, err := compile(a)
			if err != nil {
				return nil, nil, err
			}
			// Of b only its verdict: its match, where it has one, is the
			// mark a has just set (rules.Fusable), and a's counter counts
			// the packets it would.
			eb, err := comp(v, "", iptables.Rule{Action: b.Action})
			if err != nil {
				return nil, nil, fmt.Errorf("chain %s: %w", name, err)
			}
			add(iptables.Rule{Match: a.Match, Action: a.Action + " ; " + b.Action}, append(ea, eb...))
			i++
			continue
		}
		for _, r := range expanded {
			exprs, err := compile(r)
			if err != nil {
				return nil, nil, err
			}
			add(r, exprs)
		}
	}
	return compiled, hashes, nil
}

// addRules queues a chain's compiled rules on c.
func addRules(c *nftables.Conn, table *nftables.Table, name string, compiled [][]expr.Any, hashes []string) {
	chain := &nftables.Chain{Name: name, Table: table}
	for i := range compiled {
		tag, _, _ := strings.Cut(hashes[i], "/")
		c.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: compiled[i], UserData: tagData(tag)})
	}
}

// addJob ends the current run of build's messages and queues j after it.
func (t *txn) addJob(j *chainJob) error {
	if err := t.cut(); err != nil {
		return err
	}
	t.pieces = append(t.pieces, piece{job: j})
	if t.pool == nil {
		t.pool = startPool()
	}
	t.pool.jobs <- j
	return nil
}

// cut moves what build queued since the last cut into a piece.
func (t *txn) cut() error {
	batch, err := t.flush()
	if msgs := body(batch); len(msgs) > 0 {
		t.pieces = append(t.pieces, piece{msgs: msgs})
	}
	return err
}

// runJobs waits for the queued jobs to be compiled and encoded and
// returns the first job's error, in the transaction's order.
func (t *txn) runJobs() error {
	t.stopPool()
	for _, p := range t.pieces {
		if p.job != nil && p.job.err != nil {
			return p.job.err
		}
	}
	return nil
}

// encodePool compiles and encodes jobs as the plan queues them, on
// GOMAXPROCS goroutines (the plan itself runs on one core), each with an
// encoder of its own.
type encodePool struct {
	jobs chan *chainJob
	wg   sync.WaitGroup
}

func startPool() *encodePool {
	p := &encodePool{jobs: make(chan *chainJob, 1024)}
	for range runtime.GOMAXPROCS(0) {
		p.wg.Go(func() {
			enc, err := newEncoder()
			var mine []*chainJob
			for j := range p.jobs {
				if j.err = err; err == nil {
					j.encode(enc)
				}
				mine = append(mine, j)
			}
			if err == nil {
				enc.distribute(mine)
			}
		})
	}
	return p
}

// stopPool waits for the pool's jobs (if any) to be done.
func (t *txn) stopPool() {
	if t.pool != nil {
		close(t.pool.jobs)
		t.pool.wg.Wait()
		t.pool = nil
	}
}

// encoder is a google/nftables Conn, build, whose dial only captures the
// batch its Flush sends.
type encoder struct {
	build    *nftables.Conn
	captured []netlink.Message
}

func newEncoder() (*encoder, error) {
	e := &encoder{}
	c, err := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		if req != nil { // nil: Flush reading an acknowledgement (there is none)
			e.captured = req
		}
		return nil, nil
	}))
	e.build = c
	return e, err
}

// flush returns the batch of what build queued since the last flush
// (begin, messages, end; nil when nothing was queued).
func (e *encoder) flush() ([]netlink.Message, error) {
	e.captured = nil
	err := e.build.Flush()
	batch := e.captured
	e.captured = nil
	return batch, err
}

// body is a batch's messages without its begin and end.
func body(batch []netlink.Message) []netlink.Message {
	if len(batch) < 2 {
		return nil
	}
	return batch[1 : len(batch)-1]
}

// encode queues j's rules on e.
func (j *chainJob) encode(e *encoder) {
	compiled, hashes, err := compileChain(j.table, j.name, j.src)
	if err != nil {
		j.err = err
		return
	}
	j.st.hashes = hashes
	addRules(e.build, j.table, j.name, compiled, hashes)
}

// distribute flushes e and hands each job (in the order they were queued
// on e) its messages.
func (e *encoder) distribute(jobs []*chainJob) {
	batch, err := e.flush()
	msgs := body(batch)
	for _, j := range jobs {
		if err != nil && j.err == nil {
			j.err = fmt.Errorf("chain %s: %w", j.name, err)
		}
		if j.err != nil {
			continue
		}
		n := len(j.st.hashes)
		j.msgs, msgs = msgs[:n], msgs[n:]
	}
}
