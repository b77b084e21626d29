// Package policy is the policy half of felix's dataplane loop: it keeps
// the Calico policy model of one node (package calc) up to date from
// datastore sync events and renders it (package felix/rules) into the
// filter-table chains and IP sets felix programs.
//
// # Data flow
//
//	cache.Subscribe ──► felix.Dataplane.OnSyncEvent   (record, kick; any goroutine)
//	Dataplane loop ──► Calculator.Apply(events) ──► Index (calc.Model + caches)
//	               ──► Calculator.Render ──► rules.Renderer.Render(Index) per IP
//	                   version (incremental: Result.Delta names the chains and
//	                   IP sets changed)
//	               ──► IP set adds ─► iptables-restore ─► IP set deletions
//	                   (nftables: one netlink transaction of the changed chains)
//
// # Goals and invariants
//
//   - One owner. A Calculator (and its Index and model) belongs to the
//     dataplane goroutine; nothing here touches the kernel.
//   - Coalescing. Events recorded while an apply runs are fed together and
//     rendered once.
//   - Fail closed. Nothing is rendered before the first full sync event
//     (Calculator.Synced); an endpoint whose labels are pending renders as
//     drop-everything (rules.Render); an interface with no endpoint is
//     dropped by the dispatch chains.
//   - Incremental cost. Rendering from scratch evaluates every selector
//     against every endpoint (endpoints × policies); Index re-evaluates
//     only what a change can affect, so one changed policy costs about one
//     pass over the local endpoints. Its answers always equal the model's
//     (TestIndexAgreesWithModel renders both after random changes). A
//     selector's member list is patched by a merge of the changed addresses
//     (a new slice: renders share it), not re-sorted; and a remote
//     endpoint change that moves no address in or out of a cached member
//     list renders nothing at all (Calculator.RenderIfChanged; checked
//     against the model by TestRenderIfChangedSkipsOnlyUnseenChanges).
//   - Incremental render. The Calculator keeps a rules.Renderer per IP
//     version: a changed policy re-renders its own chains, the group and
//     endpoint chains of the endpoints whose ordered policy list changed,
//     and the dispatch chains when endpoints came or went; nothing else.
//     The Index keeps every policy in evaluation order by binary-searched
//     replace/insert, patches only the lists holding a changed policy that
//     selects what it did, and tells the Renderer (rules.Tracker) which
//     endpoints and member sets changed, so a render visits only those;
//     IP sets and flow-log rule IDs are handed over by delta too.
//     TestIncrementalRenderEqualsScratch checks, after random sequences
//     of changes, that every render equals one from scratch and that its
//     Delta turns the last render's chains and IP sets into the new ones.
//   - Verdict agreement. calc.Model.Verdict is the reference semantics; the
//     kernel tests in this package send real packets and check every
//     workload-to-workload outcome against it. Two things Verdict does not
//     model, by design, are checked on their own: the host's protection
//     from its workloads (and its own access to them), and anti-spoofing.
package policy
