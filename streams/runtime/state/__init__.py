"""Key-value state over Faust tables on RocksDB: direct, write-behind per batch, and the
dedupe horizon's purge."""
