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

// chainJob is the rules of one new chain, compiled and encoded at commit.
type chainJob struct {
	v     int
	table *nftables.Table
	name  string
	src   []iptables.Rule
	st    *chainState // its hashes are filled in
	n     int         // the rule messages it queued on its encoder
	msgs  []netlink.Message
	err   error
}

// compileChain compiles a chain's rules and tags them (each rule's tag
// and, after a slash, its fingerprint).
func compileChain(v int, name string, src []iptables.Rule) ([][]expr.Any, []string, error) {
	var expanded []iptables.Rule
	for _, r := range src {
		expanded = append(expanded, nftrules.Expand(r)...)
	}
	compiled := make([][]expr.Any, len(expanded))
	hashes := make([]string, len(expanded))
	for i, r := range expanded {
		exprs, err := nftrules.Compile(v, name, r)
		if err != nil {
			return nil, nil, fmt.Errorf("chain %s: %w", name, err)
		}
		compiled[i], hashes[i] = exprs, ruleTag(r)+"/"+fingerprint(exprs)
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
	msgs, err := flushCaptured(t.build, &t.captured)
	if len(msgs) > 0 {
		t.pieces = append(t.pieces, piece{msgs: msgs})
	}
	return err
}

// flushCaptured flushes c, whose dial captures into *captured, and
// returns the messages of the batch without its begin and end.
func flushCaptured(c *nftables.Conn, captured *[]netlink.Message) ([]netlink.Message, error) {
	*captured = nil
	err := c.Flush()
	msgs := *captured
	*captured = nil
	if err != nil || len(msgs) < 2 {
		return nil, err // an encoding error; or nothing queued
	}
	return msgs[1 : len(msgs)-1], nil
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

// encoder is a google/nftables Conn whose dial only captures.
type encoder struct {
	conn     *nftables.Conn
	captured []netlink.Message
}

func newEncoder() (*encoder, error) {
	e := &encoder{}
	c, err := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		if req != nil {
			e.captured = req
		}
		return nil, nil
	}))
	e.conn = c
	return e, err
}

// encode queues j's rules on e.
func (j *chainJob) encode(e *encoder) {
	compiled, hashes, err := compileChain(j.v, j.name, j.src)
	if err != nil {
		j.err = err
		return
	}
	j.st.hashes, j.n = hashes, len(compiled)
	addRules(e.conn, j.table, j.name, compiled, hashes)
}

// distribute flushes e and hands each job (in the order they were queued
// on e) its messages.
func (e *encoder) distribute(jobs []*chainJob) {
	msgs, err := flushCaptured(e.conn, &e.captured)
	for _, j := range jobs {
		if err != nil && j.err == nil {
			j.err = fmt.Errorf("chain %s: %w", j.name, err)
		}
		if j.err != nil {
			continue
		}
		j.msgs, msgs = msgs[:j.n], msgs[j.n:]
	}
}
