"""The claims engine: applies claim headers and lines, re-evaluates claims, settles them.

A claim version's status, line exceptions and settlement are a function of its records and
of the accrual facts (``facts.py``), never of arrival order (docs/domain.md §10.4). Records
only fold into state and mark their claim version *dirty*; so do the changes the runtime
reports (``accrual_changed`` for an agreement with new ledger entries, ``sale_changed``,
``sweep``). ``settle`` then evaluates each dirty claim version once, publishes what changed
(results, exceptions opened or resolved) and posts ``target - settled`` for its settlement,
where the target is the claimed amount of a matched version in force and 0 otherwise: the
same posting rule as the accruals (§3.5), so a version's settlement entries always sum to
its target, whatever the order, and a superseded version's settlement is reversed.

Double claims: a sale belongs to the claim with the smallest claim id among the versions in
force whose line on it passes the sale and coverage checks; each line stores that flag
(``v``), and when it changes the other claimers of the sale are re-evaluated.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from streams.domain.claims import store
from streams.domain.claims.approvals import (
    Action,
    ClaimDecision,
    approved_amount,
    later,
    rejection_shown,
    ruling_of,
    ruling_problem,
)
from streams.domain.claims.changes import event, line_events, settlement
from streams.domain.claims.facts import AccrualFacts
from streams.domain.claims.lines import LineChecker
from streams.domain.claims.models import ClaimHeader, ClaimLine, line_key
from streams.domain.claims.results import ClaimException, ClaimResult, ClaimsOutput
from streams.domain.claims.rules import ClaimExceptionKind as K
from streams.domain.claims.rules import ClaimStatus, Tolerances, header_status
from streams.domain.models.outcome import Outcome
from streams.domain.state import KeyValueState

Version = tuple[str, int]
ZERO = Decimal(0)


class ClaimsEngine:
    def __init__(self, state: KeyValueState, facts: AccrualFacts, tolerances: Tolerances) -> None:
        self.state = state
        self.facts = facts
        self.tolerances = tolerances
        self._dirty: set[Version] = set()
        self._held: set[Version] = set()  # dirty, still waiting for lines (``settle``)
        self.lines = LineChecker(state, facts, self._dirty)

    # -- records --------------------------------------------------------------------------

    def _own(self, idem: str, record_id: str, traceparent: str = "") -> bool:
        mark = self.state.get(store.mark_key(idem))
        if mark is not None:
            return bool(mark["o"] == record_id)
        # the owner's correlation id (and a header's hop traceparent) is what the version's
        # outputs carry, read back from here at every evaluation (``refs.py``)
        self.state.put(
            store.mark_key(idem),
            {"o": record_id, "tp": traceparent} if traceparent else {"o": record_id},
        )
        return True

    def _doc(self, claim_id: str, version: int) -> dict[str, Any]:
        doc = self.state.get(store.version_key(claim_id, version))
        if doc is None:
            return store.new_version_doc()
        # the outputs staged with its last write (``outbox.stage``) were relayed from that
        # write: the next write of the document must not carry them again
        doc.pop(store.OUT, None)
        return doc

    def _see(self, claim_id: str, version: int) -> None:
        """Record that ``version`` of a claim exists; a higher one supersedes the others."""
        doc = self.state.get(store.claim_key(claim_id)) or {"v": 0, "vs": []}
        if version in doc["vs"]:
            return
        bisect.insort(doc["vs"], version)
        if version > doc["v"]:
            doc["v"] = version
            self._dirty.update((claim_id, v) for v in doc["vs"])
        self.state.put(store.claim_key(claim_id), doc)
        store.add_member(self.state, store.INDEX_KEY, [claim_id, version])

    def apply_header(self, header: ClaimHeader, record_id: str, traceparent: str = "") -> Outcome:
        if not self._own(header.idempotency_key, record_id, traceparent):
            return Outcome.DUPLICATE
        claim, version = header.claim_id, header.version
        doc = self._doc(claim, version)
        if doc["h"] is None:
            doc["h"] = header.model_dump(mode="json")
            self.state.put(store.version_key(claim, version), doc)
        # Outside the test: after a crash that kept the document but not the index, the
        # reprocessed header still indexes it (every write here is idempotent).
        store.add_member(self.state, store.by_agreement_key(header.agreement_id), [claim, version])
        self._see(claim, version)
        self._dirty.add((claim, version))
        return Outcome.APPLIED

    def apply_decision(self, decision: ClaimDecision, record_id: str) -> Outcome:
        """An analyst's approval, rejection or withdrawal on one claim version: it keeps
        its latest decision (docs/domain.md §10.6). It does not make the version exist for
        the claim (a decision never supersedes), but indexes it, so a decision on a version
        that never arrives is evaluated, and shown as an open exception."""
        if not self._own(decision.idempotency_key, record_id):
            return Outcome.DUPLICATE
        claim, version = decision.claim_id, decision.version
        doc = self._doc(claim, version)
        new = decision.to_doc()
        if later(new, doc.get(store.DECISION)):
            doc[store.DECISION] = new
            self.state.put(store.version_key(claim, version), doc)
        store.add_member(self.state, store.INDEX_KEY, [claim, version])
        self._dirty.add((claim, version))
        return Outcome.APPLIED

    def apply_lines(self, lines: Sequence[tuple[ClaimLine, str]]) -> list[Outcome]:
        """Apply many lines (a chunk's); each version document and bucket is written once."""
        docs: dict[Version, dict[str, Any]] = {}
        buckets: dict[str, dict[str, Any]] = {}
        seen: set[Version] = set()
        held: dict[Version, set[str]] = {}  # the buckets of each version, as a set
        outcomes: list[Outcome] = []
        for line, record_id in lines:
            sale = line.sale_key
            if not self._own(line_key(line.claim_id, line.version, sale), record_id):
                outcomes.append(Outcome.DUPLICATE)
                continue
            ver = (line.claim_id, line.version)
            if ver not in seen:
                self._see(*ver)
                seen.add(ver)
            doc = docs.get(ver)
            if doc is None:
                doc = docs[ver] = self._doc(*ver)
            name = store.bucket_of(sale)
            bkey = store.bucket_key(line.claim_id, line.version, name)
            bucket = buckets.get(bkey)
            if bucket is None:
                bucket = buckets[bkey] = self.state.get(bkey) or {}
            if sale not in bucket:  # else: its owner reprocessed after a crash
                bucket[sale] = {
                    "t": line.txn_id,
                    "l": line.line_no,
                    "d": line.sold_on.isoformat(),
                    "s": line.sku,
                    "q": line.qty,
                    "a": str(line.amount),
                    "v": False,  # passes the sale and coverage checks, in force
                    "x": "",  # the exception kind published for it
                }
                doc["n"] += 1
            # The document, its buckets and the claimers index are separate keys that a
            # crash may keep in any combination: what follows is idempotent, so the
            # reprocessed line restores whichever was lost (the line count is the
            # buckets', recounted at evaluation; until then it only decides whether a
            # version is still waiting for lines, see ``settle``).
            names = held.get(ver)
            if names is None:
                names = held[ver] = set(doc["b"])
            group = store.group_of(name)
            if group not in names:
                names.add(group)
                bisect.insort(doc["b"], group)
            store.add_member(self.state, store.claimers_key(sale), list(ver))
            self._dirty.add(ver)
            outcomes.append(Outcome.APPLIED)
        for ver, doc in docs.items():
            self.state.put(store.version_key(*ver), doc)
        for bkey, bucket in buckets.items():
            self.state.put(bkey, bucket)
        return outcomes

    # -- what makes a claim change --------------------------------------------------------

    def accrual_changed(self, agreement_id: str) -> None:
        """The agreement's accruals or terms changed: re-evaluate its claims."""
        doc = self.state.get(store.by_agreement_key(agreement_id))
        self._dirty.update((c, v) for c, v in (doc or {"c": []})["c"])

    def sale_changed(self, sale_key: str) -> None:
        doc = self.state.get(store.claimers_key(sale_key))
        self._dirty.update((c, v) for c, v in (doc or {"c": []})["c"])

    def sweep(self) -> None:
        """Re-evaluate every claim version (end of input, or a timer): catches the changes
        no ledger entry announces, such as a sale that moves no accrual."""
        doc = self.state.get(store.INDEX_KEY) or {"c": []}
        self._dirty.update((c, v) for c, v in doc["c"])

    # -- evaluation -----------------------------------------------------------------------

    def settle(self, hold_incomplete: bool = False) -> ClaimsOutput:
        """Evaluate every dirty version. With ``hold_incomplete`` a version still waiting
        for lines (no header yet, or fewer lines than its header announces, by the count
        kept as they arrive) is held instead, until a ``settle`` without it: the runtime
        settles after every batch, and evaluating a 500,000-line claim after each batch
        of its lines reads the whole claim each time (time quadratic in its lines), to
        publish an ``incomplete`` result. Its sweeps evaluate what was held."""
        out = ClaimsOutput()
        if not hold_incomplete:
            self._dirty |= self._held
            self._held.clear()
        while self._dirty:
            ver = min(self._dirty)
            self._dirty.discard(ver)
            if hold_incomplete and self._waiting(*ver):
                self._held.add(ver)
                continue
            self._evaluate(*ver, out)
        return out

    def _waiting(self, claim: str, version: int) -> bool:
        doc = self.state.get(store.version_key(claim, version))
        if doc is None:
            return False
        current = (self.state.get(store.claim_key(claim)) or {"v": version})["v"]
        if version < current:
            return False  # superseded: decided without its lines
        header = doc["h"]
        return header is None or int(doc["n"]) < int(header["line_count"])

    def _evaluate(self, claim: str, version: int, out: ClaimsOutput) -> None:
        doc = self._doc(claim, version)
        current = (self.state.get(store.claim_key(claim)) or {"v": version})["v"]
        superseded = version < current
        header = ClaimHeader.model_validate(doc["h"]) if doc["h"] is not None else None
        agr = None
        if header is not None and not superseded:
            agr = self.facts.agreement(header.agreement_id)
            if agr is not None and agr.vendor_id != header.vendor_id:
                agr = None
        buckets = store.read_buckets(self.state, claim, version, doc)
        doc["n"] = sum(len(bucket) for bucket in buckets.values())
        kinds, flagged = self.lines.kinds(claim, version, header, agr, buckets, superseded)

        accrued = ZERO
        if header is not None and agr is not None:
            total, currency = self.facts.accrued(header.agreement_id, header.period)
            accrued = total if currency == header.currency else ZERO
        claimed = header.claimed_amount if header is not None else ZERO
        within = self.tolerances.within(claimed, accrued)
        failing: dict[str, int] = {}
        for kind in kinds.values():
            if kind:
                failing[kind] = failing.get(kind, 0) + 1
        line_count = header.line_count if header is not None else 0
        status = header_status(
            has_header=header is not None,
            superseded=superseded,
            line_count=line_count,
            received=doc["n"],
            within=within,
            failing_lines=sum(failing.values()),
        )
        # exceptions follow the engine's own decision; an analyst's ruling (an approval or
        # a rejection) changes the status and what settles
        decided = status in (ClaimStatus.MATCHED, ClaimStatus.DISPUTED)
        disputed = status is ClaimStatus.DISPUTED
        decision = doc.get(store.DECISION)
        ruling = ruling_of(decision)
        approval = ruling if ruling is not None and ruling["a"] == Action.APPROVE else None
        refused = ""
        if ruling is not None:
            refused = ruling_problem(
                claim,
                version,
                ruling,
                vendor=header.vendor_id if header is not None else "",
                current=current,
                received=doc["n"],
                line_count=line_count,
                claimed=claimed,
                double_claimed=failing.get(K.DOUBLE_CLAIMED.value, 0),
            )
            if not refused:
                status = ClaimStatus.APPROVED if approval is not None else ClaimStatus.REJECTED
        seq = doc["seq"] + 1
        events: list[ClaimException] = []
        # a decision on a version whose header has not arrived still names the vendor
        vendor = header.vendor_id if header is not None else (decision or {}).get("v", "")
        changed_buckets = line_events(
            buckets, kinds, decided, (claim, version, vendor, seq), events
        )
        dispute = ""
        if disputed and (not within or doc["n"] > line_count):
            currency = header.currency if header else ""
            dispute = (
                f"claim {claim} version {version}: claimed {claimed} {currency}, accrued "
                f"{accrued}, difference {claimed - accrued}"
                + (
                    f"; {doc['n']} lines received, {line_count} announced"
                    if doc["n"] > line_count
                    else ""
                )
            )
        if dispute != doc["dispute"]:
            events.append(event(K.DISPUTE, bool(dispute), claim, version, vendor, "", dispute, seq))
            doc["dispute"] = dispute

        if refused != doc.get(store.REFUSED, ""):
            events.append(
                event(K.APPROVAL_INVALID, bool(refused), claim, version, vendor, "", refused, seq)
            )
            doc[store.REFUSED] = refused

        settled = Decimal(doc["settled"])
        target = ZERO
        if status is ClaimStatus.MATCHED:
            target = claimed
        elif status is ClaimStatus.APPROVED and approval is not None:
            target = approved_amount(approval, claimed)
        if target != settled and header is not None:
            out.settlements.append(settlement(header, vendor, seq, settled, target))
            settled = target
        shown = ruling["k"] if ruling is not None else ""
        summary = [status.value, str(accrued), failing, str(settled), doc["n"], shown]
        before = [
            doc["status"],
            doc["accrued"],
            doc["failing"],
            doc["settled"],
            doc.get("rn"),
            doc.get("rk", ""),
        ]
        if summary != before or events:
            doc.update(
                status=status.value,
                accrued=str(accrued),
                failing=failing,
                settled=str(settled),
                rn=doc["n"],
                seq=seq,
            )
            if shown or "rk" in doc:  # the ruling shown in the result, once there is one
                doc["rk"] = shown
            out.exceptions += events
            out.results.append(
                ClaimResult(
                    claim,
                    version,
                    vendor,
                    header.agreement_id if header else "",
                    header.period if header else "",
                    header.currency if header else "",
                    claimed,
                    accrued,
                    status,
                    line_count,
                    doc["n"],
                    dict(failing),
                    settled,
                    seq,
                    approval["by"] if approval is not None else "",
                    approved_amount(approval, claimed) if approval is not None else None,
                    approval["r"] if approval is not None else "",
                    *rejection_shown(ruling),
                )
            )
            self.state.put(store.version_key(claim, version), doc)
        for name in changed_buckets | flagged:
            self.state.put(store.bucket_key(claim, version, name), buckets[name])
