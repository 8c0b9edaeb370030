"""The three-way rules over one order's documents (the PO in force: 850 + 860s, orders.py;
invoices accumulating per PO line), the 210 consistency check and its rate audit
(rating.py).

``evaluate`` is a function of the *set* of documents (and the carrier's rate table, and
whether the order's waiting window has closed), never of their arrival order: the engine
re-evaluates on every change and emits the difference, so the final results are the same
whatever order the documents came in.

Results are keyed by a deterministic id. Kinds: ``matched`` (an invoice line agreeing with
its PO and ASN, or a consistent 210), ``quantity_variance``, ``price_variance``,
``total_mismatch``, ``missing_document`` (an invoice without its PO or ship notice, an 860
without its PO), ``unmatched_change`` (an 860 line changing a PO line the PO does not
have); for a re-rated 210 ``overbilled``,
``unknown_accessorial``, ``missing_rate``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from streams.domain.models.keys import digest
from streams.domain.threeway import rating
from streams.domain.threeway.orders import OrderLines
from streams.domain.threeway.summary import ASN, CHANGE, FREIGHT, INVOICE, PO, ROUTED

MATCHED = "matched"
QUANTITY_VARIANCE = "quantity_variance"
PRICE_VARIANCE = "price_variance"
TOTAL_MISMATCH = "total_mismatch"
MISSING_DOCUMENT = "missing_document"
UNMATCHED_CHANGE = "unmatched_change"
RATE_KINDS = {
    rating.OVERBILLED: "overbilled",
    rating.UNKNOWN_ACCESSORIAL: "unknown_accessorial",
    rating.MISSING_RATE: "missing_rate",
}
RECORD_TYPES = {  # of the documents results are about
    PO: "purchase_order",
    CHANGE: "change_order",
    ASN: "ship_notice",
    INVOICE: "invoice",
    FREIGHT: "freight_invoice",
}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PriceTolerance:
    """An invoice price is within tolerance when |Δ| ≤ ``amount`` *and* |Δ| ≤ ``percent`` %
    of the PO price: both limits hold, so a large price cannot hide behind the percent."""

    amount: Decimal = Decimal("0.01")
    percent: Decimal = Decimal("1")

    def within(self, ordered: Decimal, invoiced: Decimal) -> bool:
        delta = abs(invoiced - ordered)
        return delta <= self.amount and delta * 100 <= self.percent * abs(ordered)


@dataclass(frozen=True)
class RateAudit:
    """The carriers' rate tables (SCAC -> rate key -> row) a 210 is re-rated against;
    ``require_table``: a 210 of a carrier without a table is a ``missing_rate`` too."""

    tables: dict[str, dict[str, dict[str, str]]]
    tolerance: Decimal = Decimal("0.01")
    require_table: bool = False


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def result(
    kind: str,
    doc: dict[str, Any],
    line: str,
    details: str,
    differences: list[tuple[str, str, str]] | None = None,
    partner: dict[str, Any] | None = None,
    also: Iterable[dict[str, Any]] = (),
) -> tuple[str, dict[str, Any]]:
    """One result about ``doc`` (against ``partner``); ``also``: other documents it rests on
    (the ship notices of a line check), named with ``doc`` and ``partner`` in ``refs``."""
    rid = digest("threeway", kind, doc["t"], doc["id"], doc.get("po") or "", line)
    body = {
        "kind": kind,
        "record_type": RECORD_TYPES[doc["t"]],
        "record_id": doc["id"],
        "po": doc.get("po") or "",
        "line": line,
        "buyer": doc["buyer"],
        "seller": doc["seller"],
        "details": details,
        "differences": [list(d) for d in differences or []],
        "partner_type": RECORD_TYPES[partner["t"]] if partner else None,
        "partner_id": partner["id"] if partner else None,
    }
    # [correlation id, traceparent] of each document, for the events' trace headers; only
    # when known, so a result of documents stored before trace propagation is unchanged.
    refs = [[d["c"], d.get("tp", "")] for d in (doc, partner, *also) if d and d.get("c")]
    if refs:
        body["refs"] = refs
    return rid, body


def check_invoice_total(inv: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """TDS must equal the extended lines plus the allowances/charges (SAC, all levels)."""
    lines = sum(
        ((_dec(x["q"]) or Decimal(0)) * (_dec(x["p"]) or Decimal(0)) for x in inv["lines"]),
        Decimal(0),
    )
    expected = (lines + Decimal(inv["sac"])).quantize(CENT)
    tds = Decimal(inv["tds"])
    if tds == expected:
        return None
    return result(
        TOTAL_MISMATCH,
        inv,
        "",
        f"invoice {inv['id']} TDS {tds} != lines {lines.quantize(CENT)} + SAC {inv['sac']} "
        f"= {expected}",
        [("TDS", str(tds), str(expected))],
    )


def check_freight(frt: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """210: B3 net amount due against the sum of the L1 charges and the L3 total."""
    b3, l1, l3 = Decimal(frt["b3"]), Decimal(frt["l1"]), _dec(frt["l3"])
    diffs: list[tuple[str, str, str]] = []
    if frt["l1_count"] and l1 != b3:
        diffs.append(("L1 charges", str(l1), str(b3)))
    if l3 is not None and l3 != b3:
        diffs.append(("L3 charge", str(l3), str(b3)))
    if not frt["l1_count"] and l3 is None:
        diffs.append(("L1/L3", "absent", str(b3)))
    if not diffs:
        return result(MATCHED, frt, "", f"freight invoice {frt['id']}: B3 {b3} = L1 = L3")
    what = "; ".join(f"{f} {mine} vs B3 {b3_}" for f, mine, b3_ in diffs)
    return result(TOTAL_MISMATCH, frt, "", f"freight invoice {frt['id']}: {what}", diffs)


def check_lines(
    inv: dict[str, Any],
    lines: OrderLines,
    po: dict[str, Any],
    asns: list[dict[str, Any]],
    tol: PriceTolerance,
    before: dict[str, Decimal],
) -> Iterable[tuple[str, dict[str, Any]]]:
    """``before``: per PO line, what the order's earlier invoices (by invoice date and
    number) invoiced; this invoice's lines are added to it."""
    for line in inv["lines"]:
        name = lines.name(line["ids"])
        invoiced, price = _dec(line["q"]) or Decimal(0), _dec(line["p"])
        ordered, po_price = lines.ordered.get(name, (Decimal(0), None))
        ordered = ordered or Decimal(0)
        shipped = lines.shipped.get(name, Decimal(0))
        earlier = before.get(name, Decimal(0))
        total = earlier + invoiced
        before[name] = total
        bad = False
        if total > shipped or total > ordered or shipped > ordered:
            bad = True
            diffs = [
                ("invoiced", str(total), str(shipped)),
                ("shipped", str(shipped), str(ordered)),
            ]
            also = f" ({earlier} on earlier invoices, {total} in all)" if earlier else ""
            yield result(
                QUANTITY_VARIANCE,
                inv,
                name,
                f"PO {inv['po']} line {name}: ordered {ordered}, shipped {shipped}, "
                f"invoiced {invoiced}{also}",
                diffs,
                po,
                asns,
            )
        if price is not None and po_price is not None and not tol.within(po_price, price):
            bad = True
            yield result(
                PRICE_VARIANCE,
                inv,
                name,
                f"PO {inv['po']} line {name}: invoiced price {price} vs PO price {po_price} "
                f"(tolerance {tol.amount} and {tol.percent}%)",
                [("unit_price", str(price), str(po_price))],
                po,
            )
        if not bad:
            yield result(
                MATCHED,
                inv,
                name,
                f"PO {inv['po']} line {name}: {invoiced} at {price}",
                None,
                po,
                asns,
            )


def check_rates(
    frt: dict[str, Any], audit: RateAudit, closed: bool
) -> Iterable[tuple[str, dict[str, Any]]]:
    """The 210 re-rated against its carrier's table, line by line (rating.py). A missing
    rate waits for the window to close: the table (or its missing row) may still come."""
    table = audit.tables.get(frt.get("scac") or "")
    if not table:
        if audit.require_table and closed:
            yield result(
                RATE_KINDS[rating.MISSING_RATE],
                frt,
                "",
                f"freight invoice {frt['id']}: no rate table for carrier {frt.get('scac') or '?'}",
                [("rate table", "absent", frt.get("scac") or "")],
            )
        return
    for line in rating.audit(frt, table, audit.tolerance):
        if line.verdict == rating.OK or (line.verdict == rating.MISSING_RATE and not closed):
            continue
        expected = "" if line.expected is None else str(line.expected)
        yield result(
            RATE_KINDS[line.verdict],
            frt,
            line.line,
            f"freight invoice {frt['id']} {line.line}: billed {line.billed}, expected "
            f"{expected or 'no rate'} ({line.basis})",
            [(line.line, str(line.billed), expected)],
        )


def change_label(change: dict[str, Any]) -> str:
    seq = change.get("seq") or ""
    return (
        f"change order {seq} of PO {change['po']}" if seq else f"change order of PO {change['po']}"
    )


def check_changes(
    lines: OrderLines, po: dict[str, Any] | None
) -> Iterable[tuple[str, dict[str, Any]]]:
    """What an 860 could not apply, as exceptions: its PO is missing (the whole change), or
    a POC line names a PO line the PO does not have. Keyed per change order (PO number and
    change sequence), so two 860s of one PO are two exceptions."""
    for change in lines.orphans:
        doc = {**change, "id": change_id(change)}
        what = "cancellation" if change.get("cancel") else f"{len(change['lines'])} line change(s)"
        yield result(
            MISSING_DOCUMENT,
            doc,
            "",
            f"{change_label(change)}: no PO (850) to amend; its {what} not applied",
            [("missing", "PO (850)", "")],
        )
    for change, line in lines.unmatched:
        doc = {**change, "id": change_id(change)}
        name = lines.name(line["ids"])
        values = ", ".join(
            f"{field} {line[key]}"
            for field, key in (("quantity", "q"), ("price", "p"))
            if line[key]
        )
        yield result(
            UNMATCHED_CHANGE,
            doc,
            name,
            f"{change_label(change)}: {line['code']} for line {name}, which the PO does not "
            f"have{f' ({values})' if values else ''}: not applied",
            [("line", name, "absent from the PO")],
            po,
        )


def change_id(change: dict[str, Any]) -> str:
    """The record id of an 860: its PO number and change sequence (BCH05), or its
    idempotency key when it has no sequence."""
    return f"{change['po']}:{change.get('seq') or change.get('idem', '')}"


def _invoice_rank(inv: dict[str, Any]) -> tuple[str, str, str]:
    return (inv.get("date", ""), inv["id"], inv.get("idem", ""))


def evaluate(
    docs: Iterable[dict[str, Any]],
    closed: bool,
    tol: PriceTolerance,
    rates: RateAudit | None = None,
) -> dict[str, dict[str, Any]]:
    """All results of one routing key's documents (an order, or one 210); ``rates`` None:
    210s are not re-rated."""
    by_type: dict[str, list[dict[str, Any]]] = {t: [] for t in ROUTED}
    for doc in docs:
        by_type[doc["t"]].append(doc)
    for found in by_type.values():
        found.sort(key=lambda d: (d["id"], d.get("idem", "")))
    out: dict[str, dict[str, Any]] = {}
    for frt in by_type[FREIGHT]:
        rid, body = check_freight(frt)
        out[rid] = body
        if rates is not None:
            out.update(check_rates(frt, rates, closed))
    pos, asns = by_type[PO], by_type[ASN]
    lines = OrderLines(pos, asns, by_type[CHANGE])
    out.update(check_changes(lines, pos[0] if pos else None))
    invoiced: dict[str, Decimal] = {}
    for inv in sorted(by_type[INVOICE], key=_invoice_rank):
        total = check_invoice_total(inv)
        if total is not None:
            out[total[0]] = total[1]
        missing = [
            name for name, docs_ in (("PO (850)", pos), ("ship notice (856)", asns)) if not docs_
        ]
        if missing:
            if closed:
                rid, body = result(
                    MISSING_DOCUMENT,
                    inv,
                    "",
                    f"invoice {inv['id']} for PO {inv['po']}: no {' and no '.join(missing)} "
                    "after the waiting window",
                    [("missing", m, "") for m in missing],
                )
                out[rid] = body
            continue
        for rid, body in check_lines(inv, lines, pos[0], asns, tol, invoiced):
            out[rid] = body
    return out
