//! Benchmark of the stored tamper-evident log: entries appended per second through
//! `Tx::log` + commit (the path every audit event, stamp and status change takes) in
//! transactions of 1, 100 and 1,000 entries, next to the same number of empty write
//! transactions committed in the same run (the fixed cost of a durable commit); then the
//! time to build an inclusion proof from the stored nodes (plan, one query, assemble) at
//! the final size, next to the same proofs from an in-memory tree of the same entries.
//!
//! Run in release: `cargo xtask bench log` (or `cargo run --release -p seal-store --example
//! bench_log -- [ENTRIES] [postgres://…]`; default 1,000,000 entries on SQLite in a
//! temporary folder).

use std::error::Error;
use std::time::{Duration, Instant};

use seal_core::stamp::EntryKind;
use seal_core::time::Timestamp;
use seal_proof::merkle::{MemoryTree, inclusion_plan, leaf_hash, verify_inclusion};
use seal_store::{Store, StoreOptions};

/// Proofs timed at the final size.
const PROOFS: usize = 2_000;

fn entry(i: u64) -> Vec<u8> {
    // About the size of a stamp's log entry.
    let mut bytes = b"SKAE\x01bench entry ".to_vec();
    bytes.extend_from_slice(&i.to_be_bytes());
    bytes.resize(180, b'.');
    bytes
}

async fn append(
    store: &Store,
    from: u64,
    count: u64,
    batch: u64,
) -> Result<Duration, Box<dyn Error>> {
    let started = Instant::now();
    let mut i = from;
    while i < from + count {
        let mut tx = store.write().await?;
        for j in i..(i + batch).min(from + count) {
            tx.log(
                EntryKind::Audit,
                "bench",
                None,
                entry(j),
                Timestamp::from_millis(0),
            );
        }
        tx.commit().await?;
        i += batch;
    }
    Ok(started.elapsed())
}

async fn empty_commits(store: &Store, count: u64) -> Result<Duration, Box<dyn Error>> {
    let started = Instant::now();
    for _ in 0..count {
        let tx = store.write().await?;
        tx.commit().await?;
    }
    Ok(started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn Error>> {
    let total: u64 = std::env::args()
        .nth(1)
        .map_or(Ok(1_000_000), |t| t.parse())?;
    let folder = tempfile::tempdir()?;
    let url = std::env::args()
        .nth(2)
        .unwrap_or_else(|| format!("sqlite://{}", folder.path().join("log.db").display()));
    let store = Store::connect(&url, &StoreOptions::default()).await?;
    println!("log benchmark on {:?} ({total} entries)", store.backend());

    let small = 2_000u64;
    let empty = empty_commits(&store, small).await?;
    let one = append(&store, 0, small, 1).await?;
    let hundred = append(&store, small, 100_000, 100).await?;
    let done = small + 100_000;
    let rest = total.saturating_sub(done);
    let thousand = append(&store, done, rest, 1_000).await?;
    println!(
        "  empty write transactions (baseline)   {:>9.0} commits/s",
        small as f64 / empty.as_secs_f64()
    );
    for (name, count, took, per) in [
        ("1 entry per transaction", small, one, 1u64),
        ("100 entries per transaction", 100_000, hundred, 100),
        ("1,000 entries per transaction", rest, thousand, 1_000),
    ] {
        let rate = count as f64 / took.as_secs_f64();
        let commits = (count / per) as f64 / took.as_secs_f64();
        println!(
            "  {name:<38} {rate:>9.0} appends/s  ({commits:.0} commits/s, {:.2}x the empty commit rate)",
            commits / (small as f64 / empty.as_secs_f64())
        );
    }

    // Inclusion proofs at the final size: from the store, and from memory.
    let mut tx = store.read().await?;
    let head = tx.log_head().await?;
    let size = head.size();
    let mut tree = MemoryTree::with_capacity(size as usize);
    for i in 0..size {
        tree.append(leaf_hash(&entry(i)))?;
    }
    assert_eq!(
        tree.root(),
        head.root(),
        "the stored root is the root of the entries"
    );
    let mut stored = Vec::with_capacity(PROOFS);
    let mut memory = Vec::with_capacity(PROOFS);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..PROOFS {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let index = state % size;
        let started = Instant::now();
        let plan = inclusion_plan(index, size)?;
        let nodes = tx.log_nodes(plan.nodes()).await?;
        let proof = plan.assemble_from_map(&nodes)?;
        stored.push(started.elapsed());
        let started = Instant::now();
        let again = tree.inclusion_proof(index, size)?;
        memory.push(started.elapsed());
        assert_eq!(proof, again);
        verify_inclusion(&leaf_hash(&entry(index)), index, size, &proof, &head.root())?;
    }
    drop(tx);
    stored.sort();
    memory.sort();
    let mean = |v: &[Duration]| v.iter().sum::<Duration>() / v.len() as u32;
    println!(
        "  inclusion proof at {size} entries, from the store: mean {:.0} µs, p50 {:.0} µs, p99 {:.0} µs",
        us(mean(&stored)),
        us(percentile(&stored, 0.5)),
        us(percentile(&stored, 0.99))
    );
    println!(
        "  inclusion proof at {size} entries, in memory:      mean {:.1} µs, p50 {:.1} µs, p99 {:.1} µs  (store/memory {:.0}x)",
        us(mean(&memory)),
        us(percentile(&memory, 0.5)),
        us(percentile(&memory, 0.99)),
        mean(&stored).as_secs_f64() / mean(&memory).as_secs_f64()
    );
    println!(
        "  targets: >= 50,000 appends/s; an inclusion proof at 10 million leaves in <= 100 µs"
    );
    store.close().await;
    Ok(())
}
