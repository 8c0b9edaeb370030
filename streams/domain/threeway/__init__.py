"""Three-way match of EDI documents (docs/domain.md §5): PO (850) ↔ ship notice (856) ↔ invoice
(810) per PO number and line, and the internal consistency of freight invoices (210).

Pure code, no Kafka: :mod:`summary` reduces a parsed document to the facts the rules need,
:mod:`rules` evaluates one order's documents, :mod:`engine` keeps the state and emits the
difference as events, :mod:`reference` is the plain whole-input evaluation for tests.
"""
